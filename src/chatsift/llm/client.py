"""The one LLM client: every chat, moderation and embedding request chatsift makes goes through it.

``post_many`` sends a list of request bodies to one path of an OpenAI-compatible endpoint:

- answers already in the response cache are returned without a call (a rerun pays nothing);
- the rest go out from ``max_concurrency`` async workers behind the endpoint's rpm/tpm limits;
- 408/409/429/5xx, timeouts, dropped connections and malformed bodies are retried with exponential
  backoff and jitter, honouring ``Retry-After``; other 4xx answers fail that one request only;
- an unreachable server, a refused key, an unknown model or a transient error that outlasts its
  retries stops the run with one line (``LLMError``), as does the budget (``BudgetExceeded``);
  requests in flight finish first, so every answer received is cached and a rerun resumes;
- the ledger counts calls, cache hits, retries, tokens and cost.

``astream_chat`` streams one live answer (server-sent events) for the chat service: never cached,
retried only before the first token, and a stream that breaks, stalls or carries garbage later
raises ``StreamBroken`` with what was received so far.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time
from collections.abc import AsyncIterator

import httpx
import orjson

from chatsift.errors import ChatsiftError
from chatsift.llm.cache import ResponseCache, request_key
from chatsift.llm.endpoints import Endpoint
from chatsift.llm.ledger import Budget, BudgetExceeded, Ledger
from chatsift.llm.limits import RateLimiter
from chatsift.llm.responses import (
    CHAT,
    EMBEDDINGS,
    FATAL_STATUSES,
    MODERATIONS,
    RETRY_STATUSES,
    STREAM_MAX_RETRY_WAIT_S,
    CallResult,
    EndpointUnreachable,
    Estimate,
    LLMError,
    RetryPolicy,
    StreamBroken,
    cacheable,
    chat_text,
    estimate_tokens,
    retry_after,
    server_message,
    short_error,
    valid_response,
)


class _TooLarge(Exception):
    """An answer larger than the endpoint's ``max_response_bytes``."""


class _EmptyAnswer(Exception):
    """A stream that finished without a word (llama.cpp's server does this to a request it interrupts)."""


class _Fatal(Exception):
    def __init__(self, error: ChatsiftError) -> None:
        self.error = error


class LLMClient:
    """Requests to one endpoint, with cache, limits, retries, budget and ledger.

    Args:
        cache: the response cache (``None``: no caching, for tests of the transport only).
        ledger: where calls and tokens are counted; shared by the clients of one run.
        budget: a hard cap for the run; the run stops cleanly when it is reached.
    """

    def __init__(self, endpoint: Endpoint, *, cache: ResponseCache | None = None, ledger: Ledger | None = None,
                 budget: Budget | None = None, retry: RetryPolicy | None = None, progress: bool = False,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self.ledger = ledger if ledger is not None else Ledger()
        self.budget = budget or Budget()
        self.retry = retry or RetryPolicy()
        self.progress = progress
        self._transport = transport
        self._key = endpoint.api_key()  # a missing required key fails here, before any work
        self._inflight = 0
        self._inflight_tokens = 0
        self._inflight_cost = 0.0
        self._stream_http: httpx.AsyncClient | None = None

    # ------------------------------------------------------------ requests

    def body(self, path: str, payload: dict) -> dict:
        return {"model": self.endpoint.model, **payload}

    def key(self, path: str, body: dict) -> str:
        return request_key(self.endpoint.base_url, self.endpoint.model, path, body)

    def estimate(self, path: str, payloads: list[dict], completion_tokens: int = 256) -> Estimate:
        bodies = [self.body(path, p) for p in payloads]
        cached = sum(1 for b in bodies if self.cache is not None and self.cache.get(self.key(path, b)) is not None)
        prompt = sum(estimate_tokens(b) for b in bodies)
        completion = sum(int(b.get("max_tokens") or completion_tokens) for b in bodies) if path == CHAT else 0
        return Estimate(len(bodies), cached, prompt, completion, self.endpoint.cost(prompt, completion))

    def post_many(self, path: str, payloads: list[dict], desc: str = "") -> list[CallResult]:
        """Send every payload (``model`` is added); results in the same order."""
        coro = self.apost_many(path, payloads, desc)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from inside an event loop
            return pool.submit(asyncio.run, coro).result()

    async def apost_many(self, path: str, payloads: list[dict], desc: str = "") -> list[CallResult]:
        bodies = [self.body(path, p) for p in payloads]
        results: list[CallResult | None] = [None] * len(bodies)
        entry = self.ledger.entry(self.endpoint.name)
        todo = []
        for i, body in enumerate(bodies):
            hit = self.cache.get(self.key(path, body)) if self.cache is not None else None
            if hit is not None:
                results[i] = CallResult(hit, cached=True)
                entry.cache_hits += 1
            else:
                todo.append(i)
        bar = self._bar(len(bodies), len(bodies) - len(todo), desc or f"{self.endpoint.name} {path.strip('/')}")
        fatal: list[ChatsiftError] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in todo:
            queue.put_nowait(i)
        limiter = RateLimiter(self.endpoint.rpm, self.endpoint.tpm)
        limits = httpx.Limits(max_connections=self.endpoint.max_concurrency,
                              max_keepalive_connections=self.endpoint.max_concurrency)
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        timeout = httpx.Timeout(self.endpoint.timeout_s, connect=min(10.0, self.endpoint.timeout_s))
        async with httpx.AsyncClient(base_url=self.endpoint.base_url, headers=headers, timeout=timeout,
                                     limits=limits, transport=self._transport) as http:

            async def worker() -> None:
                while not fatal:
                    try:
                        i = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        results[i] = await self._send(http, limiter, path, bodies[i])
                    except _Fatal as stop:
                        fatal.append(stop.error)
                        return
                    if bar is not None:
                        bar.update(1)

            await asyncio.gather(*(worker() for _ in range(min(self.endpoint.max_concurrency, max(len(todo), 1)))))
        if bar is not None:
            bar.close()
        if fatal:
            done = sum(r is not None and r.response is not None for r in results)
            error = fatal[0]
            note = f" ({done:,} of {len(bodies):,} answers are cached; rerun the same command to resume)"
            raise type(error)(f"{error}{note}")
        return [r if r is not None else CallResult(None, "not sent") for r in results]

    async def _send(self, http: httpx.AsyncClient, limiter: RateLimiter, path: str, body: dict) -> CallResult:
        entry = self.ledger.entry(self.endpoint.name)
        tokens = estimate_tokens(body)
        expected_out = int(body.get("max_tokens") or 0)
        reserved_tokens, reserved_cost = tokens + expected_out, self.endpoint.cost(tokens, expected_out)
        try:  # requests in flight count against the budget too, so concurrency cannot overshoot it
            self.budget.check(entry, reserved_tokens, reserved_cost, pending_calls=self._inflight,
                              pending_tokens=self._inflight_tokens, pending_cost=self._inflight_cost)
        except BudgetExceeded as exc:
            raise _Fatal(exc) from None
        self._inflight += 1
        self._inflight_tokens += reserved_tokens
        self._inflight_cost += reserved_cost
        try:
            return await self._attempts(http, limiter, path, body, entry, tokens)
        finally:
            self._inflight -= 1
            self._inflight_tokens -= reserved_tokens
            self._inflight_cost -= reserved_cost

    async def _attempts(self, http: httpx.AsyncClient, limiter: RateLimiter, path: str, body: dict, entry,
                        tokens: int) -> CallResult:
        where = self.endpoint.label
        connect_failures = 0
        problem = ""
        for attempt in range(self.retry.max_attempts):
            await limiter.acquire(tokens)
            wait: float | None = None
            try:
                response = await asyncio.wait_for(self._post(http, path, body), self.endpoint.deadline_s)
            except _TooLarge:
                problem = f"an answer over {self.endpoint.max_response_bytes:,} bytes (cut off)"
            except TimeoutError:
                problem = f"no whole answer within {self.endpoint.deadline_s:g} s"
            except httpx.ConnectError as exc:
                connect_failures += 1
                if connect_failures >= self.retry.connect_attempts:
                    raise _Fatal(EndpointUnreachable(
                        f"cannot reach {where}: {short_error(exc) or 'connection refused'}; is the server running "
                        "and the URL right?")) from None
                problem = f"connection failed ({short_error(exc)})"
            except httpx.TimeoutException:
                problem = f"no answer within {self.endpoint.timeout_s:g} s"
            except httpx.TransportError as exc:  # dropped or truncated responses
                problem = f"broken response ({type(exc).__name__})"
            else:
                status = response.status_code
                if status == 200:
                    try:
                        data = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        data = None
                    if valid_response(path, body, data):
                        self._account(entry, body, data)
                        if self.cache is not None:
                            self.cache.put(self.key(path, body), cacheable(path, data))
                        return CallResult(data)
                    problem = "malformed response body"
                elif status in FATAL_STATUSES:
                    raise _Fatal(LLMError(f"{where} {FATAL_STATUSES[status]} (HTTP {status}: "
                                          f"{server_message(response)})")) from None
                elif status in RETRY_STATUSES:
                    problem = f"HTTP {status}"
                    wait = retry_after(response)
                else:
                    entry.failures += 1
                    return CallResult(None, f"HTTP {status}: {server_message(response)}")
            if attempt + 1 < self.retry.max_attempts:
                entry.retries += 1
                backoff = min(self.retry.max_delay_s, self.retry.base_delay_s * 2 ** attempt)
                await asyncio.sleep(min(wait, self.retry.max_retry_after_s) if wait is not None
                                    else backoff * random.uniform(0.5, 1.5))
        entry.failures += 1
        raise _Fatal(LLMError(f"{where} kept failing: {problem} after {self.retry.max_attempts} attempts"))

    async def _post(self, http: httpx.AsyncClient, path: str, body: dict) -> httpx.Response:
        """The response, read as it arrives and cut off at ``max_response_bytes`` (an endless or huge body is
        never held whole)."""
        async with http.stream("POST", path, content=orjson.dumps(body),
                               headers={"Content-Type": "application/json"}) as response:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.endpoint.max_response_bytes:
                    raise _TooLarge
                chunks.append(chunk)
            return httpx.Response(response.status_code, headers=response.headers, content=b"".join(chunks),
                                  request=response.request)

    def _account(self, entry, body: dict, data: dict) -> None:
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        prompt = int(usage.get("prompt_tokens") or estimate_tokens(body))
        completion = int(usage.get("completion_tokens") or 0)
        entry.calls += 1
        entry.prompt_tokens += prompt
        entry.completion_tokens += completion
        entry.cost_usd += self.endpoint.cost(prompt, completion)

    def _bar(self, total: int, done: int, desc: str):
        if not self.progress or total == 0:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=done, desc=desc, unit="req", dynamic_ncols=True, leave=False)

    # ------------------------------------------------------------ streaming (the chat service)

    def _streaming_http(self) -> httpx.AsyncClient:
        """One pooled connection set for every live answer (kept open; ``aclose`` ends it)."""
        if self._stream_http is None:
            headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
            self._stream_http = httpx.AsyncClient(
                base_url=self.endpoint.base_url, headers=headers, transport=self._transport,
                timeout=httpx.Timeout(self.endpoint.timeout_s, connect=min(10.0, self.endpoint.timeout_s)),
                limits=httpx.Limits(max_connections=self.endpoint.max_concurrency,
                                    max_keepalive_connections=self.endpoint.max_concurrency))
        return self._stream_http

    async def aclose(self) -> None:
        if self._stream_http is not None:
            await self._stream_http.aclose()
            self._stream_http = None

    async def astream_chat(self, messages: list[dict], **params) -> AsyncIterator[str]:
        """The answer to ``messages`` as text deltas, as the server sends them.

        Before the first delta, refused connections, timeouts and 408/429/5xx are retried like any
        request (the user has seen nothing yet); afterwards a break raises ``StreamBroken``. A server
        that ignores ``stream`` and answers with one JSON body is read as one delta; a stream that ends
        without a word is retried too, then reported as ``StreamBroken`` (code ``empty``).
        """
        body = {"model": self.endpoint.model, "messages": messages, **params, "stream": True}
        entry = self.ledger.entry(self.endpoint.name)
        http, where, problem = self._streaming_http(), self.endpoint.label, ""
        sent: list[str] = []
        deadline = time.monotonic() + self.endpoint.deadline_s
        for attempt in range(self.retry.max_attempts):
            wait: float | None = None
            try:
                async with http.stream("POST", CHAT, content=orjson.dumps(body),
                                       headers={"Content-Type": "application/json"}) as response:
                    status = response.status_code
                    if status == 200:
                        async for delta in self._deltas(response, sent, deadline):
                            yield delta
                        entry.calls += 1
                        entry.prompt_tokens += estimate_tokens(body)
                        entry.completion_tokens += max(1, len("".join(sent)) // 4)
                        return
                    await response.aread()
                    if status in FATAL_STATUSES:
                        raise LLMError(f"{where} {FATAL_STATUSES[status]} (HTTP {status}: "
                                       f"{server_message(response)})")
                    if status not in RETRY_STATUSES:
                        entry.failures += 1
                        raise StreamBroken(f"{where} answered HTTP {status}: {server_message(response)}",
                                           f"http_{status}")
                    problem, wait = f"HTTP {status}", retry_after(response)
            except _EmptyAnswer:
                problem = f"{where} finished the stream without an answer"
            except httpx.ConnectError as exc:
                problem = f"cannot reach {where}: {short_error(exc) or 'connection refused'}"
            except httpx.TimeoutException:
                problem = f"no answer from {where} within {self.endpoint.timeout_s:g} s"
                if sent:
                    raise StreamBroken(f"{where} stalled mid-answer ({problem})", "timeout") from None
            except httpx.TransportError as exc:
                problem = f"broken stream from {where} ({type(exc).__name__})"
                if sent:
                    raise StreamBroken(problem, "dropped") from None
            if attempt + 1 >= self.retry.max_attempts or (problem.startswith("cannot reach")
                                                          and attempt + 1 >= self.retry.connect_attempts):
                break
            entry.retries += 1
            backoff = min(self.retry.max_delay_s, self.retry.base_delay_s * 2 ** attempt)
            pause = min(wait, self.retry.max_retry_after_s) if wait is not None else backoff * random.uniform(0.5, 1.5)
            # A live user is waiting: retries stop at the stream's own budget, whatever Retry-After asks for.
            pause = min(pause, STREAM_MAX_RETRY_WAIT_S)
            if time.monotonic() + pause > deadline:
                break
            await asyncio.sleep(pause)
        entry.failures += 1
        code = ("unreachable" if problem.startswith("cannot reach") else "empty" if "without an answer" in problem
                else "upstream")
        raise StreamBroken(f"{problem} (after {attempt + 1} attempt(s))", code)

    async def _deltas(self, response: httpx.Response, sent: list[str], deadline: float) -> AsyncIterator[str]:
        """The text deltas of a stream; cut off (``StreamBroken``) past the deadline or the size cap, and on a
        chunk whose content is not text."""
        where = self.endpoint.label
        size = 0
        if "text/event-stream" not in response.headers.get("content-type", ""):
            try:
                data = orjson.loads(await response.aread())
            except orjson.JSONDecodeError:
                data = None
            if not valid_response(CHAT, {}, data):
                raise StreamBroken(f"{where} sent a body that is neither a stream nor an answer", "malformed")
            sent.append(chat_text(data))
            yield sent[-1]
            return
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # comments, event names and keep-alives
            payload = line[5:].strip()
            if payload == "[DONE]":
                if not sent:
                    raise _EmptyAnswer
                return
            try:
                chunk = orjson.loads(payload)
                if "error" in chunk:
                    raise StreamBroken(f"{where} reported an error mid-stream: {str(chunk['error'])[:200]}",
                                       "upstream")
                choice = chunk["choices"][0] if chunk.get("choices") else {}
                delta = (choice.get("delta") or {}).get("content")
                if delta is not None and not isinstance(delta, str):
                    raise TypeError(type(delta).__name__)
            except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError, IndexError):
                raise StreamBroken(f"{where} sent a malformed stream chunk", "malformed") from None
            if time.monotonic() > deadline:
                raise StreamBroken(f"{where} took longer than {self.endpoint.deadline_s:g} s for one answer",
                                   "timeout")
            if delta:
                size += len(delta)
                if size > self.endpoint.max_response_bytes:
                    raise StreamBroken(f"{where} sent an answer over {self.endpoint.max_response_bytes:,} "
                                       "characters", "too_large")
                sent.append(delta)
                yield delta
        raise StreamBroken(f"{where} closed the stream before it finished", "dropped")

    # ------------------------------------------------------------ the three kinds of request

    def chat_many(self, conversations: list[list[dict]], *, temperature: float = 0.0, max_tokens: int = 512,
                  desc: str = "", **params) -> list[CallResult]:
        payloads = [{"messages": m, "temperature": temperature, "max_tokens": max_tokens, **params}
                    for m in conversations]
        return self.post_many(CHAT, payloads, desc)

    def chat(self, messages: list[dict], **params) -> str:
        result = self.chat_many([messages], **params)[0]
        if result.response is None:
            raise LLMError(f"{self.endpoint.label} failed: {result.error}")
        return chat_text(result.response)

    def moderate(self, texts: list[str], batch_size: int = 32, desc: str = "") -> list[dict | None]:
        """The ``results`` entry for each text from ``/moderations`` (None where its batch failed)."""
        batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
        out: list[dict | None] = []
        for batch, result in zip(batches, self.post_many(MODERATIONS, [{"input": b} for b in batches], desc)):
            out.extend(result.response["results"] if result.response else [None] * len(batch))
        return out

    def embed(self, texts: list[str], batch_size: int = 128, desc: str = "") -> list[list[float]]:
        batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
        out: list[list[float]] = []
        for result in self.post_many(EMBEDDINGS, [{"input": b} for b in batches], desc):
            if result.response is None:
                raise LLMError(f"{self.endpoint.label} could not embed a batch: {result.error}")
            out.extend(d["embedding"] for d in sorted(result.response["data"], key=lambda d: d.get("index", 0)))
        return out
