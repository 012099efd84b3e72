"""The ``moderation`` section of the configuration and its check: the moderation package owns the values
it accepts (backends, guard prompts, operating points); ``config.py`` only assembles the section."""

from __future__ import annotations

from dataclasses import dataclass

from chatsift.errors import ConfigError
from chatsift.moderation.guard import PROMPTS

BACKENDS = ("local", "openai", "llm", "passthrough")
# Named operating points of a local model: "balanced" maximises F1 (raised for the harmless prompts when
# given); the others move from it until the out-of-fold precision, or recall, reaches its target.
POINTS = ("balanced", "precision", "recall")
# A local model's second stage: "auto" reads the model's static-embedding stage where it has one (fast
# enough for every message of a default curate), "minilm" its MiniLM stage (opt-in: about 150 messages/s
# on 2 cores), "static" insists on the static one, "none" keeps the n-grams alone.
STAGES = ("auto", "none", "static", "minilm")
_YES, _NO = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


@dataclass(frozen=True)
class ModerationConfig:
    """Who writes ``openai_moderation``: the bundled model, a trained one, an API or an LLM guard."""

    backend: str = "local"  # local | openai | llm | passthrough
    model: str | None = None  # local: a model folder from `chatsift moderator train` (None: the bundled one)
    endpoint: str | None = None  # openai / llm: an endpoint spec (openai:omni-moderation-latest, URL:MODEL, NAME)
    prompt: str = "paper"  # llm: paper | paper-one-shot | llama-guard
    recompute: bool = False  # replace tags the source already carries (LMSYS-Chat-1M's) instead of keeping them
    # local: one calibrated probability for every category instead of the model's own thresholds (lower:
    # more recall and more false flags; the card then says the model's measured figures do not apply).
    threshold: float | None = None
    # local: a named operating point the model stores per head (balanced | precision | recall; see
    # `chatsift moderator train`), each with its held-out precision and recall.
    operating_point: str = "balanced"
    # local: which second stage decides where the n-grams are unsure (STAGES; true/false, the switch of
    # models with one stage, still read: true is the model's strongest stage, false none).
    encoder: str = "auto"


def _one_of(key: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"moderation.{key}: expected {', '.join(allowed)}, got {value!r}")


def choose_stage(available: list[str], choice: str | bool) -> str | None:
    """The stage of a model holding ``available`` (stage names) that ``moderation.encoder`` asks for."""
    value = str(choice).strip().lower()
    if value == "none" or value in _NO:
        return None
    if value in _YES:  # the switch of one-stage models: the strongest stage there is
        return next((s for s in available if s != "static"), "static" if "static" in available else None)
    if value == "auto":
        return "static" if "static" in available else None
    if value in available:
        return value
    if value in STAGES:
        raise ConfigError(f"moderation.encoder: this model has no {value} stage "
                          f"({'it has ' + ', '.join(available) if available else 'it has none'})")
    raise ConfigError(f"moderation.encoder: expected {', '.join(STAGES)}, got {choice!r}")


def validate_moderation(config: ModerationConfig) -> None:
    _one_of("backend", config.backend, BACKENDS)
    if str(config.encoder).strip().lower() not in {*STAGES, *_YES, *_NO}:
        raise ConfigError(f"moderation.encoder: expected {', '.join(STAGES)}, got {config.encoder!r}")
    if config.backend == "llm" and not config.endpoint:
        raise ConfigError("moderation.backend llm needs moderation.endpoint (e.g. --moderator llm:URL:MODEL)")
    _one_of("prompt", config.prompt, tuple(PROMPTS))
    _one_of("operating_point", config.operating_point, POINTS)
