"""The chat and arena service against real stores (SQLite and PostgreSQL) and a real streaming upstream.

Every case runs the service with uvicorn on loopback and talks HTTP to it as users behind a trusted
proxy would; the upstream is the test suite's OpenAI-compatible server, streaming server-sent events.
"""

from __future__ import annotations

import collections
import contextlib
import json
import random
import re
import sqlite3
import threading
import time

import pytest
from chat_service import User, answer_for, answer_text, running, settings_dict, store_url
from click.testing import CliRunner
from conftest import read_release, run_curate
from fake_llm import FakeLLM

from chatsift.chatstore.store import StoreError, open_store
from chatsift.cli.main import cli
from chatsift.serve.identity import browser_id, client_address, consent_key, user_id
from chatsift.serve.sampling import battle_pair
from chatsift.serve.settings import settings_from_dict
from chatsift.serve.turns import CONVERSATION_LIMIT_MSG, MODERATION_MSG, SERVER_ERROR_MSG

STORES = ["sqlite", "postgresql"]
SECRET = "serve-test-secret"


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("CHATSIFT_SERVE_SECRET", SECRET)


@pytest.fixture(params=STORES)
def db(request, tmp_path):
    with store_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def upstream():
    with FakeLLM(chat_by_model=answer_for, stream_delay_s=0.002, slow_s=3.0) as server:
        yield server


def _counts(service) -> dict:
    with service.store.tx(write=False) as cur:
        return {t: cur.one(f"SELECT COUNT(*) FROM {t}")[0] for t in ("snapshots", "votes", "consents", "battles")}


def test_store_migrates_once_and_refuses_a_newer_schema(db):
    store = open_store(db, migrate=False)
    assert store.version() == 0
    assert store.migrate() == [1, 2, 3]
    assert store.migrate() == []  # a second start applies nothing
    assert open_store(db).version() == 3
    with store.tx() as cur:
        cur.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", (99, "future", 0.0))
    with pytest.raises(StoreError, match="newer than this chatsift knows"):
        open_store(db)
    store.close()


def test_battles_votes_and_the_leaderboard_end_to_end(db, upstream, tmp_path):
    """A scripted session: chats, anonymous battles voted for the detailed answer, a named battle and a
    battle whose prompt names a model; then export, curate, stats and leaderboard give what it implies."""
    with running(settings_dict(db, upstream.url)) as (base, service):
        service.rng = random.Random(7)
        users = [User(base, f"198.51.100.{i}") for i in range(1, 4)]
        for user in users:
            assert user.accept().status_code == 303
        # Single chat: two turns with alpha, one with beta, one upvote.
        status, events = users[0].send("chat", "What is a binary search tree?", model="alpha")
        assert status == 200 and events[-1] == {"done": True, "saved": True, "finish": ["stop"]}
        assert answer_text(events).startswith("Here is a detailed and careful answer: What is a binary")
        assert users[0].send("chat", "And a heap?")[0] == 200
        assert users[0].vote("chat", "upvote").status_code == 200
        assert users[0].vote("chat", "upvote").status_code == 409  # one vote per answer
        assert users[1].send("chat", "Tell me about rivers", model="beta")[0] == 200

        wins = collections.Counter()
        battles = 0
        for round_no in range(12):
            user = users[round_no % 3]
            status, events = user.send("anony", f"Explain topic number {round_no} simply")
            assert status == 200 and events[0]["models"] is None  # anonymous: no names before the vote
            left, right = answer_text(events, 0), answer_text(events, 1)
            kind = ("leftvote" if len(left) > len(right) else "rightvote") if len(left) != len(right) else "tievote"
            result = user.vote("anony", kind, battle_id=events[0]["battle_id"]).json()
            assert result["counted"] is True and len(result["models"]) == 2
            winner = {"leftvote": 0, "rightvote": 1}.get(kind)
            if winner is not None:
                wins[result["models"][winner]] += 1
            battles += 1
            assert user.vote("anony", "leftvote").status_code == 409  # names shown: no second vote
            assert user.send("anony", "one more?")[0] == 409  # the battle is over
            assert user.clear("anony").status_code == 303
        assert wins["alpha"] >= max(wins["beta"], wins["gamma"])

        # Not counted: a named battle, and an anonymous one whose prompt names a model.
        assert users[0].send("named", "Compare yourselves", models=["alpha", "beta"])[0] == 200
        assert users[0].vote("named", "leftvote").json()["not_counted"] == "named"
        assert users[1].send("anony", "Are you ChatGPT or Claude?")[0] == 200
        assert users[1].vote("anony", "tievote").json()["not_counted"] == "identity_leak"

        board = users[2].http.get("/api/leaderboard").json()
        assert sum(r["battles"] for r in board["rows"]) == 2 * battles
        page = users[2].http.get("/leaderboard").text
        assert 'id="board"' in page and board["rows"][0]["model"] in page
        counts = _counts(service)
        assert counts == {"snapshots": 3 + 2 * (battles + 2), "votes": 1 + battles + 2, "consents": 3,
                          "battles": battles + 2}

    runner = CliRunner()
    result = runner.invoke(cli, ["export", db, "-o", str(tmp_path / "logs")])
    assert result.exit_code == 0, result.output
    assert f"exported {counts['snapshots']} chat snapshots and {counts['votes']} votes" in result.output
    logs = sorted((tmp_path / "logs").glob("*-conv.json"))
    result = runner.invoke(cli, ["leaderboard", "--votes", "--json", "--rounds", "20", *map(str, logs)])
    assert result.exit_code == 0, result.output
    board = json.loads(result.output)
    assert sum(r["battles"] for r in board["rows"]) == 2 * battles
    assert "vote not counted (named)" in board["skipped"] and "vote not counted (identity_leak)" in board["skipped"]

    from_store = run_curate([db], tmp_path / "from-store", **{"release.schema": "full", "release.keep_private": True})
    from_logs = run_curate(logs, tmp_path / "from-logs", **{"release.schema": "full", "release.keep_private": True})
    conversations = 2 + 2 * (battles + 2)  # two chats (alpha, beta) and both sides of every battle
    assert from_store["counts"]["released"] == from_logs["counts"]["released"] == conversations
    assert from_store["statistics"]["users"] == 3 and from_store["statistics"]["models"] == 3
    store_rel, log_rel = read_release(tmp_path / "from-store"), read_release(tmp_path / "from-logs")
    assert store_rel.schema == log_rel.schema
    assert sorted(store_rel.column("user_id").to_pylist()) == sorted(log_rel.column("user_id").to_pylist())
    assert sorted(store_rel.column("conversation_id").to_pylist()) == sorted(
        log_rel.column("conversation_id").to_pylist())
    rows = store_rel.to_pylist()
    first = next(r for r in rows if r["model"] == "alpha" and r["turn"] == 2)  # the latest snapshot of the chat
    assert [m["role"] for m in first["conversation"]] == ["user", "assistant"] * 2
    assert first["votes.up"] == 1
    assert sum(r["votes.win"] or 0 for r in rows) == sum(wins.values()) + 1  # the release keeps named votes too
    result = runner.invoke(cli, ["stats", str(tmp_path / "from-store")])
    assert result.exit_code == 0 and re.search(rf"this release\s+{conversations}\s", result.output), result.output


def test_consent_is_required_versioned_and_withdrawal_leaves_later_exports(db, upstream, tmp_path):
    settings = settings_dict(db, upstream.url)
    with running(settings) as (base, service):
        user, other = User(base, "192.0.2.10"), User(base, "192.0.2.11")
        assert user.http.get("/", follow_redirects=False).headers["location"] == "/terms?next=/"
        user.page("/terms")
        assert user.send("chat", "hello before consent")[0] == 403
        assert _counts(service)["snapshots"] == 0
        assert user.accept().headers["location"] == "/"
        browser = browser_id(SECRET.encode(), user.http.cookies["chatsift_browser"])
        assert service.store.consent(user_id(SECRET.encode(), "192.0.2.10")) is None  # not the address's
        consent = service.store.consent(consent_key(SECRET.encode(), browser))
        assert consent[0] == "accept" and consent[1] == service.settings.terms_version
        assert abs(consent[2] - time.time()) < 60
        assert user.send("chat", "my first question, to be withdrawn")[0] == 200
        other.accept()
        assert other.send("chat", "the other user's question")[0] == 200
        assert "Withdraw" in user.page("/terms").text
        assert user.withdraw().status_code == 200
        assert user.send("chat", "after withdrawing")[0] == 403
        user.accept()
        assert user.send("chat", "asked after consenting again")[0] == 200
    exported = tmp_path / "logs"
    CliRunner().invoke(cli, ["export", db, "-o", str(exported)], catch_exceptions=False)
    text = "".join(p.read_text() for p in exported.glob("*.json"))
    assert "to be withdrawn" not in text
    assert "the other user's question" in text and "asked after consenting again" in text

    # New terms: everyone must accept again before the next message.
    with running({**settings, "terms_version": "2099-01"}) as (base, _):
        user = User(base, "192.0.2.11", same_browser=other)
        user.page("/terms")
        assert user.send("chat", "hello under the new terms")[0] == 403
        assert "The terms have changed" in user.page("/terms").text
        user.accept()
        assert user.send("chat", "hello under the new terms")[0] == 200


def test_the_client_address_is_hashed_and_never_stored_or_logged(tmp_path, upstream, capfd):
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    with running(settings_dict(db, upstream.url)) as (base, service):
        user = User(base, "203.0.113.77")
        user.accept()
        assert user.send("chat", "where am I?")[0] == 200
        # A client that is not a trusted proxy cannot choose its address by sending the header.
        assert client_address("10.9.8.7", "203.0.113.77", service.settings.proxy_networks()) == "10.9.8.7"
        assert client_address("127.0.0.1", "1.2.3.4, 203.0.113.77", service.settings.proxy_networks()) == \
            "203.0.113.77"
        store = service.store
        with store.tx(write=False) as cur:
            ids = {r[0] for r in cur.all("SELECT user_id FROM snapshots")}
        assert ids == {user_id(SECRET.encode(), "203.0.113.77")}
    out = tmp_path / "logs"
    CliRunner().invoke(cli, ["export", db, "-o", str(out)], catch_exceptions=False)
    run_curate([db], tmp_path / "rel", **{"release.schema": "full", "release.keep_private": True})
    captured = capfd.readouterr()
    for blob in [*(p.read_bytes() for p in tmp_path.glob("chat.db*")), *(p.read_bytes() for p in out.iterdir()),
                 *(p.read_bytes() for p in (tmp_path / "rel").rglob("*") if p.is_file()),
                 (captured.out + captured.err).encode()]:
        assert b"203.0.113.77" not in blob


def test_bad_requests_get_clear_answers_and_store_nothing(db, upstream):
    settings = settings_dict(db, upstream.url, limits={"input_chars": 500, "max_turns": 2, "rate_per_minute": 4})
    with running(settings) as (base, service):
        user = User(base, "198.51.100.50")
        user.accept()
        before = _counts(service)
        cases = [
            (user.send("chat", "x" * 501), 413, "limit is 500"),
            (user.send("chat", "   "), 400, "empty"),
            (user.send("chat", "hi", model="no-such-model"), 400, "unknown model"),
            (user.send("sideways", "hi"), 400, "unknown mode"),
            (user.send("named", "hi", models=["alpha", "nope"]), 400, "unknown model"),
        ]
        for (status, body), expected, words in cases:
            assert status == expected and words in body[0]["error"], (status, body)
        bad = user.http.post("/api/send", content=b"{not json", headers={"X-CSRF-Token": user.csrf})
        assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
        huge = user.http.post("/api/send", content=b"x" * (2 << 20), headers={"X-CSRF-Token": user.csrf})
        assert huge.status_code == 413
        # CSRF: no token, a wrong one, another site's origin.
        assert user.http.post("/api/send", json={"mode": "chat", "text": "hi"}).status_code == 403
        assert user.post("/api/send", {"mode": "chat", "text": "hi"}, **{"X-CSRF-Token": "0" * 32}).status_code == 403
        assert user.post("/api/vote", {"mode": "anony", "kind": "leftvote"},
                         Origin="http://evil.example").status_code == 403
        forged = user.http.post("/vote", data={"mode": "anony", "kind": "leftvote", "csrf": "forged"})
        assert forged.status_code == 403
        assert user.vote("anony", "leftvote").status_code == 400  # no battle yet
        assert user.vote("anony", "sidevote").status_code == 400
        assert _counts(service) == before

        assert user.send("chat", "turn one")[0] == 200
        assert user.send("chat", "turn two")[0] == 200
        status, body = user.send("chat", "turn three")
        assert status == 400 and body[0]["error"] == CONVERSATION_LIMIT_MSG
        user.clear("chat")
        assert user.send("anony", "a battle")[0] == 200
        battle = service.sessions.get(user.http.cookies["chatsift_sid"])[0].battles["anony"]
        assert user.vote("anony", "leftvote", battle_id="0" * 32).status_code == 409  # a stale battle
        assert user.vote("anony", "leftvote", battle_id=battle.battle_id).status_code == 200
        assert user.vote("anony", "leftvote", battle_id=battle.battle_id).status_code == 409  # a replay
        assert user.send("chat", "a fourth message")[0] == 200
        status, body = user.send("chat", "over the rate")
        assert status == 429 and "wait" in body[0]["error"]
        assert _counts(service)["snapshots"] == before["snapshots"] + 5


@pytest.mark.parametrize("fault, code", [("stream_hang", "timeout"), ("stream_drop", "dropped"),
                                         ("stream_garbage", "malformed"), ("400", "http_400"),
                                         ("stream_empty", "empty")])
def test_upstream_faults_become_fastchats_error_answer(tmp_path, fault, code):
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    with FakeLLM(chat_by_model=answer_for, slow_s=3.0) as upstream, \
            running(settings_dict(db, upstream.url, upstream_timeout_s=1.0)) as (base, service):
        user = User(base, "198.51.100.60")
        user.accept()
        # An empty stream is retried like a refused connection (nothing was shown yet): fail every attempt.
        upstream.inject("/chat/completions", *[fault] * (3 if fault == "stream_empty" else 1))
        status, events = user.send("chat", "a question the upstream fails on", model="alpha")
        assert status == 200
        error = next(e["error"] for e in events if "error" in e)
        assert error == f"{SERVER_ERROR_MSG}\n\n(error_code: {code})"
        assert events[-1]["saved"] is True and events[-1]["finish"] == ["error"]
        assert user.post("/api/regenerate", {"mode": "chat"}).status_code == 200  # the service carries on
        status, events = user.send("chat", "and now a good question")
        assert answer_text(events).startswith("Here is a detailed")
        assert service.store.summary()["events"]["upstream_error"] == 1
        sent = [body["messages"] for path, body in upstream.requests if path == "/chat/completions"]
        assert all(SERVER_ERROR_MSG not in m["content"] for messages in sent for m in messages)
    manifest = run_curate([db], tmp_path / "rel")
    # As with FastChat's logs: the snapshot with the error answer is excluded, the regenerated one released.
    assert manifest["counts"]["excluded"].get("network_error") == 1
    assert manifest["counts"]["released"] == 1
    assert read_release(tmp_path / "rel").column("turn").to_pylist() == [2]


def test_an_unreachable_or_refusing_upstream(tmp_path, upstream):
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    settings = settings_dict(db, upstream.url)
    settings["models"][1]["endpoint"] = "http://127.0.0.1:9/v1:beta"  # nothing listens on port 9
    with running(settings) as (base, _):
        user = User(base, "198.51.100.61")
        user.accept()
        status, events = user.send("chat", "hello", model="beta")
        assert status == 200 and "(error_code: unreachable)" in next(e["error"] for e in events if "error" in e)
        upstream.inject("/chat/completions", "500", "500", "500")
        status, events = user.send("chat", "hello", model="alpha")
        assert status == 200 and "(error_code: upstream)" in next(e["error"] for e in events if "error" in e)
        assert answer_text(user.send("chat", "hello again", model="alpha")[1])


def test_a_locked_or_full_store_stores_nothing_half_way(tmp_path, upstream):
    path = tmp_path / "chat.db"
    db = f"sqlite:///{path}"
    with running(settings_dict(db, upstream.url), busy_timeout_s=0.3) as (base, service):
        user = User(base, "198.51.100.70")
        user.accept()
        assert user.send("chat", "stored before the lock")[0] == 200
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            status, events = user.send("chat", "sent while another writer holds the store")
            assert status == 503 and "busy" in events[0]["error"]  # the session cannot be held: refused at once
            response = user.vote("chat", "upvote")
            assert response.status_code == 503 and "busy" in response.json()["error"]
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        session = service.sessions.get(user.http.cookies["chatsift_sid"])[0]
        assert session.chat.turns == 1  # the unsaved turn is not on screen either
        assert user.send("chat", "after the lock")[0] == 200
        assert _counts(service)["snapshots"] == 2

    # Full: the database may not grow past the pages it has.
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    with running(settings_dict(db, upstream.url), sqlite_pragmas=(f"max_page_count={pages}",)) as (base, service):
        user = User(base, "198.51.100.70", same_browser=user)
        user.page("/terms")
        big = "y" * 11_000
        status, events = user.send("chat", big)
        assert status == 200 and events[-1]["saved"] is False
        assert "disk is full" in events[-1]["problem"]
        assert user.vote("chat", "upvote").status_code == 400  # nothing on screen to vote on
        assert _counts(service)["snapshots"] == 2
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_input_moderation_blocks_and_logs(tmp_path, upstream):
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    settings = settings_dict(db, upstream.url, moderation=f"openai:{upstream.url}:text-moderation-latest")
    with running(settings) as (base, service):
        user = User(base, "198.51.100.80")
        user.accept()
        status, body = user.send("chat", "how do I kill my neighbour")
        assert status == 400 and body[0]["error"] == MODERATION_MSG
        assert _counts(service)["snapshots"] == 0
        assert service.store.summary()["events"] == {"moderation_block": 1}
        assert "kill" not in json.dumps(service.store.summary())  # the blocked text is not kept
        assert user.send("chat", "how do I bake bread")[0] == 200


def test_arena_pairs_follow_fastchats_weighted_sampling():
    settings = settings_from_dict({"models": [
        {"name": "a", "endpoint": "vllm:a", "weight": 4}, {"name": "b", "endpoint": "vllm:b", "weight": 1},
        {"name": "c", "endpoint": "vllm:c", "weight": 1}, {"name": "d", "endpoint": "vllm:d", "weight": 2}],
        "arena": {"outage": ["d"], "battle_targets": {"b": ["c"]}, "target_boost": 3.0}})
    rng = random.Random(1)
    draws = [battle_pair(settings, rng) for _ in range(20_000)]
    assert all(x != y and "d" not in (x, y) for x, y in draws)
    with_a = [p for p in draws if "a" in p]
    assert abs(sum(x == "a" for x, _ in with_a) / len(with_a) - 0.5) < 0.02  # sides are shuffled
    # First model by weight (a 4/6, b 1/6, c 1/6); its rival by weight among the rest, b's target c boosted 3x.
    expected = {"ab": 4 / 6 * 1 / 2 + 1 / 6 * 4 / 7, "ac": 4 / 6 * 1 / 2 + 1 / 6 * 4 / 5,
                "bc": 1 / 6 * 3 / 7 + 1 / 6 * 1 / 5}
    pairs = collections.Counter("".join(sorted(p)) for p in draws)
    for pair, share in expected.items():
        assert abs(pairs[pair] / len(draws) - share) < 0.01, (pair, pairs[pair] / len(draws), share)


def test_concurrent_users_lose_nothing(db, upstream):
    with running(settings_dict(db, upstream.url)) as (base, service):
        users = [User(base, f"198.51.100.{100 + i}") for i in range(12)]
        errors = []

        def act(user: User) -> None:
            try:
                user.accept()
                for i in range(3):
                    assert user.send("anony", f"question {i} from {user.address}")[0] == 200
                    assert user.vote("anony", "tievote").status_code == 200
                    user.clear("anony")
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=act, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert _counts(service) == {"snapshots": 72, "votes": 36, "consents": 12, "battles": 36}


def _start_server(config, port: int):
    import os
    import subprocess
    import sys

    import httpx

    env = {**os.environ, "CHATSIFT_SERVE_SECRET": SECRET}
    command = [sys.executable, "-m", "chatsift.cli.main", "serve", "-c", str(config), "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chatsift serve exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("chatsift serve did not start in 60 s")


@contextlib.contextmanager
def _serve_process(tmp_path, settings: dict):
    """`chatsift serve` as a real process on a free loopback port: (base URL, config, port, processes); every
    process in the list (a test may restart the server into it) is killed at the end."""
    import yaml
    from conftest import free_port

    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    port = free_port()
    procs = [_start_server(config, port)]
    try:
        yield f"http://127.0.0.1:{port}", config, port, procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)


def test_a_server_killed_mid_stream_stores_nothing_half_written_and_carries_on(db, tmp_path):
    import signal

    def slow_answer(messages, model):
        if "long" in messages[-1]["content"]:
            return " ".join(f"word{i}" for i in range(60))
        return "A short answer."

    with FakeLLM(chat_by_model=slow_answer, stream_delay_s=0.1) as upstream, \
            _serve_process(tmp_path, settings_dict(db, upstream.url)) as (base, config, port, procs):
        user = User(base, "198.51.100.90")
        user.accept()
        assert user.send("chat", "a quick one")[1][-1]["saved"] is True
        with user.http.stream("POST", "/api/send", json={"mode": "chat", "text": "a long one, please"},
                              headers={"X-CSRF-Token": user.csrf}) as response:
            lines = response.iter_lines()
            assert json.loads(next(lines))["model"] == "alpha"
            assert "delta" in json.loads(next(lines))  # the answer is streaming
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(timeout=10)
        procs.append(_start_server(config, port))
        user = User(base, "198.51.100.90", same_browser=user)  # the same person, on a fresh page
        assert user.page("/").status_code == 200  # consent is in the store, not in the dead process
        assert user.send("chat", "after the restart")[1][-1]["saved"] is True
    out = tmp_path / "logs"
    CliRunner().invoke(cli, ["export", db, "-o", str(out)], catch_exceptions=False)
    records = [json.loads(line) for p in out.glob("*.json") for line in p.read_text().splitlines()]
    prompts = [r["state"]["messages"][-2][1] for r in records if r["type"] == "chat"]
    assert sorted(prompts) == ["a quick one", "after the restart"]
    assert all(r["state"]["messages"][-1][1] == "A short answer." for r in records)


def test_curate_reads_a_store_incrementally(tmp_path, upstream):
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    with running(settings_dict(db, upstream.url)) as (base, _):
        user = User(base, "198.51.100.150")
        user.accept()
        user.send("chat", "an early question", model="beta")
        time.sleep(0.05)
        since = time.time()
        user.clear("chat")
        user.send("chat", "a later question", model="gamma")
    everything = run_curate([db], tmp_path / "all")
    later = run_curate([db], tmp_path / "later", **{"read.since": str(since)})
    assert everything["counts"]["released"] == 2 and later["counts"]["released"] == 1
    assert read_release(tmp_path / "later").column("model").to_pylist() == ["gamma"]
    result = CliRunner().invoke(cli, ["curate", db, "-o", str(tmp_path / "none"), "--since", "2999-01-01",
                                      "--no-progress"])
    assert result.exit_code == 2 and "holds no conversations since the given time" in result.output
    result = CliRunner().invoke(cli, ["curate", f"sqlite:///{tmp_path / 'missing.db'}", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no chat store" in result.output


def test_admin_page_needs_the_token_and_shows_traffic_votes_and_errors(tmp_path, upstream):
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    with running(settings_dict(db, upstream.url)) as (base, _):
        user = User(base, "198.51.100.160")
        assert user.http.get("/admin").status_code == 404  # no token configured: no admin page
    with running(settings_dict(db, upstream.url), admin_token="let-me-in") as (base, _):
        user = User(base, "198.51.100.160")
        user.accept()
        user.send("chat", "hello", model="alpha")
        user.vote("chat", "downvote")
        upstream.inject("/chat/completions", "stream_garbage")
        user.send("chat", "again", model="alpha")
        assert user.http.get("/admin").status_code == 401
        # the sign-in form is CSRF-guarded like every form: without the page's token, or from another site
        assert user.http.post("/admin", data={"token": "let-me-in"}).status_code == 403
        assert user.http.post("/admin", data={"token": "let-me-in", "csrf": user.csrf},
                              headers={"Origin": "https://evil.example"}).status_code == 403
        assert user.http.post("/admin", data={"token": "wrong", "csrf": user.csrf}).status_code == 401
        assert user.http.post("/admin", data={"token": "ünïcødé", "csrf": user.csrf}).status_code == 401  # not 500
        signed_in = user.http.post("/admin", data={"token": "let-me-in", "csrf": user.csrf})
        assert signed_in.status_code == 303
        first_cookie = user.http.cookies.get("chatsift_admin")
        page = user.http.get("/admin")
        assert page.status_code == 200
        assert "<td>alpha</td><td>1</td><td>2</td><td>1</td>" in page.text  # 1 conversation, 2 answers, 1 error
        assert "<td>downvote</td>" in page.text and "<td>upstream_error</td><td>1</td>" in page.text
        assert "198.51.100.160" not in page.text
        assert "Max-Age=28800" in signed_in.headers["set-cookie"]  # a sign-in expires
        # signing out ends it; signing in again gives a new value (not the same HMAC of the token every time)
        assert user.http.post("/admin/logout", data={"csrf": user.csrf}).status_code == 303
        assert user.http.get("/admin").status_code == 401
        user.http.post("/admin", data={"token": "let-me-in", "csrf": user.csrf})
        assert user.http.cookies.get("chatsift_admin") not in (None, first_cookie)
        # wrong guesses from one address are throttled: five a minute, then 429 even for the right token
        guesser = User(base, "198.51.100.161")
        guesser.http.get("/admin")
        guesser.csrf = re.search(r'name="csrf" value="([^"]+)"', guesser.http.get("/admin").text).group(1)
        codes = [guesser.http.post("/admin", data={"token": f"guess{i}", "csrf": guesser.csrf}).status_code
                 for i in range(7)]
        assert codes == [401] * 5 + [429] * 2
        assert guesser.http.post("/admin", data={"token": "let-me-in", "csrf": guesser.csrf}).status_code == 429


def test_stop_keeps_what_was_streamed_and_an_idle_session_expires(tmp_path):
    db = f"sqlite:///{tmp_path / 'chat.db'}"

    def long_answer(messages, model):
        return " ".join(f"part{i}" for i in range(80))

    with FakeLLM(chat_by_model=long_answer, stream_delay_s=0.05) as upstream, \
            running(settings_dict(db, upstream.url, limits={"session_expiry_s": 1.5})) as (base, service):
        user = User(base, "198.51.100.170")
        user.accept()
        events = user.send_and_stop("go on and on", after=5)
        assert events[-1]["done"] and events[-1]["finish"] == ["stopped"] and events[-1]["saved"]
        shown = answer_text(events)
        assert 0 < len(shown.split()) < 80
        with service.store.tx(write=False) as cur:
            state, reason = cur.one("SELECT state, finish_reason FROM snapshots")
        assert reason == "stopped" and json.loads(state)["messages"][-1] == ["assistant", shown]
        assert user.vote("chat", "downvote").status_code == 200  # a stopped answer can be voted on

        time.sleep(2.0)  # idle past the session's expiry
        status, body = user.send("chat", "are you still there?")
        assert status == 403 and "INACTIVE" in body[0]["error"]
        user.page("/")  # a reload starts a new session; consent is remembered for the user
        assert user.send("chat", "hello again")[0] == 200


def test_forwarded_for_from_an_untrusted_peer_is_no_new_user(db, tmp_path, upstream):
    """Without a configured trusted proxy the socket peer is the only address: a client that sends
    X-Forwarded-For headers of its own (uvicorn trusts them from loopback by default) is still one user,
    held by one rate limit."""
    settings = settings_dict(db, upstream.url, trusted_proxies=[], limits={"rate_per_minute": 2})
    with _serve_process(tmp_path, settings) as (base, _, _, _):
        first = User(base, "198.51.100.1")
        first.accept()
        assert [first.send("chat", f"hello {i}")[0] for i in range(2)] == [200, 200]
        spoofed = User(base, "198.51.100.2")  # the same client, claiming another address
        spoofed.accept()
        status, body = spoofed.send("chat", "one more")
        assert status == 429, body


def test_a_withdrawal_holds_for_every_tab_and_for_an_answer_still_streaming(db, tmp_path):
    """Two tabs of one user (two sessions, one address): after a withdrawal in one, the other's next turn
    and vote are refused, a turn that was streaming when the withdrawal came is not stored, and nothing
    of the conversations begun before it is exported, even after the user consents again."""

    def slow_answer(messages, model):
        return " ".join(f"word{i}" for i in range(40)) if "long" in messages[-1]["content"] else "Short."

    with FakeLLM(chat_by_model=slow_answer, stream_delay_s=0.05) as upstream, \
            running(settings_dict(db, upstream.url)) as (base, service):
        tab1 = User(base, "192.0.2.40")
        tab1.accept()
        tab2 = User(base, "192.0.2.40", same_browser=tab1)
        tab2.page("/")
        assert tab2.send("chat", "first tab two question")[0] == 200
        assert tab2.vote("chat", "upvote").status_code == 200
        events: list = []
        streaming = threading.Thread(target=lambda: events.append(tab2.send("chat", "a long one, please")))
        streaming.start()
        time.sleep(0.5)  # the answer is streaming
        assert tab1.withdraw().status_code == 200
        streaming.join(timeout=30)
        status, stream = events[0]
        assert status == 200 and stream[-1]["saved"] is False
        assert tab2.send("chat", "after the withdrawal, from the other tab")[0] == 403
        before = _counts(service)
        tab1.accept()
        assert tab2.send("chat", "back again, same conversation")[0] == 200  # a new conversation after withdraw
        assert _counts(service)["snapshots"] == before["snapshots"] + 1
    exported = tmp_path / "logs"
    CliRunner().invoke(cli, ["export", db, "-o", str(exported)], catch_exceptions=False)
    text = "".join(p.read_text() for p in exported.glob("*.json"))
    assert "first tab two question" not in text and "a long one" not in text and "other tab" not in text
    assert "back again" in text


def test_consent_belongs_to_the_browser_not_to_the_address(db, upstream, tmp_path):
    """Two people behind one address (a household, an office NAT): the second is shown the terms, and
    their withdrawal drops only what their own browser stored; a forged identity cookie is a new browser;
    a non-ASCII CSRF token is a refusal, not a server error."""
    with running(settings_dict(db, upstream.url)) as (base, _):
        first, second = User(base, "192.0.2.60"), User(base, "192.0.2.60")
        first.accept()
        assert first.send("chat", "the first person's question")[0] == 200
        assert second.http.get("/", follow_redirects=False).headers["location"] == "/terms?next=/"
        second.page("/terms")
        assert second.send("chat", "not accepted yet")[0] == 403
        second.accept()
        assert second.send("chat", "the second person's question")[0] == 200
        assert second.withdraw().status_code == 200
        assert first.send("chat", "the first person goes on")[0] == 200  # untouched by the other's withdrawal
        forged = User(base, "192.0.2.60")
        forged.http.cookies.set("chatsift_browser", "0" * 32 + ".not-the-signature")
        assert forged.http.get("/", follow_redirects=False).status_code in (302, 303, 307)
        response = first.http.post("/api/send", json={"mode": "chat", "text": "hi"},
                                   headers={"X-CSRF-Token": "jeton-falsifié".encode()})
        assert response.status_code == 403
    exported = tmp_path / "logs"
    CliRunner().invoke(cli, ["export", db, "-o", str(exported)], catch_exceptions=False)
    text = "".join(p.read_text() for p in exported.glob("*.json"))
    assert "the first person's question" in text and "the first person goes on" in text
    assert "the second person's question" not in text


def test_sessions_from_one_address_cannot_push_out_everyone_elses(db):
    from chatsift.serve.sessions import Sessions

    store = open_store(db)
    sessions = Sessions(store, expiry_s=600, limit=100, per_user=5)
    victim = sessions.new("user-a")
    for _ in range(450):  # cookie-less requests from one address: a new session each
        sessions.new("user-b")
    assert sessions.get(victim.sid)[0].sid == victim.sid
    assert len(sessions) == 6  # the victim's and the attacker's five newest
    many = [sessions.new(f"user-{i}") for i in range(200)]  # the overall limit still holds, idlest first
    assert len(sessions) == 100 and sessions.get(many[-1].sid)[0].user_id == "user-199"
    store.close()
