"""``hard score``: rate every first-turn prompt of a release with one or more LLM raters.

Two ratings, either or both: the paper's 1-10 score (``[[n]]``, Appendix B.7) and Arena-Hard's seven
criteria (a list of the ones met). Several raters and repeats are allowed; a repeat after the first
asks with a different ``seed`` so the cache keeps them apart. Answers that cannot be parsed are kept
as ``null`` and counted, never guessed. Results go to ``scores.jsonl`` keyed by ``conversation_id``;
the raw answers go to ``scores.raw.jsonl`` for audit. A rerun is served from the response cache.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson

from chatsift.analysis.stats import _columns, release_view
from chatsift.arena.verdicts import CRITERIA, parse_criteria, parse_rating
from chatsift.errors import ConfigError
from chatsift.hard.prompts import criteria_messages, score_messages
from chatsift.llm import LLMClient, chat_text

MODES = ("paper", "criteria", "both")


@dataclass
class ScoreSettings:
    mode: str = "paper"
    repeats: int = 1
    temperature: float = 0.0
    language: str | None = None
    sample: int | None = None
    seed: int = 42
    min_chars: int = 1


@dataclass
class ScoreReport:
    prompts: int = 0
    requests: int = 0
    unparsed: Counter = field(default_factory=Counter)  # rater -> answers without a usable rating
    failed: Counter = field(default_factory=Counter)  # rater -> requests that got no answer
    out: Path | None = None


def first_turn_prompts(release: str | Path, language: str | None = None, sample: int | None = None,
                       seed: int = 42, min_chars: int = 1) -> list[dict]:
    """conversation_id, prompt (the first user turn), language, for every conversation that has one."""
    release = Path(release)
    con = duckdb.connect()
    release_view(con, release)
    lang = "language" if "language" in _columns(release) else "NULL::VARCHAR"
    where, params = ("AND language = $lang", {"lang": language}) if language else ("", {})
    limit = f"LIMIT {int(sample)}" if sample else ""
    rows = con.execute(
        f"""SELECT conversation_id, trim(conversation[1].content) AS prompt, {lang} AS language FROM t
            WHERE conversation[1].role = 'user'
              AND length(trim(coalesce(conversation[1].content, ''))) >= {int(min_chars)} {where}
            ORDER BY hash(conversation_id || '{int(seed)}') {limit}""", params).fetchall()
    return [{"conversation_id": r[0], "prompt": r[1], "language": r[2]} for r in rows]


def rater_name(client: LLMClient) -> str:
    return client.endpoint.model


def score_prompts(prompts: list[dict], raters: list[LLMClient], settings: ScoreSettings,
                  out_dir: str | Path) -> ScoreReport:
    if settings.mode not in MODES:
        raise ConfigError(f"unknown scoring mode {settings.mode!r} (choose from {', '.join(MODES)})")
    if not raters:
        raise ConfigError("hard score needs at least one --judge")
    modes = ("paper", "criteria") if settings.mode == "both" else (settings.mode,)
    report = ScoreReport(prompts=len(prompts))
    ratings: dict[str, dict[str, list]] = {p["conversation_id"]: {} for p in prompts}
    criteria: dict[str, dict[str, list]] = {p["conversation_id"]: {} for p in prompts}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "scores.raw.jsonl", "wb") as raw:
        for client in raters:
            name = rater_name(client)
            for mode in modes:
                build = score_messages if mode == "paper" else criteria_messages
                for repeat in range(settings.repeats):
                    extra = {"seed": repeat} if repeat else {}
                    results = client.chat_many([build(p["prompt"]) for p in prompts],
                                               temperature=settings.temperature,
                                               max_tokens=512 if mode == "paper" else 64,
                                               desc=f"{name} {mode} #{repeat + 1}", **extra)
                    report.requests += len(results)
                    for p, result in zip(prompts, results):
                        cid = p["conversation_id"]
                        answer = chat_text(result.response) if result.response else None
                        if answer is None:
                            report.failed[name] += 1
                        if mode == "paper":
                            value = parse_rating(answer)
                            ratings[cid].setdefault(name, []).append(value)
                        else:
                            parsed = parse_criteria(answer)
                            value = None if parsed is None else [c for c in CRITERIA if parsed[c]]
                            criteria[cid].setdefault(name, []).append(value)
                        if value is None and answer is not None:
                            report.unparsed[name] += 1
                        raw.write(orjson.dumps({"conversation_id": cid, "rater": name, "mode": mode,
                                                "repeat": repeat, "answer": answer, "error": result.error,
                                                "parsed": value}) + b"\n")
    path = out_dir / "scores.jsonl"
    with open(path, "wb") as fh:
        for p in prompts:
            cid = p["conversation_id"]
            fh.write(orjson.dumps(_summary(p, ratings[cid], criteria[cid])) + b"\n")
    report.out = path
    return report


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _summary(prompt: dict, ratings: dict[str, list], criteria: dict[str, list]) -> dict:
    rater_means = {r: _mean(v) for r, v in ratings.items()}
    known = [v for v in rater_means.values() if v is not None]
    counts = {r: _mean([len(c) for c in v if c is not None]) for r, v in criteria.items()}
    known_counts = [v for v in counts.values() if v is not None]
    return {
        "conversation_id": prompt["conversation_id"], "language": prompt.get("language"),
        "prompt_chars": len(prompt["prompt"]),
        "ratings": ratings, "criteria": criteria,
        # the paper's rule needs every rater: None when any rater gave no usable score
        "score": sum(known) / len(known) if known else None,
        "min_rater_score": min(known) if known and len(known) == len(rater_means) else None,
        "criteria_score": sum(known_counts) / len(known_counts) if known_counts else None,
    }


def read_scores(path: str | Path) -> dict[str, dict]:
    path = Path(path)
    if path.is_dir():
        path = path / "scores.jsonl"
    if not path.exists():
        raise ConfigError(f"{path} does not exist: run `chatsift hard score` first")
    with open(path, "rb") as fh:
        return {r["conversation_id"]: r for r in map(orjson.loads, filter(bytes.strip, fh))}
