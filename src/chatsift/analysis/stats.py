"""Release statistics: the paper's Table 1, Table 2 and Table 4, and the distributions behind its figures.

Everything is one DuckDB query (or a few) over the release's Parquet shards, so a million
conversations take seconds and never load into memory at once. Token counts use a tokenizer of
choice (see ``tokenize.py``): the offline ``approx`` counter runs inside DuckDB; a Hugging Face
tokenizer streams the messages through Python in batches.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from chatsift.analysis.tokenize import APPROX_PATTERN, Tokenizer, get_tokenizer
from chatsift.errors import ReleaseError

# reference/paper.md, Table 1 (Llama-2 tokenizer; "-" where the paper gives none).
PAPER_TABLE1 = [
    {"dataset": "Anthropic HH", "conversations": 338_704, "models": 1, "users": 143, "languages": 1, "mean_turns": 2.3,
     "prompt_tokens": 18.9, "response_tokens": 78.9},
    {"dataset": "OpenAssistant", "conversations": 66_497, "models": None, "users": 13_500, "languages": 35,
     "mean_turns": None, "prompt_tokens": 36.9, "response_tokens": 214.2},
    {"dataset": "Chatbot Arena (33K)", "conversations": 33_000, "models": 20, "users": 13_383, "languages": 96,
     "mean_turns": 1.2, "prompt_tokens": 52.3, "response_tokens": 189.5},
    {"dataset": "LMSYS-Chat-1M", "conversations": 1_000_000, "models": 25, "users": 210_479, "languages": 154,
     "mean_turns": 2.0, "prompt_tokens": 69.5, "response_tokens": 214.5},
]
# reference/paper.md, Table 2: flagged conversations by category.
PAPER_TABLE2 = {"flagged": 54_427, "sexual": 33_968, "harassment": 21_167, "violence": 9_499, "hate": 3_591,
                "self-harm": 863}
# The five parent categories of Table 2 and the moderation-006 categories folded into each.
PARENT_CATEGORIES = {
    "sexual": ("sexual", "sexual/minors"),
    "harassment": ("harassment", "harassment/threatening"),
    "violence": ("violence", "violence/graphic"),
    "hate": ("hate", "hate/threatening"),
    "self-harm": ("self-harm", "self-harm/intent", "self-harm/instructions"),
}


def shards(release: Path) -> list[str]:
    files = sorted((Path(release) / "data").glob("*.parquet"))
    if not files:
        raise ReleaseError(f"{release} has no data/*.parquet shards")
    return [str(f) for f in files]


def release_view(con: duckdb.DuckDBPyConnection, release: Path, name: str = "t") -> None:
    """Register the release's shards as view ``name``. The paths go in as values, never as SQL text,
    so a folder named with quotes or SQL cannot change the query."""
    con.read_parquet(shards(release)).create_view(name)


def _columns(release: Path) -> set[str]:
    return set(pq.read_schema(next(iter(sorted((release / "data").glob("*.parquet"))))).names)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _flag(parent: str) -> str:
    """SQL: does any message carry one of ``parent``'s categories (or the overall flag)?"""
    cats = " OR ".join(f"coalesce(struct_extract(m.categories, '{c}'), false)" for c in PARENT_CATEGORIES[parent]) \
        if parent != "flagged" else "coalesce(m.flagged, false)"
    return f"coalesce(list_bool_or(list_transform(openai_moderation, lambda m: {cats})), false)"


def compute_stats(release: str | Path, tokenizer: str | Tokenizer = "approx", top_languages: int = 25,
                  threads: int | None = None) -> dict:
    """All statistics of a release as a JSON-able dict."""
    release = Path(release)
    cols = _columns(release)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads TO {int(threads)}")
    release_view(con, release)
    out: dict = {"release": str(release)}

    has_users = "user_id" in cols
    base = con.execute(
        # A model or language that is not named (null, "", "unknown") is not one more model or language.
        "SELECT count(*), count(DISTINCT nullif(model, '')), "
        "count(DISTINCT CASE WHEN language NOT IN ('', 'unknown', 'Unknown') THEN language END), avg(turn)"
        + (", count(DISTINCT user_id)" if has_users else "") + " FROM t"
    ).fetchall()[0]
    users = base[4] if has_users and base[4] else _curate_time_users(release)
    table1 = {"dataset": "this release", "conversations": base[0], "models": base[1],
              "users": users, "languages": base[2],
              "mean_turns": round(base[3], 3) if base[3] is not None else None}
    tok = get_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
    table1.update(_token_means(con, tok))
    out["tokenizer"] = tok.name
    out["table1"] = table1
    out["paper_table1"] = PAPER_TABLE1

    out["models"] = dict(con.execute("SELECT coalesce(nullif(model, ''), '(none)'), count(*) c FROM t GROUP BY 1 "
                                     "ORDER BY c DESC, 1").fetchall())
    out["languages_top"] = dict(con.execute(f"SELECT language, count(*) c FROM t GROUP BY 1 ORDER BY c DESC, 1 "
                                            f"LIMIT {int(top_languages)}").fetchall())
    out["turns"] = {int(k): v for k, v in con.execute("SELECT turn, count(*) FROM t GROUP BY 1 ORDER BY 1").fetchall()}
    if "tstamp" in cols:
        out["daily"] = {d.isoformat(): n for d, n in con.execute(
            "SELECT CAST(to_timestamp(tstamp) AS DATE) d, count(*) FROM t WHERE tstamp IS NOT NULL GROUP BY 1 "
            "ORDER BY 1").fetchall() if isinstance(d, dt.date)}
    if "dedup.exact_size" in cols:
        out["duplicates"] = _duplicates(con)
    if "tools.events" in cols:
        out["tools"] = _tools(con)
    out["moderation"] = _moderation(con)
    if out["moderation"]["conversations_with_tags"]:
        out["moderation"].update(_table4(release))
        out["moderation"]["trust"] = _trust(release)
    return out


def _table4(release: Path) -> dict:
    """Table 4 from ``safety.mine`` (one definition of attempt and success for stats, report and safety)."""
    from chatsift.safety.mine import mine_release

    try:
        mined = mine_release(release)
    except ReleaseError:  # tags present but none lines up with its messages
        return {"table4": []}
    rows = [{"model": r["model"], "conversations": r["conversations"], "jailbreak_attempts": r["attempts"],
             "jailbreak_successes": r["successes"], "success_rate": r["rate"], "ci95": r["ci95"]}
            for r in mined["models"]]
    return {"table4": rows, "jailbreak": {k: mined[k] for k in ("attempts", "successes", "rate", "ci95",
                                                                 "categories", "definition", "paper_table4")}}


def _curate_time_users(release: Path) -> int | None:
    """Distinct users counted by curate (a public release drops user_id, but the count is in its manifest)."""
    try:
        return json.loads((release / "manifest.json").read_text(encoding="utf-8"))["statistics"].get("users")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _token_means(con: duckdb.DuckDBPyConnection, tok: Tokenizer) -> dict:
    messages = ("SELECT m.role AS role, coalesce(m.content, '') AS content "
                "FROM (SELECT unnest(conversation) AS m FROM t)")
    if tok.name == "approx":
        rows = con.execute(
            f"SELECT role, avg(len(regexp_extract_all(content, '{APPROX_PATTERN}')) + 1), count(*) "
            f"FROM ({messages}) GROUP BY role").fetchall()
        means = {r: v for r, v, _ in rows}
    else:
        sums: dict[str, list[int]] = {}
        reader = con.sql(messages).to_arrow_reader(20_000)
        for batch in reader:
            roles = batch.column(0).to_pylist()
            counts = tok.count(batch.column(1).to_pylist())
            for role, n in zip(roles, counts):
                acc = sums.setdefault(role, [0, 0])
                acc[0] += n
                acc[1] += 1
        means = {r: s / c for r, (s, c) in sums.items() if c}
    return {"prompt_tokens": _round(means.get("user")), "response_tokens": _round(means.get("assistant"))}


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def _duplicates(con: duckdb.DuckDBPyConnection) -> dict:
    row = con.execute(
        'SELECT count(*), count(DISTINCT "dedup.exact_group"), '
        'sum(CASE WHEN "dedup.exact_size" > 1 THEN 1 ELSE 0 END), '
        'count(DISTINCT "dedup.near_cluster"), '
        'sum(CASE WHEN "dedup.near_size" > 1 THEN 1 ELSE 0 END), '
        'sum(CASE WHEN "dedup.template_group" IS NOT NULL THEN 1 ELSE 0 END), '
        'count(DISTINCT "dedup.template_group") FROM t').fetchall()[0]
    n = row[0] or 1
    top = con.execute(
        'SELECT "dedup.exact_group", max("dedup.exact_size") s FROM t WHERE "dedup.exact_size" > 1 '
        'GROUP BY 1 ORDER BY s DESC LIMIT 10').fetchall()
    return {
        "conversations": row[0], "exact_groups": row[1], "in_exact_duplicates": row[2],
        "share_in_exact_duplicates": round((row[2] or 0) / n, 4), "unique_prompt_share": round(row[1] / n, 4),
        "near_clusters": row[3], "in_near_duplicates": row[4], "share_in_near_duplicates": round((row[4] or 0) / n, 4),
        "in_templates": row[5], "templates": row[6], "share_in_templates": round((row[5] or 0) / n, 4),
        "largest_exact_groups": [s for _, s in top],
    }


def _tools(con: duckdb.DuckDBPyConnection) -> dict:
    """Tool use (agent traces, chat-app exports): conversations with events, events per kind, top tools."""
    con.execute('CREATE OR REPLACE TEMP VIEW ev AS SELECT conversation_id, unnest("tools.events", recursive := true) '
                'FROM t WHERE "tools.events" IS NOT NULL')
    with_events = con.execute("SELECT count(DISTINCT conversation_id) FROM ev").fetchone()[0]
    kinds = dict(con.execute("SELECT kind, count(*) FROM ev GROUP BY 1 ORDER BY 2 DESC, 1").fetchall())
    with_calls = con.execute("SELECT count(DISTINCT conversation_id) FROM ev WHERE kind = 'call'").fetchone()[0]
    top = dict(con.execute("SELECT name, count(*) c FROM ev WHERE kind = 'call' AND name IS NOT NULL GROUP BY 1 "
                           "ORDER BY c DESC, 1 LIMIT 10").fetchall())
    return {"conversations_with_events": with_events, "conversations_with_tool_calls": with_calls,
            "events": kinds, "top_tools": top}


def _trust(release: Path) -> dict | None:
    """The local moderator's measured figures when it wrote the tags (see ``moderation/trust.py``)."""
    import json

    from chatsift.moderation.trust import trust_figures

    try:
        manifest = json.loads((Path(release) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return trust_figures((manifest.get("config") or {}).get("moderation"))


def _moderation(con: duckdb.DuckDBPyConnection) -> dict:
    tagged = con.execute("SELECT count(*) FROM t WHERE openai_moderation IS NOT NULL").fetchall()[0][0]
    out: dict = {"conversations_with_tags": tagged}
    if not tagged:
        return out
    parents = ["flagged", *PARENT_CATEGORIES]
    row = con.execute("SELECT " + ", ".join(f"sum(CASE WHEN {_flag(p)} THEN 1 ELSE 0 END)" for p in parents)
                      + " FROM t WHERE openai_moderation IS NOT NULL").fetchall()[0]
    out["table2"] = dict(zip(parents, (int(v or 0) for v in row)))
    out["paper_table2"] = PAPER_TABLE2
    return out
