"""The chat service's store: SQLite in WAL mode (embedded, the default) or PostgreSQL, one schema.

``open_store("sqlite:///chat.db")`` / ``open_store("postgresql://user@host/db")``. Every write is one
transaction, so a request that fails (or a server killed mid-answer) leaves nothing half-written:
a snapshot is stored whole when its answer is finished, or not at all. A locked store and a full
disk become ``StoreBusy`` / ``StoreFull`` (one line each, which the service turns into a 503/507).

``export_records`` reads the store back as FastChat ``*-conv.json`` records (``chat`` snapshots and
vote records, ordered by time), leaving out everything a user had stored before withdrawing consent.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from chatsift.chatstore.migrations import LATEST, MIGRATIONS, statements
from chatsift.errors import ChatsiftError

STORE_SCHEMES = ("sqlite://", "postgresql://", "postgres://")


class StoreError(ChatsiftError):
    """The store cannot be used; the message says what to check."""


class StoreBusy(StoreError):
    """Another writer holds the store past the wait (or the database server is gone)."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full."""


class Duplicate(StoreError):
    """A row that must be unique (a second vote on one battle) already exists."""


class NoConsent(StoreError):
    """The user's latest consent is not an acceptance: nothing of theirs may be stored."""


def for_users(exc: StoreError) -> tuple[int, str]:
    """The HTTP status and the sentence a user sees when the store refuses a write."""
    if isinstance(exc, StoreFull):
        return 507, "the service cannot store anything right now (its disk is full); nothing was saved"
    if isinstance(exc, StoreBusy):
        return 503, "the service is busy; nothing was saved, try again in a moment"
    if isinstance(exc, NoConsent):
        return 403, "your consent is withdrawn: nothing was saved (accept the terms on /terms to go on)"
    return 503, "the service cannot reach its store; nothing was saved"


def is_store_url(text: str) -> bool:
    return str(text).startswith(STORE_SCHEMES)


def sqlite_path(url: str) -> Path:
    """``sqlite:///chat.db`` -> ``chat.db`` (relative); ``sqlite:////abs/chat.db`` -> ``/abs/chat.db``."""
    rest = url[len("sqlite://"):]
    if not rest.startswith("/") or len(rest) < 2:
        raise StoreError(f"{url}: a SQLite store is sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return Path(rest[1:])


def store_label(url: str) -> str:
    """The store URL without a password, for messages."""
    if url.startswith("sqlite://"):
        return url
    head, _, tail = url.partition("://")
    auth, at, host = tail.rpartition("@")
    return f"{head}://{auth.split(':')[0] + '@' if at else ''}{host}"


def open_store(url: str, *, migrate: bool = True, busy_timeout_s: float = 5.0, sqlite_pragmas: tuple = ()) -> Store:
    store = Store(url, busy_timeout_s=busy_timeout_s, sqlite_pragmas=sqlite_pragmas)
    if migrate:
        store.migrate()
    return store


class Store:
    """Thread-safe: each thread gets its own connection (the service's worker threads, a test's threads)."""

    def __init__(self, url: str, *, busy_timeout_s: float = 5.0, sqlite_pragmas: tuple = ()) -> None:
        if url.startswith("sqlite://"):
            self.dialect = "sqlite"
            self.path = sqlite_path(url)
            if not self.path.parent.exists():
                raise StoreError(f"{url}: the folder {self.path.parent} does not exist")
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise StoreError("a PostgreSQL store needs psycopg: pip install 'chatsift[serve]'") from None
        else:
            raise StoreError(f"{url}: not a store URL (sqlite:///chat.db or postgresql://user@host/db)")
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        self.sqlite_pragmas = sqlite_pragmas
        self._local = threading.local()
        self._all: list = []
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return store_label(self.url)

    # ------------------------------------------------------------ connections and transactions

    def _connect(self):
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # in WAL mode a process kill loses no commit
            conn.execute("PRAGMA foreign_keys=ON")
            for pragma in self.sqlite_pragmas:
                conn.execute(f"PRAGMA {pragma}")
            return conn
        import psycopg

        try:
            conn = psycopg.connect(self.url, connect_timeout=10, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreBusy(f"cannot connect to {self.label}: {str(exc).strip().splitlines()[0][:200]}") from None
        conn.execute(f"SET lock_timeout = {int(self.busy_timeout_s * 1000)}")
        return conn

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or (self.dialect == "postgresql" and conn.closed):
            conn = self._local.conn = self._connect()
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def tx(self, write: bool = True, *, atomic: bool = True) -> Iterator[_Cursor]:
        """One transaction; errors are mapped to the store's exceptions and roll everything back.
        ``atomic=False``: no transaction around the statements, each one commits on its own (for a
        single statement, which is atomic by itself: one round trip instead of three on PostgreSQL)."""
        conn = self._conn()
        try:
            if not atomic:
                yield _Cursor(conn.cursor(), self.dialect)
            elif self.dialect == "sqlite":
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                cur = _Cursor(conn.cursor(), self.dialect)
                try:
                    yield cur
                except BaseException:
                    if conn.in_transaction:  # SQLite has rolled back itself after some errors (a full disk)
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    yield _Cursor(conn.cursor(), self.dialect)
        except (sqlite3.Error, Exception) as exc:
            mapped = self._mapped(exc)
            if mapped is None:
                raise
            if self.dialect == "postgresql" and conn.closed:
                self._local.conn = None
            raise mapped from None

    def _mapped(self, exc: BaseException) -> StoreError | None:
        if isinstance(exc, StoreError):
            return None
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, sqlite3.IntegrityError):
            return Duplicate(text)
        if isinstance(exc, sqlite3.OperationalError):
            if "locked" in text or "busy" in text:
                return StoreBusy(f"{self.label} is locked by another writer ({text}); try again")
            if "full" in text:
                return StoreFull(f"{self.label} is full ({text}); free disk space")
            return StoreError(f"{self.label}: {text}")
        if self.dialect == "postgresql":
            import psycopg
            from psycopg import errors

            if isinstance(exc, errors.UniqueViolation):
                return Duplicate(text)
            if isinstance(exc, (errors.DiskFull, errors.OutOfMemory, errors.ProgramLimitExceeded)):
                return StoreFull(f"{self.label} is full ({text})")
            if isinstance(exc, (errors.LockNotAvailable, errors.QueryCanceled, errors.DeadlockDetected,
                                psycopg.OperationalError)):
                return StoreBusy(f"{self.label} is busy or unreachable ({text}); try again")
            if isinstance(exc, psycopg.Error):
                return StoreError(f"{self.label}: {text}")
        return None

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(Exception):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # ------------------------------------------------------------ schema

    def version(self) -> int:
        with self.tx(write=False) as cur:
            if not cur.table_exists("schema_migrations"):
                return 0
            row = cur.one("SELECT MAX(version) FROM schema_migrations")
            return int(row[0] or 0)

    def migrate(self) -> list[int]:
        """Apply the migrations this store lacks, each in its own transaction; returns those applied."""
        applied = []
        with self.tx() as cur:
            if self.dialect == "postgresql":  # one migrator at a time across processes
                cur.run("SELECT pg_advisory_xact_lock(424242)")
            if not cur.table_exists("schema_migrations"):
                cur.run("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                        "applied_at DOUBLE PRECISION NOT NULL)")
            current = int(cur.one("SELECT MAX(version) FROM schema_migrations")[0] or 0)
        if current > LATEST:
            raise StoreError(f"{self.label} has schema version {current}, newer than this chatsift knows "
                             f"({LATEST}); upgrade chatsift")
        for number, name, _ in MIGRATIONS:
            if number <= current:
                continue
            with self.tx() as cur:
                if self.dialect == "postgresql":
                    cur.run("SELECT pg_advisory_xact_lock(424242)")
                    if cur.one("SELECT 1 FROM schema_migrations WHERE version = ?", (number,)):
                        continue  # another process applied it meanwhile
                for sql in statements(number, self.dialect):
                    cur.run(sql)
                cur.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        (number, name, time.time()))
            applied.append(number)
        return applied

    # ------------------------------------------------------------ writes

    def add_snapshot(self, **snapshot) -> int:
        """Store one finished answer's full conversation state; returns its ``seq``."""
        return self.add_snapshots([snapshot])[0]

    def add_snapshots(self, snapshots: list[dict], battle: dict | None = None, then=None) -> list[int]:
        """A turn's snapshots in one transaction (a battle's two sides, and the battle row the first
        time), so a battle is never stored one-sided; ``then(cursor)`` writes more in the same one (the
        session's state after the turn)."""
        seqs = []
        with self.tx() as cur:
            for browser in {s.get("browser") or s["user_id"] for s in snapshots}:
                _require_consent(cur, browser)
            if battle is not None:
                cur.run("INSERT INTO battles (battle_id, user_id, anony, model_a, model_b, conv_a, conv_b, created) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (battle_id) DO NOTHING",
                        (battle["battle_id"], battle["user_id"], int(battle["anony"]), battle["model_a"],
                         battle["model_b"], battle["conv_a"], battle["conv_b"], battle["created"]))
            for s in snapshots:
                seq = int(cur.one("SELECT COALESCE(MAX(seq), 0) + 1 FROM snapshots WHERE conv_id = ?",
                                  (s["conv_id"],))[0])
                cur.run("INSERT INTO snapshots (conv_id, seq, user_id, model, mode, battle_id, tstamp, "
                        "start_tstamp, finish_reason, state, gen_params, browser) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (s["conv_id"], seq, s["user_id"], s["model"], s["mode"], s.get("battle_id"), s["tstamp"],
                         s.get("start_tstamp"), s["finish_reason"], orjson.dumps(s["state"]).decode(),
                         orjson.dumps(s["gen_params"]).decode(), s.get("browser")))
                seqs.append(seq)
            if then is not None:
                then(cur)
        return seqs

    def add_vote(self, *, vote_key: str, kind: str, user_id: str, tstamp: float, counted: bool,
                 not_counted: str | None, record: dict, battle_id: str | None = None, conv_id: str | None = None,
                 seq: int | None = None, browser: str | None = None) -> None:
        """One vote; a second one with the same key raises ``Duplicate`` and changes nothing."""
        with self.tx() as cur:
            _require_consent(cur, browser or user_id)
            cur.run("INSERT INTO votes (vote_key, kind, user_id, battle_id, conv_id, seq, tstamp, counted, "
                    "not_counted, record, browser) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (vote_key, kind, user_id, battle_id, conv_id, seq, tstamp, int(counted), not_counted,
                     orjson.dumps(record).decode(), browser))
            if battle_id:
                cur.run("UPDATE battles SET revealed = ? WHERE battle_id = ? AND revealed IS NULL",
                        (tstamp, battle_id))

    def add_consent(self, user_id: str, action: str, terms_version: str, tstamp: float) -> None:
        with self.tx() as cur:
            cur.run("INSERT INTO consents (user_id, action, terms_version, tstamp) VALUES (?, ?, ?, ?)",
                    (user_id, action, terms_version, tstamp))

    def add_event(self, kind: str, detail: str, model: str | None = None) -> None:
        """An error, block or refusal for the admin page; never fails the request that caused it."""
        with contextlib.suppress(StoreError), self.tx() as cur:
            cur.run("INSERT INTO events (tstamp, kind, model, detail) VALUES (?, ?, ?, ?)",
                    (time.time(), kind, model, detail[:500]))

    # ------------------------------------------------------------ reads

    def consent(self, user_id: str) -> tuple[str, str, float] | None:
        """The user's latest (action, terms version, time), or None."""
        with self.tx(write=False, atomic=False) as cur:
            row = cur.one("SELECT action, terms_version, tstamp FROM consents WHERE user_id = ? "
                          "ORDER BY tstamp DESC, id DESC LIMIT 1", (user_id,))
        return None if row is None else (row[0], row[1], float(row[2]))

    def battle(self, battle_id: str) -> dict | None:
        with self.tx(write=False, atomic=False) as cur:
            row = cur.one("SELECT battle_id, user_id, anony, model_a, model_b, conv_a, conv_b, created, revealed "
                          "FROM battles WHERE battle_id = ?", (battle_id,))
        keys = ("battle_id", "user_id", "anony", "model_a", "model_b", "conv_a", "conv_b", "created", "revealed")
        return None if row is None else dict(zip(keys, row))

    def counted_battles(self) -> list[tuple[str, str, str]]:
        """(model_a, model_b, vote kind) of every arena vote that counts for the leaderboard."""
        with self.tx(write=False) as cur:
            return [(a, b, k) for a, b, k in cur.all(
                "SELECT b.model_a, b.model_b, v.kind FROM votes v JOIN battles b ON b.battle_id = v.battle_id "
                "WHERE v.counted = 1 ORDER BY v.id")]

    def summary(self) -> dict:
        """Traffic per model, votes and recent errors, for the admin page."""
        with self.tx(write=False) as cur:
            models = cur.all("SELECT model, COUNT(DISTINCT conv_id), COUNT(*), "
                             "SUM(CASE WHEN finish_reason = 'error' THEN 1 ELSE 0 END) FROM snapshots "
                             "GROUP BY model ORDER BY COUNT(*) DESC")
            votes = cur.all("SELECT kind, counted, COUNT(*) FROM votes GROUP BY kind, counted ORDER BY kind")
            events = cur.all("SELECT kind, COUNT(*) FROM events GROUP BY kind ORDER BY COUNT(*) DESC")
            recent = cur.all("SELECT tstamp, kind, model, detail FROM events ORDER BY id DESC LIMIT 50")
            users = cur.one("SELECT COUNT(DISTINCT user_id) FROM snapshots")[0]
            consents = cur.all("SELECT action, COUNT(*) FROM consents GROUP BY action")
        return {"models": [{"model": m, "conversations": c, "answers": n, "errors": int(e or 0)}
                           for m, c, n, e in models],
                "votes": [{"kind": k, "counted": bool(c), "n": n} for k, c, n in votes],
                "events": dict(events), "recent_events": [
                    {"tstamp": t, "kind": k, "model": m, "detail": d} for t, k, m, d in recent],
                "users": int(users or 0), "consents": dict(consents)}

    def export_records(self, since: float | None = None) -> Iterator[dict]:
        """FastChat log records, oldest first; a withdrawn user's earlier rows are left out, and so is every
        snapshot of a conversation that began before the withdrawal (its state holds the earlier turns)."""
        since = float(since or 0.0)
        with self.tx(write=False) as cur:
            withdrawn = dict(cur.all("SELECT user_id, MAX(tstamp) FROM consents WHERE action = 'withdraw' "
                                     "GROUP BY user_id"))
            snaps = cur.all("SELECT tstamp, model, user_id, mode, start_tstamp, finish_reason, state, gen_params, "
                            "conv_id, COALESCE(browser, user_id) FROM snapshots WHERE tstamp >= ? ORDER BY tstamp, id",
                            (since,))
            began = dict(cur.all("SELECT conv_id, MIN(COALESCE(start_tstamp, tstamp)) FROM snapshots "
                                 "GROUP BY conv_id"))
            votes = cur.all("SELECT tstamp, user_id, counted, not_counted, record, COALESCE(browser, user_id) "
                            "FROM votes WHERE tstamp >= ? ORDER BY tstamp, id", (since,))

        def kept(browser: str, tstamp: float) -> bool:  # consent is keyed by browser (see migrations)
            return browser not in withdrawn or tstamp > withdrawn[browser]

        records = []
        for tstamp, model, user_id, mode, start, finish_reason, state, params, conv_id, browser in snaps:
            if kept(browser, tstamp) and kept(browser, float(began.get(conv_id, tstamp))):
                records.append({"tstamp": tstamp, "type": "chat", "model": model, "mode": mode,
                                "gen_params": orjson.loads(params), "start": start, "finish": tstamp,
                                "finish_reason": finish_reason, "state": orjson.loads(state), "ip": user_id})
        for tstamp, user_id, counted, not_counted, record, browser in votes:
            if kept(browser, tstamp):
                rec = orjson.loads(record)
                rec.update({"tstamp": tstamp, "ip": user_id, "counted": bool(counted)})
                if not_counted:
                    rec["not_counted"] = not_counted
                records.append(rec)
        records.sort(key=lambda r: r["tstamp"])
        yield from records


class _Cursor:
    """A DB-API cursor that takes ``?`` placeholders on both dialects."""

    def __init__(self, cursor, dialect: str) -> None:
        self.cursor = cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    def run(self, sql: str, params: tuple = ()) -> None:
        self.cursor.execute(self._sql(sql), params)

    def one(self, sql: str, params: tuple = ()):
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.fetchone()

    def all(self, sql: str, params: tuple = ()) -> list:
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.fetchall()

    def changed(self, sql: str, params: tuple = ()) -> int:
        """Run an UPDATE or DELETE; the number of rows it changed."""
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.rowcount

    def table_exists(self, name: str) -> bool:
        if self.dialect == "sqlite":
            return self.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None
        return self.one("SELECT to_regclass(?)", (name,))[0] is not None


def _require_consent(cur, user_id: str) -> None:
    """Inside the writing transaction, so that a withdrawal from another tab or request that committed
    first always wins: after it, nothing of the user is stored."""
    row = cur.one("SELECT action FROM consents WHERE user_id = ? ORDER BY tstamp DESC, id DESC LIMIT 1", (user_id,))
    if row is None or row[0] != "accept":
        raise NoConsent("consent was withdrawn (or never given): nothing of this user is stored")
