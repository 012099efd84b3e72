"""``hard select``: the hardest prompts, by the paper's rule or BenchBuilder's, as an Arena-Hard benchmark.

- ``paper``: keep prompts that every rater scored at least ``threshold`` (the mean over its
  repeats), best first, top ``top`` (the paper: three raters, 9 or higher, 200 prompts).
- ``benchbuilder``: group prompts by their topic cluster (``chatsift topics``), keep the clusters
  whose mean criteria score passes ``cluster_threshold``, keep prompts meeting at least
  ``prompt_threshold`` criteria, and sample ``per_cluster`` from each (v0.1: 6, 6 and 2).

Prompts are deduplicated on a bag-of-words key first (the first one, in seeded order, is kept), and
can be limited to one language. Ties are broken by a seeded hash, so a selection is reproducible.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from chatsift.analysis.topics.model import load_topics
from chatsift.analysis.topics.prompts import bow_key
from chatsift.bench.layout import write_questions
from chatsift.errors import ConfigError

RULES = ("paper", "benchbuilder")


@dataclass
class SelectSettings:
    rule: str = "paper"
    threshold: float = 9.0
    top: int = 200
    prompt_threshold: float = 6.0
    cluster_threshold: float = 6.0
    per_cluster: int = 2
    language: str | None = None
    dedup: bool = True
    seed: int = 42
    category: str = "chatsift-hard"


@dataclass
class Selection:
    questions: list[dict]
    considered: int
    reasons: Counter = field(default_factory=Counter)  # why prompts were left out
    clusters_kept: int | None = None


def _order(seed: int, cid: str) -> str:
    return hashlib.blake2b(f"{seed}:{cid}".encode(), digest_size=8).hexdigest()


def _topic_of(release: Path) -> dict[str, str]:
    topics = load_topics(release)
    path = release / "topics" / "assignments.parquet"
    if topics is None or not path.exists():
        raise ConfigError(f"{release} has no topic map: run `chatsift topics {release}` first "
                          "(the benchbuilder rule groups prompts by topic)")
    labels = {c["cluster"]: c["label"] for c in topics["clusters"]}
    table = pq.read_table(path, columns=["conversation_id", "message", "cluster"]).to_pylist()
    return {r["conversation_id"]: labels.get(r["cluster"], str(r["cluster"])) for r in table if r["message"] == 0}


def select(release: str | Path, prompts: list[dict], scores: dict[str, dict], settings: SelectSettings) -> Selection:
    if settings.rule not in RULES:
        raise ConfigError(f"unknown rule {settings.rule!r} (choose from {', '.join(RULES)})")
    release = Path(release)
    reasons: Counter = Counter()
    pool = []
    seen_keys: set[str] = set()
    for p in sorted(prompts, key=lambda p: _order(settings.seed, p["conversation_id"])):
        rec = scores.get(p["conversation_id"])
        if rec is None:
            reasons["not scored"] += 1
            continue
        if settings.language and p.get("language") != settings.language:
            reasons["other language"] += 1
            continue
        key = bow_key(p["prompt"])
        if settings.dedup and key in seen_keys:
            reasons["duplicate prompt"] += 1
            continue
        seen_keys.add(key)
        pool.append((p, rec))
    if settings.rule == "paper":
        chosen, clusters_kept = _paper(pool, settings, reasons), None
    else:
        chosen, clusters_kept = _benchbuilder(pool, _topic_of(release), settings, reasons)
    questions = [{"uid": p["conversation_id"], "question_id": p["conversation_id"],
                  "category": settings.category, "cluster": cluster, "prompt": p["prompt"],
                  "turns": [{"content": p["prompt"]}], "score": score}
                 for p, cluster, score in chosen]
    return Selection(questions, len(prompts), reasons, clusters_kept)


def _paper(pool, settings: SelectSettings, reasons: Counter):
    passing = []
    for p, rec in pool:
        low = rec.get("min_rater_score")
        if low is None:
            reasons["no usable score from every rater"] += 1
        elif low < settings.threshold:
            reasons[f"a rater scored below {settings.threshold:g}"] += 1
        else:
            passing.append((p, rec))
    passing.sort(key=lambda pr: -pr[1]["score"])  # stable: the seeded order breaks ties
    if len(passing) > settings.top:
        reasons[f"beyond the top {settings.top}"] += len(passing) - settings.top
    return [(p, "", rec["score"]) for p, rec in passing[:settings.top]]


def _benchbuilder(pool, topic_of: dict[str, str], settings: SelectSettings, reasons: Counter):
    by_cluster: dict[str, list] = defaultdict(list)
    for p, rec in pool:
        if rec.get("criteria_score") is None:
            reasons["no usable criteria"] += 1
            continue
        cluster = topic_of.get(p["conversation_id"])
        if cluster is None:
            reasons["not in the topic map"] += 1
            continue
        by_cluster[cluster].append((p, rec))
    chosen = []
    kept = 0
    for cluster in sorted(by_cluster):
        members = by_cluster[cluster]
        mean = sum(r["criteria_score"] for _, r in members) / len(members)
        if mean < settings.cluster_threshold:
            reasons[f"cluster mean below {settings.cluster_threshold:g}"] += len(members)
            continue
        kept += 1
        good = [(p, r) for p, r in members if r["criteria_score"] >= settings.prompt_threshold]
        reasons[f"fewer than {settings.prompt_threshold:g} criteria"] += len(members) - len(good)
        reasons["not sampled from its cluster"] += max(0, len(good) - settings.per_cluster)
        chosen += [(p, cluster, r["criteria_score"]) for p, r in good[:settings.per_cluster]]
    return chosen, kept


def write_bench(out: str | Path, selection: Selection, settings: SelectSettings, source: str) -> Path:
    out = Path(out)
    if not selection.questions:
        raise ConfigError("no prompt passed the rule; lower the thresholds (left out: " +
                          ", ".join(f"{k} {v:,}" for k, v in selection.reasons.most_common()) + ")")
    path = write_questions(out / "question.jsonl", selection.questions)
    meta = {"source": source, "rule": settings.rule, "settings": settings.__dict__,
            "questions": len(selection.questions),
            "considered": selection.considered, "left_out": dict(selection.reasons),
            "clusters_kept": selection.clusters_kept}
    (out / "bench.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return path
