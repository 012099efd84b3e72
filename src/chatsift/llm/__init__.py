"""``chatsift.llm``: the only place that talks to models (chat completions, moderations, embeddings).

``make_client(spec, config)`` turns an endpoint spec and the run's ``llm`` config into an
``LLMClient`` with the shared response cache, budget and ledger.
"""

from __future__ import annotations

from chatsift.llm.cache import ResponseCache
from chatsift.llm.client import LLMClient
from chatsift.llm.endpoints import Endpoint, endpoint_from_mapping, parse_endpoint
from chatsift.llm.ledger import Budget, BudgetExceeded, Ledger
from chatsift.llm.responses import (
    CHAT,
    EMBEDDINGS,
    MODERATIONS,
    CallResult,
    EndpointUnreachable,
    Estimate,
    LLMError,
    RetryPolicy,
    StreamBroken,
    chat_text,
)
from chatsift.llm.settings import LLMConfig

__all__ = [
    "CHAT", "EMBEDDINGS", "MODERATIONS", "Budget", "BudgetExceeded", "CallResult", "Endpoint", "EndpointUnreachable",
    "Estimate", "LLMClient", "LLMError", "Ledger", "ResponseCache", "RetryPolicy", "StreamBroken", "chat_text",
    "make_client",
    "named_endpoints", "parse_endpoint",
]


def named_endpoints(config: LLMConfig) -> dict[str, Endpoint]:
    return {str(name): endpoint_from_mapping(str(name), spec) for name, spec in config.endpoints.items()}


def make_client(spec: str, config: LLMConfig | None = None, *, ledger: Ledger | None = None,
                progress: bool = False, **endpoint_overrides) -> LLMClient:
    config = config or LLMConfig()
    endpoint = parse_endpoint(spec, named_endpoints(config), **endpoint_overrides)
    return LLMClient(endpoint, cache=ResponseCache(config.cache_dir), ledger=ledger,
                     budget=Budget(config.max_calls, config.max_tokens, config.max_cost_usd),
                     retry=RetryPolicy(max_attempts=config.max_attempts), progress=progress)
