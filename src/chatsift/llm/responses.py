"""What an LLM call returns and how it fails: the request paths, the result and error types, the shape
checks on answers, Retry-After, and error bodies made safe to show. ``client`` does the calling."""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass

import httpx

from chatsift.errors import ChatsiftError
from chatsift.llm.endpoints import Endpoint

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
FATAL_STATUSES = {401: "refused the API key", 403: "refused the request (forbidden)",
                  404: "has no such model or path"}
CHAT, MODERATIONS, EMBEDDINGS = "/chat/completions", "/moderations", "/embeddings"
STREAM_MAX_RETRY_WAIT_S = 5.0  # the longest pause before retrying a live answer (someone is waiting for it)


class LLMError(ChatsiftError):
    """An endpoint cannot be used for this run; the message says which and what to check."""


class EndpointUnreachable(LLMError):
    """Nothing answers at the endpoint's address."""


class StreamBroken(LLMError):
    """A streamed answer stopped half-way (dropped, stalled or malformed); ``code`` names why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    connect_attempts: int = 2  # a refused connection is retried this often before the run stops
    max_retry_after_s: float = 300.0  # a server's Retry-After is honoured up to this


@dataclass
class CallResult:
    """One request's outcome: the response body, or why this request (alone) failed."""

    response: dict | None
    error: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class Estimate:
    requests: int
    cached: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float

    def line(self, endpoint: Endpoint) -> str:
        return (f"dry run: {self.requests:,} requests to {endpoint.label}, {self.cached:,} already cached, "
                f"{self.requests - self.cached:,} to send; about {self.prompt_tokens:,} prompt + "
                f"{self.completion_tokens:,} completion tokens, about ${self.cost_usd:,.4f}")


def estimate_tokens(body: dict) -> int:
    """A rough prompt-token count (4 characters a token) for limits, budgets and dry runs."""
    if "messages" in body:
        return sum(len(str(m.get("content") or "")) // 4 + 4 for m in body["messages"])
    data = body.get("input", "")
    texts = data if isinstance(data, list) else [data]
    return sum(len(str(t)) // 4 + 1 for t in texts)


def valid_response(path: str, body: dict, response: object) -> bool:
    """Whether a 200 answer has the shape its path promises (a malformed one is retried, never cached)."""
    if not isinstance(response, dict):
        return False
    if path == CHAT:
        choices = response.get("choices")
        return (isinstance(choices, list) and bool(choices) and isinstance(choices[0], dict)
                and isinstance(choices[0].get("message"), dict))
    expected = len(body["input"]) if isinstance(body.get("input"), list) else 1
    key = "results" if path == MODERATIONS else "data"
    return isinstance(response.get(key), list) and len(response[key]) == expected


def cacheable(path: str, response: dict) -> dict:
    """The part of a valid answer that chatsift reads (text, finish reason, scores, vectors, usage), as the
    cache keeps it: log-probabilities, echoed prompts and whatever else a server adds are left out."""
    kept = {k: response[k] for k in ("model", "usage") if k in response}
    if path == CHAT:
        kept["choices"] = [{"index": c.get("index", i), "finish_reason": c.get("finish_reason"),
                            "message": {k: c["message"][k] for k in ("role", "content") if k in c["message"]}}
                           for i, c in enumerate(response["choices"]) if isinstance(c, dict)
                           and isinstance(c.get("message"), dict)]
    elif path == MODERATIONS:
        kept["results"] = response["results"]
    else:
        kept["data"] = [{"index": d.get("index", i), "embedding": d.get("embedding")}
                        for i, d in enumerate(response["data"]) if isinstance(d, dict)]
    return kept


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def chat_text(response: dict) -> str:
    return response["choices"][0]["message"].get("content") or ""


def short_error(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else ""


_BEARER = re.compile(r"(?i)\b(bearer|basic|token|api[-_ ]?key)([\s:=\"']+)[^\s\"',;]{6,}")


def server_message(response: httpx.Response) -> str:
    """What a server said in an error body, without the credentials a broken or hostile server echoes
    back ("Bearer sk-...", the key itself): it reaches error lines, the chat store's events and /admin."""
    from chatsift.privacy.scrub import redact_value

    try:
        data = response.json()
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
        text = str(message or data)
    except (ValueError, AttributeError):
        text = response.text
    try:
        key = response.request.headers.get("authorization", "").partition(" ")[2]
    except RuntimeError:  # a response built without its request
        key = ""
    if key:
        text = text.replace(key, "***")
    text = _BEARER.sub(r"\1\2***", " ".join(text.split())[:2000])
    return redact_value(text)[0][:200]
