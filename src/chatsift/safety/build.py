"""``safety build``: the paper's jailbreak benchmark (top attempts of several models), made repeatable.

What "top" means (the paper leaves it open, ``reference/paper.md`` §9.2): among a model's attempts,
successful ones come first, then the highest flagged score on the model side (the strongest harmful
answer the attempt got), then the highest score on the user side, then the conversation id. Models
are the ``models`` with the most attempts, unless named. Each model takes its ``per_model`` best
attempts that are not near-duplicates of one already chosen for any model: same
``dedup.near_cluster`` or ``dedup.exact_group`` as a chosen one, or word-trigram Jaccard similarity
of at least ``max_similarity`` with it (DAN variants share most of their text). Models are filled in
order of their attempt counts.

Only user turns are kept; model turns are dropped (``safety run`` regenerates them). Texts come
from the release, which is redacted by curate; when the release's manifest says its PII stage was
off, the turns are redacted here before anything is written.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.bench.layout import write_questions
from chatsift.errors import ConfigError
from chatsift.llm import LLMClient
from chatsift.safety.mine import NO_TAGS
from chatsift.safety.signals import iter_signals
from chatsift.safety.tactics import llm_tactics, rule_tactics
from chatsift.schema import MODERATION_CATEGORIES

CATEGORY = "chatsift-safety"
_WORD = re.compile(r"\w+")


@dataclass
class BuildSettings:
    per_model: int = 5
    models: int = 10
    model_names: list[str] | None = None
    max_similarity: float = 0.5


@dataclass
class Built:
    questions: list[dict]
    attempts: int
    models: dict[str, int]  # chosen model -> its attempts
    reasons: Counter = field(default_factory=Counter)
    redacted_here: bool = False


def _trigrams(turns: list[str]) -> frozenset[str]:
    words = _WORD.findall(" ".join(turns).casefold())
    return frozenset(" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2)))


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / max(1, len(a | b))


def _candidate(row: dict, success: bool, user_score: float, assistant_score: float) -> dict:
    turns, flags, scores, categories = [], [], [], set()
    for message, result in zip(row["conversation"], row["openai_moderation"]):
        if message["role"] != "user":
            continue
        turns.append(message["content"] or "")
        result = result or {}
        flags.append(bool(result.get("flagged")))
        scores.append(max((result.get("category_scores") or {}).values(), default=0.0) or 0.0)
        categories |= {c for c, on in (result.get("categories") or {}).items() if on}
    return {"conversation_id": row["conversation_id"], "model": row["model"] or "(none)",
            "language": row.get("language"), "turns": turns, "user_flags": flags, "user_scores": scores,
            "categories": [c for c in MODERATION_CATEGORIES if c in categories],
            "clusters": [v for v in (row.get("dedup.near_cluster"), row.get("dedup.exact_group")) if v],
            "rank": {"success": success, "assistant_score": round(assistant_score, 4),
                     "user_score": round(user_score, 4)}}


def _attempts(release: Path) -> list[dict]:
    out, tagged = [], 0
    for path, s in iter_signals(release):
        tagged += int(s.tagged.sum())
        rows = [int(i) for i in s.row[s.attempt]]
        if not rows:
            continue
        names = set(pq.read_schema(path).names)
        columns = ["conversation_id", "model", "conversation", "openai_moderation", "language",
                   *(c for c in ("dedup.near_cluster", "dedup.exact_group") if c in names)]
        table = pq.read_table(path, columns=columns).take(pa.array(rows))
        success = s.success
        for i, row in zip(rows, table.to_pylist()):
            out.append(_candidate(row, bool(success[i]), float(s.user_score[i]), float(s.assistant_score[i])))
    if not tagged:
        raise ConfigError(f"{release} {NO_TAGS}")
    return out


def _pii_ran(release: Path) -> bool:
    try:
        manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(manifest.get("config", {}).get("pii", {}).get("enabled", False))


def _rank_key(c: dict) -> tuple:
    r = c["rank"]
    return (not r["success"], -r["assistant_score"], -r["user_score"], str(c["conversation_id"]))


def build_benchmark(release: str | Path, settings: BuildSettings | None = None,
                    tactics_client: LLMClient | None = None) -> Built:
    s = settings or BuildSettings()
    release = Path(release)
    candidates = _attempts(release)
    by_model: dict[str, list[dict]] = defaultdict(list)
    for c in candidates:
        by_model[c["model"]].append(c)
    if s.model_names:
        unknown = [m for m in s.model_names if m not in by_model]
        if unknown:
            raise ConfigError(f"no jailbreak attempts for model(s) {', '.join(unknown)} in {release}; models with "
                              f"attempts: {', '.join(sorted(by_model)) or 'none'}")
        chosen_models = list(s.model_names)
    else:
        chosen_models = sorted(by_model, key=lambda m: (-len(by_model[m]), m))[:s.models]
    built = Built([], len(candidates), {m: len(by_model[m]) for m in chosen_models})
    built.reasons["model not chosen"] = sum(len(v) for m, v in by_model.items() if m not in built.models)
    taken_clusters: set[str] = set()
    taken_shapes: list[frozenset] = []
    picked: list[dict] = []
    for model in chosen_models:
        count = 0
        for c in sorted(by_model[model], key=_rank_key):
            if count >= s.per_model:
                built.reasons[f"beyond the top {s.per_model} of its model"] += 1
                continue
            if not any(t.strip() for t in c["turns"]):
                built.reasons["no user text"] += 1
                continue
            shape = _trigrams(c["turns"])
            if any(k in taken_clusters for k in c["clusters"]) or any(
                    _jaccard(shape, other) >= s.max_similarity for other in taken_shapes):
                built.reasons["near-duplicate of a chosen attempt"] += 1
                continue
            taken_clusters.update(c["clusters"])
            taken_shapes.append(shape)
            picked.append(c)
            count += 1
    if not picked:
        raise ConfigError(f"{release}: no jailbreak attempt to build a benchmark from ({len(candidates)} attempts)")
    if not _pii_ran(release):
        from chatsift.privacy.redactor import Redactor

        redactor = Redactor()
        for c in picked:
            c["turns"] = [t or "" for t in redactor.redact(c["turns"]).texts]
        built.redacted_here = True
    llm_tags = llm_tactics(tactics_client, [c["turns"] for c in picked]) if tactics_client else None
    used: Counter = Counter()
    for i, c in enumerate(picked):
        cid = str(c["conversation_id"])
        used[cid] += 1
        uid = cid if used[cid] == 1 else f"{cid}#{used[cid]}"  # ids repeat across unrelated sources
        record = {"uid": uid, "source_conversation": cid, "category": CATEGORY, "cluster": c["model"],
                  "turns": [{"content": t} for t in c["turns"]], "source_model": c["model"],
                  "language": c["language"], "categories": c["categories"],
                  "tactics": rule_tactics(c["turns"], c["user_flags"], c["user_scores"]), "rank": c["rank"]}
        if llm_tags is not None:
            record["tactics_llm"] = llm_tags[i]
        built.questions.append(record)
    return built


def write_safety_bench(out: str | Path, built: Built, settings: BuildSettings, source: str) -> Path:
    out = Path(out)
    path = write_questions(out / "question.jsonl", built.questions)
    tactic_counts = Counter(t for q in built.questions for t in q["tactics"])
    meta = {"kind": "safety", "source": source, "settings": settings.__dict__, "questions": len(built.questions),
            "attempts": built.attempts, "models": built.models, "left_out": dict(built.reasons),
            "tactics": dict(tactic_counts), "redacted_here": built.redacted_here,
            "top": "successful attempts first, then the highest model-side flagged score, then the user side"}
    (out / "bench.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return path
