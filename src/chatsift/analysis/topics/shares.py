"""Topic shares by model, by language and by day: what each model is asked about, and how that moves.

A conversation counts under the topic of its first prompt in the topic map (as in the per-topic
leaderboards); a private topic (too few users to show) counts as "other". Days need the release's
``tstamp`` (kept with ``--keep-private``); without it there is no ``by_day``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from chatsift.analysis.stats import release_view

OTHER = "other"


def topic_shares(release: str | Path, assignments: pa.Table, clusters: list[dict], top: int = 12) -> dict:
    """``{"by_model": {model: {topic label: share}}, "by_language": ..., "by_day": ...}`` for the ``top``
    models and languages with most conversations."""
    label = {c["cluster"]: OTHER if c["private"] else f"{c['cluster'] + 1}. {c['label']}" for c in clusters}
    con = duckdb.connect()
    release_view(con, Path(release))
    columns = {r[0] for r in con.execute("DESCRIBE t").fetchall()}
    con.register("a", assignments.select(["conversation_id", "message", "cluster"]))
    con.execute("CREATE TEMP VIEW first_topic AS SELECT conversation_id, arg_min(cluster, message) AS cluster "
                "FROM a GROUP BY 1")
    out: dict = {"counted": "conversations, by the topic of their first prompt"}
    keys = [("by_model", "coalesce(nullif(t.model, ''), '(none)')"), ("by_language", "t.language")]
    if "tstamp" in columns:
        keys.append(("by_day", "CAST(CAST(to_timestamp(t.tstamp) AS DATE) AS VARCHAR)"))
    for name, expr in keys:
        rows = con.execute(
            f"SELECT {expr} AS k, f.cluster, count(*) FROM t JOIN first_topic f USING (conversation_id) "
            "GROUP BY 1, 2").fetchall()
        totals: dict = {}
        for key, _, n in rows:
            totals[key] = totals.get(key, 0) + n
        kept = sorted(totals, key=lambda k: (-totals[k], str(k)))
        if name != "by_day":
            kept = kept[:top]
        shares: dict = {}
        for key, cluster, n in rows:
            if key in kept:
                topic = label.get(cluster, OTHER)
                shares.setdefault(key, {})[topic] = shares.get(key, {}).get(topic, 0) + n / totals[key]
        out[name] = {str(k): dict(sorted(shares[k].items(), key=lambda x: -x[1])) for k in
                     (sorted(kept) if name == "by_day" else kept)}
    return out
