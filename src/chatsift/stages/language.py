"""The language stage: ``language`` (the paper's name, e.g. "English") and ``language_code`` (ISO 639) of
each conversation, from ``chatsift.common.language``."""

from __future__ import annotations

import pyarrow as pa

from chatsift.common.language import LanguageDetector
from chatsift.pipeline.stage import BatchStage, set_column
from chatsift.stages.settings import LanguageConfig


class LanguageStage(BatchStage):
    name = "language"
    worker_resources = ("_detector",)
    inputs = ("conversation", "language")
    outputs = ("language", "language_code")

    def __init__(self, config: LanguageConfig) -> None:
        self.config = config
        self._detector: LanguageDetector | None = None

    def describe(self) -> str:
        keep = "replaces" if self.config.overwrite else "keeps"
        return (f"fastText lid.176 on the first user message (short text weighed for chat traffic, CJK by script), "
                f"pycld2 below {self.config.min_confidence}; "
                f"{keep} a language the source carries")

    def setup(self) -> None:
        self._detector = LanguageDetector(self.config.min_confidence, self.config.max_chars)

    def process_batch(self, batch: pa.Table) -> pa.Table:
        if self._detector is None:
            self.setup()
        detect = self._detector.detect_conversation  # type: ignore[union-attr]
        convs = batch.column("conversation").to_pylist()
        given = batch.column("language").to_pylist()
        names, codes = [], []
        for messages, source_name in zip(convs, given):
            name, code = detect(messages or [])
            names.append(source_name if source_name and not self.config.overwrite else name)
            codes.append(code)
        batch = set_column(batch, "language", pa.array(names, pa.string()))
        return set_column(batch, "language_code", pa.array(codes, pa.string()))
