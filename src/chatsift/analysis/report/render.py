"""``chatsift report``: one self-contained HTML file describing a release.

Statistics come from ``compute_stats``; topics from ``RELEASE/topics`` (built on demand unless
turned off). Charts are inline SVG, styles inline, no script and no network (a Content-Security-
Policy forbids both). All text from the data is escaped by Jinja's autoescape; chart labels by
``svg.py``. Example conversations respect the topic privacy threshold.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from chatsift import __version__
from chatsift.analysis.report import svg
from chatsift.analysis.stats import compute_stats, release_view
from chatsift.analysis.textable import fmt
from chatsift.analysis.topics.model import TopicSettings, build_topics, load_topics
from chatsift.moderation.trust import trust_lines

EXAMPLE_CHARS = 600


def _examples(release: Path, topics: dict, per_topic: int = 2) -> dict[int, list[dict]]:
    """Per topic, prompts that fell into it, each shown as that prompt with the answer after it, and each
    conversation at most once in the whole report (a conversation whose prompts fell into several topics
    is an example of one of them only)."""
    assignments = pq.read_table(release / "topics" / "assignments.parquet")
    chosen: dict[int, list[tuple[str, int]]] = {}
    used: set[str] = set()
    private = {c["cluster"] for c in topics["clusters"] if c["private"]}
    for cid, message, cluster in zip(assignments.column("conversation_id").to_pylist(),
                                     assignments.column("message").to_pylist(),
                                     assignments.column("cluster").to_pylist()):
        picks = chosen.setdefault(cluster, [])
        if cluster in private or len(picks) >= per_topic or cid in used:
            continue
        picks.append((cid, int(message)))
        used.add(cid)
    if not used:
        return {}
    con = duckdb.connect()
    release_view(con, release)
    rows = con.execute("SELECT conversation_id, conversation FROM t WHERE list_contains($ids, conversation_id)",
                       {"ids": sorted(used)}).fetchall()
    by_id = {cid: conv for cid, conv in rows}
    out: dict[int, list[dict]] = {}
    for cluster, picks in chosen.items():
        for cid, message in picks:
            conv = by_id.get(cid) or []
            shown = conv[message : message + 2]  # the prompt the topic holds, and the answer to it
            messages = [{"role": m["role"], "content": _clip(m["content"] or "")} for m in shown]
            out.setdefault(cluster, []).append({"id": cid, "message": message, "messages": messages})
    return out


_FENCE = re.compile(r"```[^\n`]*\n?(.*?)(?:```|\Z)", re.S)


def code_blocks(text: str | None) -> Markup:
    """Escaped message text with fenced code (```...```) in <pre><code>, so code keeps its monospace layout."""
    text = text or ""
    out, at = [], 0
    for m in _FENCE.finditer(text):
        out.append(escape(text[at:m.start()]))
        out.append(Markup("<pre><code>") + escape(m.group(1).rstrip("\n")) + Markup("</code></pre>"))
        at = m.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)


def _clip(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + " …"


def _map_points(release: Path) -> list[tuple[float, float, int]]:
    path = release / "topics" / "map.parquet"
    if not path.exists():
        return []
    t = pq.read_table(path)
    return list(zip(t.column("x").to_pylist(), t.column("y").to_pylist(), t.column("cluster").to_pylist()))


def _leaderboard(release: Path, path: str | Path | None) -> dict | None:
    """A ``chatsift leaderboard --out`` JSON: the given file, or RELEASE/leaderboard.json when present."""
    path = Path(path) if path else release / "leaderboard.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    use_win_rate = bool(data.get("baseline")) and data.get("method") != "mean grade"
    bars = []
    for row in data["rows"][:40]:
        if use_win_rate and row.get("win_rate") is not None:
            bars.append((row["model"], row["win_rate"], row["win_rate_lower"], row["win_rate_upper"]))
        else:
            bars.append((row["model"], row["rating"], row["rating_lower"], row["rating_upper"]))
    what = (f"win rate against {data['baseline']} (%)" if use_win_rate else
            "mean grade (1-10)" if data.get("method") == "mean grade" else "Bradley-Terry rating (Elo scale)")
    return {"data": data, "bars": bars, "what": what, "fmt": "{:,.2f}" if use_win_rate else "{:,.1f}"}


def build_report(release: str | Path, out: str | Path, tokenizer: str = "approx", topics: bool = True,
                 explorer_url: str | None = None, topic_settings: TopicSettings | None = None,
                 leaderboard: str | Path | None = None) -> Path:
    release = Path(release)
    stats = compute_stats(release, tokenizer=tokenizer)
    topic_data = load_topics(release)
    if topic_data is None and topics:
        build_topics(release, topic_settings or TopicSettings())
        topic_data = load_topics(release)
    manifest = json.loads((release / "manifest.json").read_text()) if (release / "manifest.json").exists() else {}
    t1 = stats["table1"]
    n = max(t1["conversations"], 1)
    charts = {
        "models": svg.hbar(list(stats["models"].items())[:20], title="conversations per model"),
        "languages": svg.hbar(list(stats["languages_top"].items()), title="top languages"),
        "turns": svg.histogram(stats["turns"], title="turns", x_label="turns (user-assistant exchanges)"),
        "daily": svg.columns(list(stats["daily"].items()), title="per day") if stats.get("daily") else None,
    }
    dup = stats.get("duplicates")
    if dup:
        charts["duplicates"] = svg.hbar([("exact duplicates", 100 * dup["share_in_exact_duplicates"]),
                                         ("near duplicates", 100 * dup["share_in_near_duplicates"]),
                                         ("templated", 100 * dup["share_in_templates"])],
                                        value_fmt="{:.1f}%", title="duplicate shares")
    mod = stats["moderation"]
    if "table2" in mod:
        charts["moderation"] = svg.hbar([(k, v) for k, v in mod["table2"].items() if k != "flagged"],
                                        title="flagged by category")
    examples = {}
    shares = None
    if topic_data:
        clusters = topic_data["clusters"]
        charts["topics"] = svg.hbar([(f"{c['cluster'] + 1}. {c['label']}", 100 * c["share"]) for c in clusters],
                                    value_fmt="{:.1f}%", title="topic shares")
        labels = {c["cluster"]: c["label"] for c in clusters if not c["private"]}
        charts["map"] = svg.scatter(_map_points(release), labels, title="topic map")
        examples = _examples(release, topic_data)
        shares_path = release / "topics" / "shares.json"
        shares = json.loads(shares_path.read_text(encoding="utf-8")) if shares_path.exists() else None
    board = _leaderboard(release, leaderboard)
    if board:
        charts["leaderboard"] = svg.whiskers(board["bars"], value_fmt=board["fmt"], title="leaderboard")
    env = Environment(loader=PackageLoader("chatsift.analysis", "templates"), autoescape=select_autoescape(["j2"]))
    env.filters["code_blocks"] = code_blocks
    html = env.get_template("report.html.j2").render(
        name=manifest.get("name", release.name), version=__version__,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), tokenizer=stats["tokenizer"],
        t1=t1, table1=[t1, *stats["paper_table1"]], dup=dup, mod=mod, topics=topic_data, examples=examples,
        charts={k: Markup(v) if v else None for k, v in charts.items()}, fmt=fmt, n=n,
        explorer_url=(explorer_url or "").rstrip("/") or None, board=board, shares=shares,
        trust=trust_lines(mod.get("trust")),
    )
    out = Path(out)
    out.write_text(html, encoding="utf-8")
    return out
