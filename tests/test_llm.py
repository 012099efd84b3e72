"""The LLM client against a real HTTP server on 127.0.0.1 with scripted faults."""

from __future__ import annotations

import json
import socket
import time

import pytest
from fake_llm import FakeLLM

from chatsift.config import LLMConfig, load_config
from chatsift.errors import ConfigError
from chatsift.llm import (
    CHAT,
    MODERATIONS,
    Budget,
    BudgetExceeded,
    EndpointUnreachable,
    Ledger,
    LLMClient,
    LLMError,
    ResponseCache,
    RetryPolicy,
    StreamBroken,
    chat_text,
    make_client,
    parse_endpoint,
)

FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture()
def server():
    with FakeLLM(slow_s=1.5) as s:
        yield s


def client_for(server, tmp_path, **kw) -> LLMClient:
    endpoint = parse_endpoint(f"{server.url}:fake-model", timeout_s=kw.pop("timeout_s", 0.5),
                              max_concurrency=kw.pop("max_concurrency", 4))
    return LLMClient(endpoint, cache=ResponseCache(tmp_path / "cache"), retry=kw.pop("retry", FAST), **kw)


def chats(n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"question {i}"}] for i in range(n)]


def test_endpoint_specs():
    e = parse_endpoint("http://127.0.0.1:8000/v1:qwen2.5-7b")
    assert (e.base_url, e.model) == ("http://127.0.0.1:8000/v1", "qwen2.5-7b")
    assert parse_endpoint("ollama:llama3:8b").model == "llama3:8b"
    assert parse_endpoint("openai:http://h:1/v1#m").base_url == "http://h:1/v1"
    assert parse_endpoint("vllm:m").base_url.endswith(":8000/v1")
    named = load_config(overrides={"llm.endpoints": {"judge": {"base_url": "http://x:1/v1", "model": "m", "rpm": 60}}})
    assert make_client("judge", named.llm).endpoint.rpm == 60
    with pytest.raises(ConfigError, match="unknown LLM endpoint"):
        parse_endpoint("nonsense")
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(overrides={"llm.endpoints": {"j": {"base_url": "http://x/v1", "model": "m", "rmp": 1}}})


def test_missing_key_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_client("openai:gpt-4o-mini", LLMConfig())


def test_a_key_goes_only_to_its_provider(server, tmp_path, monkeypatch):
    """OPENAI_API_KEY belongs to OpenAI: a URL spec naming another server sends no key, and a configured
    key is never sent over plain HTTP to a host off this machine unless the endpoint allows it."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-belongs-to-openai")
    client = LLMClient(parse_endpoint(f"{server.url}:m"), cache=ResponseCache(tmp_path), retry=FAST)
    client.chat_many(chats(2))
    assert server.authorizations and set(server.authorizations) == {None}
    assert parse_endpoint("https://api.openai.com/v1:gpt-4o").api_key() == "sk-test-belongs-to-openai"
    assert parse_endpoint("http://203.0.113.9:8000/v1:m").api_key() is None
    monkeypatch.setenv("MY_KEY", "secret-value")
    remote = {"r": {"base_url": "http://203.0.113.9:8000/v1", "model": "m", "api_key_env": "MY_KEY"}}
    named = load_config(overrides={"llm.endpoints": remote}).llm
    with pytest.raises(ConfigError, match=r"plain HTTP to 203\.0\.113\.9"):
        make_client("r", named)
    remote["r"]["allow_plain_http_key"] = True
    assert make_client("r", load_config(overrides={"llm.endpoints": remote}).llm).endpoint.api_key() == "secret-value"
    local = {"l": {"base_url": f"{server.url}", "model": "m", "api_key_env": "MY_KEY"}}
    local_client = make_client("l", load_config(overrides={"llm.endpoints": local}).llm)
    assert local_client.endpoint.api_key() == "secret-value"  # loopback: nothing on the path to read it


def test_unreachable_endpoint_fails_fast(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = LLMClient(parse_endpoint(f"http://127.0.0.1:{port}/v1:m"), cache=ResponseCache(tmp_path), retry=FAST)
    start = time.monotonic()
    with pytest.raises(EndpointUnreachable, match=f"cannot reach .*127.0.0.1:{port}"):
        client.chat_many(chats(3))
    assert time.monotonic() - start < 5


def test_answers_are_cached_and_a_rerun_pays_nothing(server, tmp_path):
    ledger = Ledger()
    client = client_for(server, tmp_path, ledger=ledger)
    first = client.chat_many(chats(10))
    assert [chat_text(r.response) for r in first] == [f"echo: question {i}" for i in range(10)]
    assert server.count(CHAT) == 10
    again = client_for(server, tmp_path, ledger=ledger).chat_many(chats(10))
    assert all(r.cached for r in again) and server.count(CHAT) == 10
    total = ledger.total()
    assert (total.calls, total.cache_hits) == (10, 10)
    assert total.prompt_tokens > 0 and total.completion_tokens > 0


def test_the_cache_keeps_what_is_read_not_the_whole_body(server, tmp_path):
    """A server that pads its answers (2 MB of log-probabilities) costs the cache a few hundred bytes
    an answer: it keeps the text, finish reason and usage, and a rerun reads the same answer from it."""
    client = client_for(server, tmp_path)
    server.inject(CHAT, "padded_body")
    first = client.chat_many(chats(1))[0]
    assert "logprobs" in first.response["choices"][0]  # the caller of this run gets the whole answer
    rows = ResponseCache(tmp_path / "cache")._db().execute("SELECT LENGTH(response) FROM responses").fetchall()
    assert len(rows) == 1 and rows[0][0] < 1_000
    again = client_for(server, tmp_path).chat_many(chats(1))[0]
    assert again.cached and chat_text(again.response) == chat_text(first.response) == "echo: question 0"
    assert again.response["usage"] == first.response["usage"]


def test_transient_faults_are_retried(server, tmp_path):
    server.inject(CHAT, "429", "500", "malformed", "truncated", "timeout", "503")
    ledger = Ledger()
    patient = RetryPolicy(max_attempts=8, base_delay_s=0.01, max_delay_s=0.05)
    results = client_for(server, tmp_path, ledger=ledger, max_concurrency=1, retry=patient).chat_many(chats(3))
    assert all(r.response for r in results)
    assert ledger.total().retries == 6 and ledger.total().calls == 3


def test_retry_after_is_honoured(tmp_path):
    with FakeLLM(retry_after="1") as server:
        server.inject(CHAT, "429")
        start = time.monotonic()
        client_for(server, tmp_path, max_concurrency=1).chat_many(chats(1))
        assert time.monotonic() - start >= 0.95


def test_a_bad_request_fails_alone(server, tmp_path):
    server.inject(CHAT, "400")
    results = client_for(server, tmp_path, max_concurrency=1).chat_many(chats(3))
    assert [r.response is None for r in results] == [True, False, False]
    assert "HTTP 400" in results[0].error


def test_fatal_status_stops_the_run_with_one_line(server, tmp_path):
    server.inject(CHAT, "401")
    with pytest.raises(LLMError, match="refused the API key"):
        client_for(server, tmp_path, max_concurrency=1).chat_many(chats(3))


def test_endpoint_failing_mid_run_resumes_without_paying_twice(server, tmp_path):
    client = client_for(server, tmp_path, max_concurrency=1)
    client.chat_many(chats(4))  # four answers paid for and cached
    server.inject(CHAT, *["500"] * FAST.max_attempts)  # the fifth request outlasts its retries
    with pytest.raises(LLMError, match=r"kept failing.*rerun"):
        client.chat_many(chats(8))
    sent = server.count(CHAT)
    results = client_for(server, tmp_path).chat_many(chats(8))
    assert all(r.response for r in results)
    assert server.count(CHAT) - sent == 4  # only the four never answered


def test_budget_stops_cleanly_and_keeps_answers(server, tmp_path):
    # Four at a time: requests in flight count against the budget, so it is never overshot.
    client = client_for(server, tmp_path, budget=Budget(max_calls=5), max_concurrency=4)
    with pytest.raises(BudgetExceeded, match="5 calls"):
        client.chat_many(chats(20))
    assert server.count(CHAT) == 5
    assert len(ResponseCache(tmp_path / "cache")) == 5


def test_dry_run_estimate_sends_nothing(server, tmp_path):
    client = client_for(server, tmp_path)
    est = client.estimate(CHAT, [{"messages": m, "max_tokens": 100} for m in chats(6)])
    assert (est.requests, est.cached, est.completion_tokens) == (6, 0, 600)
    assert server.count(CHAT) == 0


def test_rate_limit_spaces_requests(server, tmp_path):
    endpoint = parse_endpoint(f"{server.url}:m", rpm=120)  # 2 a second
    client = LLMClient(endpoint, cache=None, retry=FAST)
    start = time.monotonic()
    client.chat_many(chats(5))
    assert server.count(CHAT) == 5
    assert time.monotonic() - start >= 1.2  # two at once, then one every half second


def test_moderations_and_embeddings(server, tmp_path):
    client = client_for(server, tmp_path)
    results = client.moderate(["I will kill you", "hello"], batch_size=1)
    assert results[0]["categories"]["violence"] and not results[1]["flagged"]
    vectors = client.embed(["a", "b", "c"], batch_size=2)
    assert len(vectors) == 3 and len(vectors[0]) == 8
    assert server.count(MODERATIONS) == 2


def test_topic_labeller_and_embedder_use_the_client(server, tmp_path, monkeypatch):
    from chatsift.analysis.topics.embed import get_embedder
    from chatsift.analysis.topics.label import LLMLabeler

    monkeypatch.setenv("CHATSIFT_CACHE", str(tmp_path))
    labeller = LLMLabeler(f"openai:{server.url}#labeller")
    labels = labeller.label_many([(["how do I sort a list in python"], ["python dicts"]), (["bake bread"], [])])
    assert len(labels) == 2 and all(label.startswith("echo:") for label in labels)
    assert LLMLabeler(f"{server.url}:labeller").label_many([(["bake bread"], [])]) == labels[1:]
    assert server.count(CHAT) == 2  # the second labeller's request came from the cache
    vectors = get_embedder(f"openai:{server.url}#emb").embed(["a", "b"])
    assert vectors.shape == (2, 8)


def _stream(client: LLMClient, text: str) -> list[str]:
    import asyncio

    async def collect():
        try:
            return [d async for d in client.astream_chat([{"role": "user", "content": text}], max_tokens=50)]
        finally:
            await client.aclose()

    return asyncio.run(collect())


def test_streamed_answers_retry_only_before_the_first_word(server, tmp_path):
    client = client_for(server, tmp_path)
    deltas = _stream(client, "one two three four five")
    assert "".join(deltas) == "echo: one two three four five" and len(deltas) == 6
    server.inject(CHAT, "429", "500", "stream_empty")  # nothing shown yet: retried
    assert "".join(_stream(client, "again")) == "echo: again"
    assert client.ledger.entry(client.endpoint.name).retries == 3
    server.inject(CHAT, "ignore_stream")  # a server that answers in one body
    assert _stream(client, "whole") == ["echo: whole"]
    before = server.count(CHAT)
    server.inject(CHAT, "stream_drop")
    with pytest.raises(StreamBroken) as broken:
        _stream(client, "a b c d e f")
    assert broken.value.code == "dropped" and server.count(CHAT) == before + 1  # a half answer is not retried
    server.inject(CHAT, "stream_garbage")
    with pytest.raises(StreamBroken, match="malformed"):
        _stream(client, "a b c")
    server.inject(CHAT, "401")
    with pytest.raises(LLMError, match="refused the API key"):
        _stream(client, "a")


def test_a_streamed_answer_from_nowhere_is_one_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = LLMClient(parse_endpoint(f"http://127.0.0.1:{port}/v1:m", timeout_s=0.5), retry=FAST)
    with pytest.raises(StreamBroken, match="cannot reach") as broken:
        _stream(client, "hello")
    assert broken.value.code == "unreachable"


def test_credentials_in_an_endpoint_url_reach_no_line_manifest_or_ledger(tmp_path, server):
    """``http://user:secret@host/v1:m``: the request still carries them, but the endpoint's name and label,
    the ledger and a release manifest's config show ``***`` instead."""
    url = server.url.replace("http://", "http://alice:hunter2-secret@")
    endpoint = parse_endpoint(f"{url}:m")
    assert endpoint.base_url == url  # what the request uses
    assert "hunter2" not in endpoint.name and "hunter2" not in endpoint.label and "***@" in endpoint.label
    client = LLMClient(endpoint, cache=ResponseCache(tmp_path), retry=FAST)
    client.chat_many(chats(1))
    assert "hunter2" not in json.dumps(client.ledger.to_dict())
    config = load_config(overrides={"moderation.backend": "openai", "moderation.endpoint": f"openai:{url}#m"})
    assert "hunter2" not in json.dumps(config.to_dict()) and "***@" in json.dumps(config.to_dict())


def test_an_error_body_that_echoes_the_key_is_not_repeated(server, tmp_path, monkeypatch):
    """A broken or hostile server quotes the Authorization header back in its error: the error line keeps
    the server's words but not the key."""
    import httpx

    from chatsift.llm.responses import server_message as _server_message

    key = "sk-echoed-secret-value-123456"
    monkeypatch.setenv("MY_KEY", key)
    endpoint = parse_endpoint(f"{server.url}:m", {}, api_key_env="MY_KEY")
    client = LLMClient(endpoint, cache=ResponseCache(tmp_path), retry=FAST)
    server.inject("/chat/completions", "echo_auth")
    try:
        lines = [str(r) for r in client.chat_many(chats(1))]
    except Exception as exc:  # whatever a user would see
        lines = [str(exc)]
    assert server.authorizations[-1] == f"Bearer {key}"  # sent, to loopback
    assert lines and all(key not in line for line in lines)
    request = httpx.Request("POST", server.url, headers={"Authorization": f"Bearer {key}"})
    response = httpx.Response(400, json={"error": {"message": f"you sent Authorization: Bearer {key}"}},
                              request=request)
    message = _server_message(response)
    assert key not in message and "***" in message and "you sent" in message


def test_hostile_endpoints_cannot_hold_memory_or_time(server, tmp_path):
    """An endless body, a body that drips a byte at a time, a 20 MB body: each call is cut off (by size or
    by the whole answer's deadline), retried, and the run stops with one clear error; memory stays small."""
    import resource

    two = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02)
    client = client_for(server, tmp_path, retry=two)
    client.endpoint = parse_endpoint(f"{server.url}:fake-model", timeout_s=0.5, deadline_s=1.0,
                                     max_response_bytes=1_000_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for fault in ("endless_body", "huge_body"):
        server.inject(CHAT, fault, fault)
        with pytest.raises(LLMError, match="an answer over 1,000,000 bytes"):
            client.chat_many(chats(1))
    started = time.monotonic()
    server.inject(CHAT, "drip", "drip")  # a byte every 0.2 s never trips the 0.5 s read timeout
    with pytest.raises(LLMError, match="no whole answer within 1 s"):
        client.chat_many(chats(1))
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing held whole
    assert client.chat_many(chats(1))[0].response  # and the next call is fine


def test_hostile_streams_are_cut_off(server, tmp_path):
    client = client_for(server, tmp_path)
    client.endpoint = parse_endpoint(f"{server.url}:fake-model", timeout_s=0.5, deadline_s=5.0,
                                     max_response_bytes=2_000)
    server.inject(CHAT, "stream_endless")
    with pytest.raises(StreamBroken) as broken:
        _stream(client, "go on")
    assert broken.value.code == "too_large"
    server.inject(CHAT, "stream_number")  # a number where the text goes is an error, not an empty answer
    with pytest.raises(StreamBroken) as broken:
        _stream(client, "a b c")
    assert broken.value.code == "malformed"


def test_a_cost_budget_counts_requests_in_flight(server, tmp_path):
    client = client_for(server, tmp_path, budget=Budget(max_cost_usd=0.05), max_concurrency=16)
    client.endpoint = parse_endpoint(f"{server.url}:fake-model", timeout_s=0.5, max_concurrency=16,
                                     price_per_mtok_in=1000.0, price_per_mtok_out=1000.0)
    with pytest.raises(BudgetExceeded, match=r"\$0.05"):
        client.chat_many(chats(64), max_tokens=10)
    spent = client.ledger.entry(client.endpoint.name).cost_usd
    assert 0 < spent <= 0.05  # 16 concurrent requests did not overshoot it
