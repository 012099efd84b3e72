"""The on-disk response cache: every answered request, keyed by endpoint, model and request body.

One SQLite file (WAL, so curate's worker processes can share it). A rerun of any LLM command finds
its answers here and pays nothing for them; a run that stopped half-way resumes from what is stored.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import orjson

from chatsift.common.cache import cache_root


def default_cache_dir() -> Path:
    return cache_root() / "llm"


def request_key(base_url: str, model: str, path: str, body: dict) -> str:
    payload = orjson.dumps([base_url.rstrip("/"), model, path, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


class ResponseCache:
    """``get(key)`` / ``put(key, response)`` over ``<dir>/responses.sqlite``."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.path = self.directory / "responses.sqlite"
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response BLOB NOT NULL)")
            self._local.db = db
        return db

    def get(self, key: str) -> dict | None:
        row = self._db().execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def put(self, key: str, response: dict) -> None:
        self._db().execute("INSERT OR REPLACE INTO responses (key, response) VALUES (?, ?)",
                           (key, orjson.dumps(response)))

    def __len__(self) -> int:
        return self._db().execute("SELECT count(*) FROM responses").fetchone()[0]

    def __getstate__(self) -> dict:
        return {"directory": self.directory, "path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
