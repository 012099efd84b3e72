"""A small OpenAI-compatible HTTP server for the tests: scripted answers and injected faults.

It is a real server on 127.0.0.1 (ThreadingHTTPServer in a thread), so the client's transport,
timeouts and connection handling are exercised for real. Faults are queued per path and consumed
one per request: ``"429"`` (with ``Retry-After``), ``"500"``, ``"400"``, ``"401"``, ``"timeout"``
(answers after ``slow_s``), ``"malformed"`` (200 with a body that is not JSON) and ``"truncated"``
(the connection closes half-way through the body).

A chat request with ``"stream": true`` is answered with server-sent events, a word a chunk
(``stream_delay_s`` apart), and has three more faults: ``"stream_hang"`` (two chunks, then silence
for ``slow_s``), ``"stream_drop"`` (two chunks, then the connection closes), ``"stream_garbage"``
(a chunk that is not JSON) and ``"stream_empty"`` (``[DONE]`` before any word, as llama.cpp's server
answers a request it interrupts); ``"ignore_stream"`` answers with one JSON body instead.

Hostile endpoints: ``"endless_body"`` (200, then bytes without end until the client hangs up),
``"drip"`` (200, then one byte every 0.2 s, for ever), ``"huge_body"`` (a valid answer of 20 MB),
``"padded_body"`` (a valid answer with 2 MB of log-probabilities),
``"stream_endless"`` (words without end) and ``"stream_number"`` (a chunk whose content is a number).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "self-harm",
              "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic")
# omni-moderation adds these two; chatsift must map or drop them.
OMNI_EXTRA = ("illicit", "illicit/violent")
TRIGGERS = {"kill": "violence", "hate": "hate", "idiot": "harassment", "nude": "sexual", "suicide": "self-harm"}


def default_chat(messages: list[dict]) -> str:
    last = messages[-1]["content"] if messages else ""
    return f"echo: {last[:60]}"


def moderation_result(text: str, omni: bool) -> dict:
    lowered = text.lower()
    scores = {c: 0.001 for c in CATEGORIES + (OMNI_EXTRA if omni else ())}
    for word, category in TRIGGERS.items():
        if word in lowered:
            scores[category] = 0.97
    if omni and "steal" in lowered:
        scores["illicit"] = 0.9
    cats = {c: s > 0.5 for c, s in scores.items()}
    return {"flagged": any(cats.values()), "categories": cats, "category_scores": scores}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a client that timed out closed the socket
        pass


class FakeLLM:
    """``with FakeLLM() as server: server.url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, chat: Callable[[list[dict]], str] = default_chat, slow_s: float = 3.0,
                 retry_after: str = "0.2", chat_by_model: Callable[[list[dict], str], str] | None = None,
                 stream_delay_s: float = 0.0) -> None:
        self.chat = chat
        self.stream_delay_s = stream_delay_s
        self.chat_by_model = chat_by_model  # when set, answers depend on the requested model too
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[tuple[str, dict]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each POST, as received
        self.lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def inject(self, path: str, *faults: str) -> None:
        """Queue faults for the next requests to ``path`` (``/chat/completions``, ``/moderations``, ...)."""
        with self.lock:
            self.faults[path].extend(faults)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, json.dumps({"data": [{"id": "fake-model"}]}).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.removeprefix("/v1")
                with server.lock:
                    server.requests.append((path, body))
                    server.authorizations.append(self.headers.get("Authorization"))
                    fault = server.faults[path].popleft() if server.faults[path] else None
                if fault == "echo_auth":  # a broken server that quotes the request's credentials back
                    echoed = f"invalid request; you sent Authorization: {self.headers.get('Authorization')}"
                    self._send(400, json.dumps({"error": {"message": echoed}}).encode())
                    return
                if fault in {"endless_body", "drip"}:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()  # no length: the body ends when the connection closes
                    self.close_connection = True
                    try:
                        while True:
                            self.wfile.write(b" " * (65536 if fault == "endless_body" else 1))
                            self.wfile.flush()
                            if fault == "drip":
                                time.sleep(0.2)
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client hung up: what it should do
                if fault == "padded_body":  # a valid answer with 2 MB of what nobody reads (log-probabilities)
                    answer = self._answer(path, body)
                    answer["choices"][0]["logprobs"] = {"content": [{"token": "x", "logprob": -0.5}] * 60_000}
                    self._send(200, json.dumps(answer).encode())
                    return
                if fault == "huge_body":
                    answer = self._answer(path, body)
                    answer["choices"][0]["message"]["content"] = "x" * 20_000_000
                    self._send(200, json.dumps(answer).encode())
                    return
                if fault == "timeout":
                    time.sleep(server.slow_s)
                elif fault == "truncated":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "5000")
                    self.end_headers()
                    self.wfile.write(b'{"choices": [{"mess')
                    self.wfile.flush()
                    self.close_connection = True
                    return
                elif fault == "malformed":
                    self._send(200, b'{"choices": [ this is not json')
                    return
                elif fault in {"429", "500", "400", "401", "503"}:
                    headers = {"Retry-After": server.retry_after} if fault == "429" else None
                    self._send(int(fault), json.dumps({"error": {"message": f"injected {fault}"}}).encode(), headers)
                    return
                if path == "/chat/completions" and body.get("stream") and fault != "ignore_stream":
                    self._stream(self._answer(path, body), fault)
                    return
                self._send(200, json.dumps(self._answer(path, body)).encode())

            def _stream(self, answer: dict, fault: str | None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # no length: the stream ends when the connection closes
                self.close_connection = True
                text = answer["choices"][0]["message"]["content"]
                words = [w + " " for w in text.split(" ")]
                words[-1] = words[-1][:-1]
                if fault == "stream_endless":
                    words = (f"w{i} " for i in range(10**9))
                try:
                    for i, word in enumerate(words):
                        if fault == "stream_empty":
                            break
                        if fault in {"stream_hang", "stream_drop"} and i == 2:
                            if fault == "stream_hang":
                                time.sleep(server.slow_s)
                            return
                        if fault == "stream_garbage" and i == 1:
                            self.wfile.write(b"data: {not json at all\n\n")
                            self.wfile.flush()
                            return
                        if fault == "stream_number" and i == 1:
                            word = 7
                        chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": answer["model"],
                                 "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                        self.wfile.flush()
                        if server.stream_delay_s:
                            time.sleep(server.stream_delay_s)
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (a user pressed stop)

            def _answer(self, path: str, body: dict) -> dict:
                model = body.get("model", "")
                if path == "/chat/completions":
                    messages = body.get("messages", [])
                    text = server.chat_by_model(messages, model) if server.chat_by_model else server.chat(messages)
                    prompt_tokens = sum(len(m.get("content") or "") for m in body.get("messages", [])) // 4
                    return {"id": "chatcmpl-test", "object": "chat.completion", "model": model,
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                         "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4,
                                      "total_tokens": prompt_tokens + len(text) // 4}}
                if path == "/moderations":
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    omni = model.startswith("omni")
                    return {"id": "modr-test", "model": model, "results": [moderation_result(t, omni) for t in inputs]}
                if path == "/embeddings":
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    data = []
                    for i, text in enumerate(inputs):
                        digest = hashlib.sha256(text.encode()).digest()
                        data.append({"index": i, "embedding": [b / 255 for b in digest[:8]]})
                    return {"data": data, "model": model, "usage": {"prompt_tokens": 1, "total_tokens": 1}}
                return {"error": "unknown path"}

        return Handler
