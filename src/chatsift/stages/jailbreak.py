"""The ``jailbreak`` stage: ``safety.jailbreak_score``, the highest detector score over the user messages.

A thin adapter over ``safety.detector.JailbreakDetector`` (the bundled model unless
``safety.detector`` names one); runs after PII redaction, on the text that will be released.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatsift.pipeline.stage import BatchStage, set_column
from chatsift.safety.detector import JailbreakDetector
from chatsift.stages.settings import SafetyConfig


class JailbreakStage(BatchStage):
    name = "jailbreak"
    version = 1
    worker_resources = ("_detector",)
    inputs = ("conversation",)
    outputs = ("safety.jailbreak_score",)

    def __init__(self, config: SafetyConfig) -> None:
        self.config = config
        self._detector: JailbreakDetector | None = None

    def describe(self) -> str:
        return f"score user messages with the jailbreak detector {self.config.detector or '(bundled)'}"

    def setup(self) -> None:
        if self._detector is None:
            self._detector = JailbreakDetector.load(self.config.detector)

    def process_batch(self, batch: pa.Table) -> pa.Table:
        self.setup()
        conv = batch.column("conversation").combine_chunks()
        n = len(conv)
        flat = pc.list_flatten(conv)
        parent = pc.list_parent_indices(conv).to_numpy(zero_copy_only=False)
        user = pc.fill_null(pc.equal(flat.field("role"), "user"), False) if len(flat) else pa.array([], pa.bool_())
        texts = pc.filter(flat.field("content"), user) if len(flat) else pa.array([], pa.string())
        owner = parent[user.to_numpy(zero_copy_only=False)] if len(flat) else np.zeros(0, np.int64)
        best = np.full(n, -1.0)
        if len(texts):
            np.maximum.at(best, owner, self._detector.scores(texts))
        has_user = best >= 0
        values = pa.array(np.round(np.where(has_user, best, 0.0), 4), pa.float64(), mask=~has_user)
        return set_column(batch, "safety.jailbreak_score", values)
