"""The explorer's search index: SQLite with FTS5 (built into Python), made once from a release.

One row per conversation with the filter columns (model, language, turns, redacted, flagged
categories, topic, exact-duplicate group) and the conversation as JSON; an FTS5 table holds its text
for full-text search. SQLite needs no server and no download, and FTS5 answers keyword queries over
millions of rows in milliseconds.

``map_point`` holds the topic map's prompts for the interactive map: the 2-D coordinates written
by ``chatsift topics``, the topic, the conversation's row and the prompt's first 300 characters.
Prompts of clusters under the privacy threshold are left out; past ``MAP_POINTS`` a seeded uniform
sample is kept (so topic shares stay as they are).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chatsift.analysis.stats import PARENT_CATEGORIES

SCHEMA_VERSION = 4
MAP_POINTS = 200_000  # drawn in the browser in a few milliseconds; a larger topic map is sampled down to this
# The snippet markers of search.py; removed from indexed text so that user text can never unbalance <mark>.
_MARKERS = str.maketrans("", "", "\x02\x03")
BATCH = 5000


def index_path(release: Path) -> Path:
    return release / ".explore" / "index.sqlite"


def _flagged(moderation: list | None) -> str:
    if not moderation:
        return ""
    found = []
    for parent, cats in PARENT_CATEGORIES.items():
        if any(m and m.get("categories") and any((m["categories"] or {}).get(c) for c in cats) for m in moderation):
            found.append(parent)
    return ",".join(found)


def _topics(release: Path) -> dict[str, list[int]]:
    """Every topic of each conversation (one per clustered prompt), first prompt's first."""
    path = release / "topics" / "assignments.parquet"
    if not path.exists():
        return {}
    t = pq.read_table(path, columns=["conversation_id", "cluster"])
    out: dict[str, list[int]] = {}
    for cid, cluster in zip(t.column("conversation_id").to_pylist(), t.column("cluster").to_pylist()):
        topics = out.setdefault(cid, [])
        if cluster + 1 not in topics:
            topics.append(cluster + 1)  # topics are numbered from 1 in pages, as in the report
    return out


def _map_points(release: Path, seed: int = 42) -> dict[str, list[tuple[int, int, float, float, int]]]:
    """conversation_id -> [(point, message, x, y, topic)] for the map; empty without a projected topic map."""
    path, clusters_file = release / "topics" / "assignments.parquet", release / "topics" / "clusters.json"
    if not path.exists() or not clusters_file.exists() or not {"x", "y"} <= set(pq.read_schema(path).names):
        return {}
    private = {c["cluster"] for c in json.loads(clusters_file.read_text(encoding="utf-8"))["clusters"] if c["private"]}
    t = pq.read_table(path, columns=["conversation_id", "message", "cluster", "x", "y"])
    cluster = t.column("cluster").to_numpy()
    keep = np.flatnonzero(~np.isin(cluster, list(private)))
    if len(keep) > MAP_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(keep, size=MAP_POINTS, replace=False))
    ids, messages = t.column("conversation_id").to_pylist(), t.column("message").to_numpy()
    xs, ys = t.column("x").to_numpy(), t.column("y").to_numpy()
    out: dict[str, list] = {}
    for point, i in enumerate(keep):
        out.setdefault(ids[i], []).append((point, int(messages[i]), float(xs[i]), float(ys[i]), int(cluster[i]) + 1))
    return out


def build_index(release: Path, path: Path | None = None, progress: bool = False) -> Path:
    """(Re)build the index; written to a temporary file and moved into place when complete."""
    path = path or index_path(release)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    con.executescript("""
        PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE conv (id INTEGER PRIMARY KEY, conversation_id TEXT, model TEXT, language TEXT, turn INTEGER,
                           redacted INTEGER, flagged TEXT, topic INTEGER, exact_group TEXT, exact_size INTEGER,
                           preview TEXT, body TEXT);
        CREATE TABLE conv_topic (conv INTEGER, topic INTEGER);
        CREATE TABLE map_point (idx INTEGER PRIMARY KEY, conv INTEGER, topic INTEGER, x REAL, y REAL, preview TEXT);
        CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
    """)
    topics = _topics(release)
    points = _map_points(release)
    started = time.perf_counter()
    rowid = 0
    for shard in sorted((release / "data").glob("*.parquet")):
        pf = pq.ParquetFile(shard)
        names = set(pf.schema_arrow.names)
        cols = [c for c in ("conversation_id", "model", "language", "turn", "redacted", "openai_moderation",
                            "conversation", "dedup.exact_group", "dedup.exact_size") if c in names]
        for batch in pf.iter_batches(batch_size=BATCH, columns=cols):
            rows, texts, topic_rows, point_rows = [], [], [], []
            data = batch.to_pydict()
            moderation = data.get("openai_moderation")
            groups = data.get("dedup.exact_group")
            sizes = data.get("dedup.exact_size")
            for i in range(batch.num_rows):
                rowid += 1
                conv = data["conversation"][i] or []
                first_user = next((m["content"] for m in conv if m["role"] == "user" and m["content"]), "")
                cid = data["conversation_id"][i]
                mine = topics.get(cid) or []
                rows.append((rowid, cid, data["model"][i], data["language"][i], data["turn"][i],
                             int(bool(data["redacted"][i])), _flagged(moderation[i] if moderation else None),
                             mine[0] if mine else None, groups[i] if groups else None, sizes[i] if sizes else None,
                             (first_user or "")[:300].translate(_MARKERS), json.dumps(conv, ensure_ascii=False)))
                topic_rows.extend((rowid, t) for t in mine)
                for point, message, x, y, topic in points.pop(cid, ()):  # pop: a repeated id maps to its first row
                    prompt = conv[message]["content"] if message < len(conv) else ""
                    point_rows.append((point, rowid, topic, x, y, (prompt or "")[:300].translate(_MARKERS)))
                texts.append((rowid, "\n".join(m["content"] or "" for m in conv).translate(_MARKERS)))
            con.executemany("INSERT INTO conv VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            con.executemany("INSERT INTO fts(rowid, text) VALUES (?,?)", texts)
            con.executemany("INSERT INTO conv_topic VALUES (?,?)", topic_rows)
            con.executemany("INSERT INTO map_point VALUES (?,?,?,?,?,?)", point_rows)
            if progress:
                print(f"\rindexed {rowid:,} conversations", end="", flush=True)
    con.executescript("""
        CREATE INDEX conv_id ON conv(conversation_id);
        CREATE INDEX conv_model ON conv(model); CREATE INDEX conv_language ON conv(language);
        CREATE INDEX conv_topic_topic ON conv_topic(topic, conv); CREATE INDEX conv_turn ON conv(turn);
        CREATE INDEX conv_group ON conv(exact_group); CREATE INDEX conv_flagged ON conv(flagged);
        CREATE INDEX map_point_conv ON map_point(conv);
        INSERT INTO fts(fts) VALUES ('optimize');
    """)
    manifest = release / "manifest.json"
    con.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("schema_version", str(SCHEMA_VERSION)), ("conversations", str(rowid)),
        ("release_fingerprint", json.loads(manifest.read_text()).get("fingerprint", "") if manifest.exists() else ""),
        ("topics", str(len({t for ts in topics.values() for t in ts}))),
        ("map_points", str(con.execute("SELECT count(*) FROM map_point").fetchone()[0])),
        ("seconds", f"{time.perf_counter() - started:.1f}"),
    ])
    con.commit()
    con.close()
    if progress:
        print()
    tmp.replace(path)
    return path


def ensure_index(release: Path, rebuild: bool = False) -> Path:
    path = index_path(release)
    if rebuild or not path.exists() or _stale(release, path):
        build_index(release, path, progress=True)
    return path


def _stale(release: Path, path: Path) -> bool:
    try:
        con = sqlite3.connect(path)
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        con.close()
    except sqlite3.Error:
        return True
    manifest = release / "manifest.json"
    fingerprint = json.loads(manifest.read_text()).get("fingerprint", "") if manifest.exists() else ""
    topics_file = release / "topics" / "assignments.parquet"
    topics_newer = topics_file.exists() and topics_file.stat().st_mtime > path.stat().st_mtime
    return meta.get("schema_version") != str(SCHEMA_VERSION) or meta.get("release_fingerprint") != fingerprint \
        or topics_newer
