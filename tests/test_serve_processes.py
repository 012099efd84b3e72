"""Several serving processes, one store: any process answers any request of any session.

Two services are built apart (each its own ``ChatService``, store connections, LLM clients and
threads, nothing shared in memory) over one SQLite or PostgreSQL store, and one browser sends each
request to whichever the test names, as a proxy without sticky sessions would. Then ``chatsift serve
--workers 2`` runs as a real process tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from chat_service import User, answer_for, running, settings_dict, store_url
from conftest import free_port
from fake_llm import FakeLLM

SECRET = "serve-processes-secret"


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("CHATSIFT_SERVE_SECRET", SECRET)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    with store_url(request.param, tmp_path) as url:
        yield url


def _answer(messages, model):
    if "long" in messages[-1]["content"]:
        return " ".join(f"word{i}" for i in range(60))
    return answer_for(messages, model)


@contextlib.contextmanager
def _two_services(db: str, upstream_url: str, **extra):
    settings = settings_dict(db, upstream_url, **extra)
    with running(settings) as (a, service_a), running(settings) as (b, service_b):
        assert service_a.sessions is not service_b.sessions and service_a.store is not service_b.store
        yield (a, b), (service_a, service_b)


def _at(user: User, base: str) -> User:
    """Send the user's next requests to the process at ``base`` (cookies are per host, not per port)."""
    user.http.base_url = base
    return user


def _rows(service, sql: str) -> list:
    with service.store.tx(write=False) as cur:
        return cur.all(sql)


def test_every_request_may_land_on_either_process(db):
    with FakeLLM(chat_by_model=_answer, stream_delay_s=0.01) as upstream, \
            _two_services(db, upstream.url) as ((a, b), (service_a, _)):
        user = User(a, "198.51.100.20")
        assert user.accept().status_code == 303  # consent given on A
        status, events = _at(user, b).send("chat", "hello from B")  # the session made on A, used on B
        assert status == 200 and events[-1]["saved"] is True
        assert _at(user, a).vote("chat", "upvote").status_code == 200  # the answer B streamed, voted on A
        assert _at(user, b).vote("chat", "upvote").status_code == 409  # one vote per answer, either process
        page = _at(user, a).page("/")
        assert "hello from B" in page.text  # A shows what B stored

        status, events = _at(user, b).send("anony", "a battle begun on B")
        assert status == 200 and events[-1]["saved"] is True
        vote = _at(user, a).vote("anony", "leftvote")
        assert vote.status_code == 200 and vote.json()["counted"] is True
        assert _at(user, b).send("anony", "more in a voted battle")[0] == 409  # B knows it was voted on
        assert _at(user, b).clear("anony").status_code == 303
        assert _at(user, a).send("anony", "a new round on A")[0] == 200

        snapshots = _rows(service_a, "SELECT conv_id, seq, state FROM snapshots ORDER BY id")
        assert len(snapshots) == 5  # chat 1, battle 2, new battle 2
        for _, seq, state in snapshots:
            messages = json.loads(state)["messages"]
            assert len(messages) == 2 * seq and [r for r, _ in messages] == ["user", "assistant"] * seq
        assert _rows(service_a, "SELECT COUNT(*) FROM votes")[0][0] == 2


def test_a_stop_a_withdrawal_and_a_race_across_processes(db):
    with FakeLLM(chat_by_model=_answer, stream_delay_s=0.05) as upstream, \
            _two_services(db, upstream.url) as ((a, b), (service_a, _)):
        user = User(a, "198.51.100.21")
        user.accept()
        other = User(b, "198.51.100.21", same_browser=user)  # a second tab, on B
        other.http.cookies.set("chatsift_sid", user.http.cookies["chatsift_sid"])
        other.csrf = user.csrf

        # Stop pressed on B stops the answer A streams; what was shown is stored.
        events = user.send_and_stop("a long one, please", after=4, stopper=other)
        assert events[-1]["finish"] == ["stopped"] and events[-1]["saved"] is True
        assert 0 < len("".join(e.get("delta", "") for e in events).split()) < 60

        # While A streams, B refuses another turn of the same session.
        results: list = []
        streaming = threading.Thread(target=lambda: results.append(user.send("chat", "a long one again")))
        streaming.start()
        time.sleep(0.6)
        status, body = other.send("chat", "at the same time, from B")
        assert status == 409 and "streaming" in body[0]["error"]
        # A withdrawal on B while A streams: the turn is not stored, and the session shows nothing.
        assert other.withdraw().status_code == 200
        streaming.join(timeout=30)
        assert results[0][0] == 200 and results[0][1][-1]["saved"] is False
        stored = [json.loads(s)["messages"][-2][1] for (s,) in _rows(service_a, "SELECT state FROM snapshots")]
        assert stored == ["a long one, please"]
        assert _at(user, a).send("chat", "after withdrawing")[0] == 403


def test_a_rate_limit_and_the_session_cap_hold_across_processes(db):
    with FakeLLM(chat_by_model=_answer) as upstream, \
            _two_services(db, upstream.url, limits={"rate_per_minute": 4, "max_sessions_per_user": 3}) as (
                (a, b), (service_a, service_b)):
        user = User(a, "198.51.100.22")
        user.accept()
        codes = [_at(user, (a, b)[i % 2]).send("chat", f"message {i}")[0] for i in range(6)]
        assert codes == [200, 200, 200, 200, 429, 429]  # 4 a minute in all, not 4 per process

        for i in range(10):  # cookie-less requests from one address, to both processes
            httpx.get(f"{(a, b)[i % 2]}/terms", headers={"X-Forwarded-For": "198.51.100.23"})
        owners = _rows(service_b, "SELECT user_id, COUNT(*) FROM sessions GROUP BY user_id")
        assert sorted(n for _, n in owners) == [1, 3]  # the user's own session, and the bot's newest 3
        assert len(service_a.sessions) == len(service_b.sessions) == 4


def test_concurrent_turns_of_one_session_one_wins(db):
    """The same session's send reaching both processes at once: one turn streams, the other is refused;
    the stored conversation has each turn once."""
    with FakeLLM(chat_by_model=_answer, stream_delay_s=0.02) as upstream, \
            _two_services(db, upstream.url) as ((a, b), (service_a, _)):
        user = User(a, "198.51.100.24")
        user.accept()
        twin = User(b, "198.51.100.24", same_browser=user)
        twin.http.cookies.set("chatsift_sid", user.http.cookies["chatsift_sid"])
        twin.csrf = user.csrf
        for round_ in range(5):
            results: dict = {}

            def send(key: str, tab: User, text: str, results: dict = results) -> None:
                results[key] = tab.send("chat", text)

            threads = [threading.Thread(target=send, args=(k, u, f"{k} {round_}"))
                       for k, u in (("a", user), ("b", twin))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            codes = sorted(status for status, _ in results.values())
            assert codes == [200, 409], results
        (state,) = _rows(service_a, "SELECT state FROM snapshots ORDER BY seq DESC LIMIT 1")[0]
        messages = json.loads(state)["messages"]
        assert len(messages) == 10 and [r for r, _ in messages] == ["user", "assistant"] * 5


def _stat(pid: int | str) -> list[str] | None:
    """/proc/PID/stat after the command name (state, parent, ...), or None for a process that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _tree(pid: int) -> set[int]:
    """The process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        todo += children.get(p, [])
    return found


def test_serve_with_workers_runs_a_process_tree_that_shares_one_store(tmp_path):
    import yaml

    db = f"sqlite:///{tmp_path / 'chat.db'}"
    with FakeLLM(chat_by_model=_answer) as upstream:
        config = tmp_path / "serve.yaml"
        config.write_text(yaml.safe_dump(settings_dict(db, upstream.url)), encoding="utf-8")
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "chatsift.cli.main", "serve", "-c", str(config), "--port",
                                 str(port), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env={**os.environ, "CHATSIFT_SERVE_SECRET": SECRET})
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.2)
            assert len(_tree(proc.pid)) >= 3  # the supervisor and its two workers

            def one(i: int) -> list:
                user = User(base, f"198.51.100.{100 + i}")
                user.accept()
                out = []
                for r in range(3):
                    user.http.close()  # a new connection each time: the kernel hands it to either worker
                    user.http = httpx.Client(base_url=base, headers={"X-Forwarded-For": user.address},
                                             cookies=user.http.cookies, timeout=30)
                    out.append(user.send("chat", f"user {i} turn {r}")[0])
                    out.append(user.vote("chat", "upvote").status_code)
                return out

            results: list = []
            threads = [threading.Thread(target=lambda i=i: results.append(one(i))) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert results == [[200] * 6] * 8
            tree = _tree(proc.pid)
            proc.send_signal(signal.SIGTERM)  # what systemd and Docker send: every worker goes
            proc.wait(timeout=30)
            time.sleep(0.5)
            assert not [p for p in tree if (_stat(p) or ["Z"])[0] != "Z"]  # none left running
        finally:
            if proc.poll() is None:
                proc.kill()
    from chatsift.chatstore.store import open_store

    store = open_store(db, migrate=False)
    with store.tx(write=False) as cur:
        assert cur.one("SELECT COUNT(*), COUNT(DISTINCT conv_id) FROM snapshots") == (24, 8)
        assert cur.one("SELECT COUNT(*) FROM votes")[0] == 24
    store.close()
