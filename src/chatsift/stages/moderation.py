"""The ``moderation`` stage: ``openai_moderation`` for every message, from the source or a backend.

A thin adapter over ``moderation.apply.tag``: tags the source carries (LMSYS-Chat-1M's) are kept
unless ``moderation.recompute``; misaligned ones are dropped, noted in ``normalize.issues`` and
recomputed; every other conversation is tagged by the configured backend. ``moderation.backend``
says who wrote each row's tags, ``moderation.unparsed`` counts messages left without a result.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from chatsift.common.files import write_json
from chatsift.llm.settings import LLMConfig
from chatsift.moderation.apply import tag
from chatsift.moderation.backends import Backend, BackendSpec, make_backend
from chatsift.moderation.settings import ModerationConfig
from chatsift.pipeline.stage import BatchStage, set_column


class ModerationStage(BatchStage):
    name = "moderation"
    version = 2
    worker_resources = ("_backend",)
    inputs = ("conversation", "openai_moderation", "normalize.issues")
    outputs = ("openai_moderation", "normalize.issues", "moderation.backend", "moderation.unparsed")

    def __init__(self, config: ModerationConfig, llm: LLMConfig | None = None, ledger_dir: str | None = None) -> None:
        self.config = config
        self.spec = BackendSpec.from_config(config)
        self.llm = llm or LLMConfig()
        self.ledger_dir = ledger_dir  # where each worker keeps its LLM ledger (curate's work folder)
        self._backend: Backend | None = None
        self._ready = False

    def describe(self) -> str:
        if self.spec.backend == "passthrough":
            return "keep the source's openai_moderation where it lines up with the messages; null elsewhere"
        keep = "replace the source's tags" if self.config.recompute else "keep the source's tags where they line up"
        stage = "" if self.spec.encoder == "auto" else f", second stage {self.spec.encoder}"
        who = {"local": f"local model {self.spec.model or '(bundled)'}{stage}",
               "openai": f"moderations API {self.spec.endpoint}",
               "llm": f"LLM guard {self.spec.endpoint} ({self.spec.prompt} prompt)"}[self.spec.backend]
        return f"{keep}; tag every other message with the {who}"

    def setup(self) -> None:
        if not self._ready:
            self._backend = make_backend(self.spec, self.llm)
            self._ready = True

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "_ready": False}

    def _save_ledger(self) -> None:
        """A worker's running totals of API calls, one file per process; curate adds them up at the end."""
        client = getattr(self._backend, "client", None)
        if client is None or self.ledger_dir is None or not client.ledger.entries:
            return
        write_json(Path(self.ledger_dir) / f"llm-ledger.{os.getpid()}.json", client.ledger.to_dict())

    def process_batch(self, batch: pa.Table) -> pa.Table:
        self.setup()
        result = tag(batch.column("conversation"), batch.column("openai_moderation"), self._backend,
                     self.config.recompute)
        if result.misaligned.any():
            issues = batch.column("normalize.issues").to_pylist()
            for i in np.flatnonzero(result.misaligned):
                issues[i] = [*(issues[i] or []), "moderation_misaligned"]
            batch = set_column(batch, "normalize.issues", pa.array(issues, pa.list_(pa.string())))
        self._save_ledger()
        batch = set_column(batch, "openai_moderation", result.moderation)
        batch = set_column(batch, "moderation.backend", pa.array(result.backend, pa.string()))
        return set_column(batch, "moderation.unparsed", pa.array(result.unparsed, pa.int32()))
