"""Queries over the explorer index: full-text search with filters, one conversation, facets."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np

PAGE = 25
_WORD = re.compile(r"[\w'-]+", re.UNICODE)
# Snippet markers that cannot occur in text, swapped for <mark> after escaping.
_OPEN, _CLOSE = "\x02", "\x03"


@dataclass
class Query:
    q: str = ""
    model: str = ""
    language: str = ""
    flagged: str = ""
    topic: int | None = None
    min_turns: int | None = None
    max_turns: int | None = None
    redacted: str = ""  # "", "yes", "no"
    group: str = ""
    sort: str = "relevance"  # or "order" (release order, fastest)
    page: int = 1
    exact: bool = False  # count every match instead of stopping at the cap


@dataclass
class Hit:
    conversation_id: str
    model: str | None
    language: str | None
    turn: int
    redacted: bool
    flagged: list[str]
    topic: int | None
    exact_size: int | None
    snippet_html: str  # escaped text with <mark> around matches


@dataclass
class Results:
    hits: list[Hit]
    total: int  # capped at cap + 1
    cap: int
    page: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def fts_expression(q: str) -> str:
    """User text to a safe FTS5 query: every word quoted (no operators), all words required."""
    words = _WORD.findall(q)
    return " ".join('"' + w.replace('"', '""') + '"' for w in words[:12])


class Searcher:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._con.execute("PRAGMA cache_size = -65536")
        self.meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        self._map_points: bytes | None = None
        self._map_rows_cache: tuple[np.ndarray, np.ndarray] | None = None

    def close(self) -> None:
        self._con.close()

    @staticmethod
    def _filters(query: Query) -> tuple[list[str], list]:
        """The filter conditions on ``conv c`` (everything but the words), shared by search and the map."""
        where, params = [], []
        for column, value in (("model", query.model), ("language", query.language), ("exact_group", query.group)):
            if value:
                where.append(f"c.{column} = ?")
                params.append(value)
        if query.flagged:
            where.append("(',' || c.flagged || ',') LIKE ?")
            params.append(f"%,{query.flagged},%")
        if query.topic is not None:  # every topic of the conversation, not only its first prompt's
            where.append("c.id IN (SELECT conv FROM conv_topic WHERE topic = ?)")
            params.append(query.topic)
        if query.min_turns is not None:
            where.append("c.turn >= ?")
            params.append(query.min_turns)
        if query.max_turns is not None:
            where.append("c.turn <= ?")
            params.append(query.max_turns)
        if query.redacted in ("yes", "no"):
            where.append("c.redacted = ?")
            params.append(1 if query.redacted == "yes" else 0)
        return where, params

    def search(self, query: Query, cap: int = 1000) -> Results:
        if query.exact:
            cap = 1 << 62
        expression = fts_expression(query.q)
        where, params = self._filters(query)
        offset = (max(query.page, 1) - 1) * PAGE
        if expression:
            base = "FROM fts JOIN conv c ON c.id = fts.rowid WHERE fts MATCH ?"
            args = [expression, *params]
            cond = "".join(f" AND {w}" for w in where)
            order = "ORDER BY fts.rank" if query.sort == "relevance" else "ORDER BY c.id"
            select = (f"SELECT c.conversation_id, c.model, c.language, c.turn, c.redacted, c.flagged, c.topic, "
                      f"c.exact_size, snippet(fts, 0, '{_OPEN}', '{_CLOSE}', ' … ', 24) {base}{cond}")
        else:
            base = "FROM conv c"
            args = list(params)
            cond = (" WHERE " + " AND ".join(where)) if where else ""
            order = "ORDER BY c.id"
            select = (f"SELECT c.conversation_id, c.model, c.language, c.turn, c.redacted, c.flagged, c.topic, "
                      f"c.exact_size, c.preview {base}{cond}")
        rows = self._con.execute(f"{select} {order} LIMIT {PAGE} OFFSET {offset}", args).fetchall()
        counted = f"SELECT count(*) FROM (SELECT 1 {base}{cond} LIMIT {cap + 1})"
        total = self._con.execute(counted, args).fetchall()[0][0]
        hits = [Hit(r[0], r[1], r[2], r[3] or 0, bool(r[4]), [f for f in (r[5] or "").split(",") if f], r[6], r[7],
                    _highlight(r[8] or "")) for r in rows]
        return Results(hits, total, cap, max(query.page, 1))

    def conversation(self, conversation_id: str) -> dict | None:
        row = self._con.execute(
            "SELECT conversation_id, model, language, turn, redacted, flagged, topic, exact_group, exact_size, body "
            "FROM conv WHERE conversation_id = ? ORDER BY id LIMIT 1", (conversation_id,)).fetchone()
        if row is None:
            return None
        keys = ["conversation_id", "model", "language", "turn", "redacted", "flagged", "topic", "exact_group",
                "exact_size"]
        out = dict(zip(keys, row[:-1]))
        out["flagged"] = [f for f in (out["flagged"] or "").split(",") if f]
        out["messages"] = json.loads(row[-1])
        return out

    def map_points(self) -> bytes:
        """Every map point as little-endian arrays: uint32 idx, float32 x, float32 y, uint16 topic (n each).
        Made once (under a second for 200,000 points) and kept: the index is read-only."""
        if self._map_points is None:
            rows = self._con.execute("SELECT idx, x, y, topic FROM map_point ORDER BY idx").fetchall()
            columns = [np.array(column) for column in zip(*rows)] if rows else []
            self._map_points = b"".join(c.astype(t).tobytes() for c, t in zip(columns, ("<u4", "<f4", "<f4", "<u2")))
        return self._map_points

    def map_matches(self, query: Query) -> bytes:
        """The idx of every map point whose conversation matches the query (words and filters), uint32.

        The words' matches are read from FTS5 as one rowid list and intersected with the points' rows
        in numpy: an SQL ``IN`` over the hundreds of thousands of rows a common word matches was about
        six times slower."""
        where, params = self._filters(query)
        if where:
            rows = self._con.execute("SELECT p.idx, p.conv FROM map_point p JOIN conv c ON c.id = p.conv WHERE "
                                     + " AND ".join(where) + " ORDER BY p.idx", params).fetchall()
            idx = np.array([r[0] for r in rows], dtype=np.int64)
            conv = np.array([r[1] for r in rows], dtype=np.int64)
        else:
            idx, conv = self._map_rows()
        expression = fts_expression(query.q)
        if expression:
            matched = np.fromiter((r[0] for r in self._con.execute("SELECT rowid FROM fts WHERE fts MATCH ?",
                                                                   (expression,))), dtype=np.int64)
            idx = idx[np.isin(conv, matched)]
        return idx.astype("<u4").tobytes()

    def _map_rows(self) -> tuple[np.ndarray, np.ndarray]:
        if self._map_rows_cache is None:
            rows = self._con.execute("SELECT idx, conv FROM map_point ORDER BY idx").fetchall()
            self._map_rows_cache = (np.array([r[0] for r in rows], dtype=np.int64),
                                    np.array([r[1] for r in rows], dtype=np.int64))
        return self._map_rows_cache

    def map_point(self, idx: int) -> dict | None:
        row = self._con.execute(
            "SELECT p.idx, p.topic, p.preview, c.conversation_id, c.model, c.language, c.turn FROM map_point p "
            "JOIN conv c ON c.id = p.conv WHERE p.idx = ?", (idx,)).fetchone()
        if row is None:
            return None
        return dict(zip(["idx", "topic", "prompt", "conversation_id", "model", "language", "turn"], row))

    def map_topics(self) -> list[tuple[int, int]]:
        """(topic, points) on the map, largest first."""
        return self._con.execute("SELECT topic, count(*) n FROM map_point GROUP BY 1 ORDER BY n DESC, 1").fetchall()

    def facets(self) -> dict[str, list[tuple[str, int]]]:
        out = {}
        for column in ("model", "language", "topic"):
            out[column] = [(str(v), n) for v, n in self._con.execute(
                f"SELECT {column}, count(*) n FROM conv WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY n DESC LIMIT 60"
            ).fetchall()]
        return out


def _highlight(snippet: str) -> str:
    return escape(snippet).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
