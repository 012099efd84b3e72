"""Limits per key over any 60 s, kept in the store so that they hold across serving processes: the
messages a user may send, the wrong admin tokens an address may try.

Keys are already keyed hashes (``identity.user_id``), never addresses. Rows older than the window are
not counted, and are deleted now and then by whichever request comes.
"""

from __future__ import annotations

import random
import time

WINDOW_S = 60.0


class MinuteWindow:
    """At most ``per_minute`` events per key in any 60 s. ``wait(key)`` is 0 or the seconds until one
    more is allowed; ``add(key)`` counts one; ``retry_after(key)`` does both at once."""

    def __init__(self, store, per_minute: int, kind: str) -> None:
        self.store = store
        self.per_minute = per_minute
        self.kind = kind  # keeps one limit's keys apart from another's

    def _wait(self, cur, key: str, now: float) -> float:
        if cur.dialect == "postgresql":  # one counter per key at a time, across processes
            cur.run("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))
        count, oldest = cur.one("SELECT COUNT(*), MIN(tstamp) FROM rate_events WHERE key = ? AND tstamp > ?",
                                (key, now - WINDOW_S))
        return WINDOW_S - (now - float(oldest)) if int(count) >= self.per_minute else 0.0

    @staticmethod
    def _count(cur, key: str, now: float) -> None:
        cur.run("INSERT INTO rate_events (key, tstamp) VALUES (?, ?)", (key, now))
        if random.random() < 0.01:  # rows out of the window, swept now and then (the count skips them)
            cur.run("DELETE FROM rate_events WHERE tstamp <= ?", (now - WINDOW_S,))

    def wait(self, key: str) -> float:
        with self.store.tx() as cur:
            return self._wait(cur, f"{self.kind}:{key}", time.time())

    def add(self, key: str) -> None:
        with self.store.tx() as cur:
            self._count(cur, f"{self.kind}:{key}", time.time())

    def retry_after(self, key: str) -> float:
        """0 when one more is allowed now (and it is counted), else seconds to wait."""
        key, now = f"{self.kind}:{key}", time.time()
        with self.store.tx() as cur:
            wait = self._wait(cur, key, now)
            if not wait:
                self._count(cur, key, now)
        return wait
