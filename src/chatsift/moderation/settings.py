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
    # local: use the model's encoder stage where it has one (trained with --encoder; needs the topics extra).
    # Opt-in: it reads about 150 messages/s on 2 cores, far under what a default curate at 1M needs.
    encoder: bool = False


def _one_of(key: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"moderation.{key}: expected {', '.join(allowed)}, got {value!r}")


def validate_moderation(config: ModerationConfig) -> None:
    _one_of("backend", config.backend, BACKENDS)
    if config.backend == "llm" and not config.endpoint:
        raise ConfigError("moderation.backend llm needs moderation.endpoint (e.g. --moderator llm:URL:MODEL)")
    _one_of("prompt", config.prompt, tuple(PROMPTS))
    _one_of("operating_point", config.operating_point, POINTS)
