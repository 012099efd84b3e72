"""The ``llm`` section of the configuration, and its check: the LLM package owns both, ``config.py``
only assembles it with the other sections."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatsift.llm.endpoints import endpoint_from_mapping


@dataclass(frozen=True)
class LLMConfig:
    """Endpoints (``endpoints.NAME: {base_url, model, api_key_env, max_concurrency, rpm, tpm, price_per_mtok_in,
    price_per_mtok_out}``), the response cache and the per-run budget of every LLM step."""

    endpoints: dict = field(default_factory=dict)
    cache_dir: str | None = None  # default: $CHATSIFT_CACHE/llm or ~/.cache/chatsift/llm
    max_calls: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_attempts: int = 6


def validate_llm(config: LLMConfig) -> None:
    """Every named endpoint parses (``ConfigError`` naming it otherwise)."""
    for name, spec in config.endpoints.items():
        endpoint_from_mapping(str(name), spec)
