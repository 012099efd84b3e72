"""Helpers for the chat service's tests: stores of both kinds, a running service, simulated users.

PostgreSQL comes from ``$CHATSIFT_TEST_POSTGRES`` (an admin URL whose role may create databases;
``.ci/run`` starts a server and sets it). Each store is a new database, dropped afterwards. Without
a server the PostgreSQL cases skip, unless ``CHATSIFT_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets

import httpx
import pytest
from conftest import serving

PG_DEFAULT = "postgresql://chatsift:chatsift@127.0.0.1:5432/chatsift_test"
ANSWERS = {  # answers that name no model, so votes on them count
    "alpha": "Here is a detailed and careful answer: {q}. First, consider the facts; second, the reasons.",
    "beta": "Short reply about {q}.",
    "gamma": "Another view on {q}, in two sentences. That is all.",
}


def answer_for(messages: list[dict], model: str) -> str:
    question = (messages[-1]["content"] if messages else "")[:40]
    return ANSWERS.get(model, "An answer to {q}.").format(q=question)


def postgres_admin_url() -> str | None:
    url = os.environ.get("CHATSIFT_TEST_POSTGRES", PG_DEFAULT)
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception:
        return None


@contextlib.contextmanager
def store_url(kind: str, tmp_path):
    """A new, empty store of ``kind`` (sqlite or postgresql) for one test."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'chat.db'}"
        return
    admin = postgres_admin_url()
    if admin is None:
        if os.environ.get("CHATSIFT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"no PostgreSQL server at {os.environ.get('CHATSIFT_TEST_POSTGRES', PG_DEFAULT)}")
        pytest.skip("no PostgreSQL server (set CHATSIFT_TEST_POSTGRES; .ci/run starts one)")
    import psycopg

    name = f"chatsift_{secrets.token_hex(6)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def settings_dict(db: str, upstream: str, models=("alpha", "beta", "gamma"), **extra) -> dict:
    data = {"db": db, "models": [{"name": m, "endpoint": f"{upstream}:{m}", "max_tokens": 200} for m in models],
            "trusted_proxies": ["127.0.0.1/32"], "upstream_timeout_s": 5, "leaderboard_rounds": 50,
            "secret_file": None}
    data.update(extra)
    return data


@contextlib.contextmanager
def running(settings: dict, admin_token: str | None = None, **store_options):
    """The service on a loopback port: (base URL, service)."""
    from chatsift.chatstore.store import open_store
    from chatsift.serve import build_service
    from chatsift.serve.app import create_app
    from chatsift.serve.settings import settings_from_dict

    parsed = settings_from_dict(settings)
    store = open_store(parsed.db, **store_options)
    service = build_service(parsed, store=store)
    with serving(create_app(service, admin_token)) as base:
        yield base, service
    store.close()


class User:
    """One browser behind the trusted proxy, with its own address and cookies; ``same_browser``: another
    tab (or a later visit) of that user's browser, which shares its long-lived identity cookie."""

    def __init__(self, base: str, address: str, same_browser: User | None = None) -> None:
        self.address = address
        self.http = httpx.Client(base_url=base, headers={"X-Forwarded-For": address}, timeout=30)
        if same_browser is not None:
            self.http.cookies.set("chatsift_browser", same_browser.http.cookies["chatsift_browser"])
        self.csrf = ""

    def page(self, path: str = "/terms") -> httpx.Response:
        response = self.http.get(path)
        found = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def accept(self) -> httpx.Response:
        self.page("/terms")
        return self.http.post("/terms", data={"csrf": self.csrf, "accept": "yes", "next": "/"})

    def withdraw(self) -> httpx.Response:
        self.page("/terms")
        return self.http.post("/terms", data={"csrf": self.csrf, "action": "withdraw"})

    def post(self, path: str, body: dict, **headers) -> httpx.Response:
        return self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf, **headers})

    def send(self, mode: str, text: str, **body) -> tuple[int, list[dict]]:
        """(status, the stream's events, or [the error body])."""
        with self.http.stream("POST", "/api/send", json={"mode": mode, "text": text, **body},
                              headers={"X-CSRF-Token": self.csrf}) as response:
            if response.status_code != 200:
                response.read()
                return response.status_code, [response.json()]
            return 200, [json.loads(line) for line in response.iter_lines() if line]

    def send_and_stop(self, text: str, after: int, stopper: User | None = None) -> list[dict]:
        """Send a chat message and press stop (from ``stopper``: another tab, maybe on another process)
        once ``after`` events have come; the stream's events."""
        events: list[dict] = []
        with self.http.stream("POST", "/api/send", json={"mode": "chat", "text": text},
                              headers={"X-CSRF-Token": self.csrf}) as response:
            for line in response.iter_lines():
                events.append(json.loads(line))
                if len(events) == after:
                    stopped = (stopper or self).post("/api/stop", {"mode": "chat"}).json()
                    assert stopped == {"ok": True, "stopping": True}, stopped
        return events

    def vote(self, mode: str, kind: str, **body) -> httpx.Response:
        return self.post("/api/vote", {"mode": mode, "kind": kind, **body})

    def clear(self, mode: str) -> httpx.Response:
        return self.http.post("/clear", data={"csrf": self.csrf, "mode": mode})

    def close(self) -> None:
        self.http.close()


def answer_text(events: list[dict], side: int = 0) -> str:
    return "".join(e.get("delta", "") for e in events if e.get("side") == side)
