"""Reading comparisons: Arena-Hard ``model_judgment`` files, single-answer grades, vote CSVs, FastChat logs.

Pairwise judgments follow Arena-Hard-Auto: each record is one (model, question) against the baseline
with two games, positions swapped. Game 1 puts the baseline in position A, game 2 the model. Every
game becomes battles oriented as (baseline, model, the baseline's score), exactly as Arena-Hard's
``get_battles_from_row`` builds them, so a strong verdict (``>>``) counts ``strong_weight`` times.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from chatsift.arena.battles import Battles, RankingError
from chatsift.arena.verdicts import VERDICT_SCORES

VOTE_WINNERS = {"model_a": 1.0, "a": 1.0, "left": 1.0, "leftvote": 1.0, "model_b": 0.0, "b": 0.0, "right": 0.0,
                "rightvote": 0.0, "tie": 0.5, "tie (bothbad)": 0.5, "bothbad": 0.5, "tievote": 0.5,
                "bothbad_vote": 0.5}


@dataclass
class ReadReport:
    """What was read and what was left out, and why: every input record is accounted for."""

    records: int = 0
    games: int = 0
    skipped: Counter = field(default_factory=Counter)
    files: int = 0

    def line(self) -> str:
        skipped = ", ".join(f"{k} {v:,}" for k, v in self.skipped.most_common())
        return (f"read {self.records:,} records from {self.files} file(s), {self.games:,} comparisons"
                + (f"; left out: {skipped}" if skipped else ""))


def judgment_files(paths: list[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.jsonl") if q.is_file() and not q.name.startswith("."))
            if not found:
                raise RankingError(f"{p} has no .jsonl files")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise RankingError(f"{p} does not exist")
    return files


def iter_jsonl(path: Path, report: ReadReport) -> Iterator[dict]:
    """The records of a JSON-lines file, or of a JSON array file (FastChat's ``clean_battle_*.json``, the
    public Chatbot Arena battle dumps)."""
    report.files += 1
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
        fh.seek(0)
        if head.startswith(b"["):
            try:
                records = orjson.loads(fh.read().removeprefix(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError as exc:
                raise RankingError(f"{path}: a JSON array that does not parse ({exc})") from None
            for record in records:
                report.records += 1
                if isinstance(record, dict):
                    yield record
                else:
                    report.skipped["not a JSON object"] += 1
            return
        for line in fh:
            if not line.strip():
                continue
            report.records += 1
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                report.skipped["malformed JSON line"] += 1
                continue
            if not isinstance(record, dict):
                report.skipped["not a JSON object"] += 1
                continue
            yield record


def read_judgments(paths: list[str | Path], baseline: str | None = None, strong_weight: int = 3,
                   first_game_only: bool = False) -> tuple[Battles, ReadReport, str]:
    """Pairwise judgments (Arena-Hard layout) as battles; returns the baseline they were judged against."""
    report = ReadReport()
    rows, weights, questions = [], [], []
    seen: set[tuple[str, str, str]] = set()
    baselines: Counter = Counter()
    for path in judgment_files(paths):
        judge = path.parent.name
        for rec in iter_jsonl(path, report):
            model, qid, games = rec.get("model"), rec.get("question_id", rec.get("uid")), rec.get("games")
            if not isinstance(model, str) or qid is None or not isinstance(games, list):
                report.skipped["not a pairwise judgment (needs model, question_id, games)"] += 1
                continue
            base = rec.get("baseline") or baseline
            if not base:
                raise RankingError(f"{path}: the judgments do not name their baseline; give --baseline")
            baselines[base] += 1
            key = (str(rec.get("judge", judge)), model, str(qid))
            if key in seen:
                report.skipped["duplicate (judge, model, question)"] += 1
                continue
            seen.add(key)
            for g, game in enumerate(games[:1] if first_game_only else games[:2]):
                verdict = game.get("score") if isinstance(game, dict) else None
                if verdict not in VERDICT_SCORES:
                    report.skipped["unparsed verdict"] += 1
                    continue
                score_a, strong = VERDICT_SCORES[verdict]
                base_score = score_a if g == 0 else 1.0 - score_a  # game 2 puts the model in position A
                rows.append((base, model, base_score))
                weights.append(strong_weight if strong else 1)
                questions.append(str(qid))
                report.games += 1
    if len(baselines) > 1:
        raise RankingError(f"the judgments use different baselines ({', '.join(baselines)}); rank one at a time")
    if not rows:
        raise RankingError("no usable pairwise verdicts in " + ", ".join(map(str, paths)))
    return Battles.from_rows(rows, weights, questions), report, next(iter(baselines))


@dataclass
class Grades:
    """Single-answer grades (MT-bench style, 1-10) per model and question."""

    scores: dict[str, dict[str, float]]  # model -> question -> mean grade over judges/turns
    report: ReadReport


def read_grades(paths: list[str | Path], reparse: bool = False) -> Grades:
    """``reparse``: where ``score`` is null, read the rating from the judgment text (FastChat's integer
    pattern missed decimals such as ``[[9.5]]``)."""
    from chatsift.arena.verdicts import parse_rating

    report = ReadReport()
    per: dict[str, dict[str, list[float]]] = {}
    for path in judgment_files(paths):
        for rec in iter_jsonl(path, report):
            model, qid, score = rec.get("model"), rec.get("question_id"), rec.get("score")
            if not isinstance(model, str) or qid is None or "score" not in rec:
                report.skipped["not a single-answer grade (needs model, question_id, score)"] += 1
                continue
            if score is None and reparse:
                score = parse_rating(rec.get("judgment"))
                report.skipped["recovered from the judgment text (counted)"] += score is not None
            if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score) \
                    or score < 0:
                report.skipped["unparsed grade"] += 1
                continue
            per.setdefault(model, {}).setdefault(str(qid), []).append(float(score))
            report.games += 1
    if not per:
        raise RankingError("no usable grades in " + ", ".join(map(str, paths)))
    return Grades({m: {q: sum(v) / len(v) for q, v in qs.items()} for m, qs in per.items()}, report)


def sniff_judgments(paths: list[str | Path]) -> str:
    """``pairwise`` or ``grades``, from the first record that says."""
    for path in judgment_files(paths):
        for rec in iter_jsonl(path, ReadReport()):
            if "games" in rec:
                return "pairwise"
            if "score" in rec and "model" in rec:
                return "grades"
    raise RankingError("the files hold neither pairwise judgments (games) nor grades (score)")


def read_votes(paths: list[str | Path], anonymous_only: bool = False) -> tuple[Battles, ReadReport]:
    """Human votes: CSV/JSON(L) rows of (model_a, model_b, winner), left/right CSVs, or FastChat logs."""
    report = ReadReport()
    rows: list[tuple[str, str, float]] = []
    conversations: list[str | None] = []  # side A's conversation id, where the vote names one (for topics)
    for path in map(Path, paths):
        if not path.is_file():
            raise RankingError(f"{path} is not a file")
        if path.suffix.lower() in {".csv", ".tsv"}:
            _csv_votes(path, report, rows)
        else:
            for rec in iter_jsonl(path, report):
                before = len(rows)
                _json_vote(rec, report, rows, anonymous_only)
                if len(rows) > before:
                    conversations.append(_side_a_conversation(rec))
        conversations += [None] * (len(rows) - len(conversations))
    if not rows:
        raise RankingError("no usable votes in " + ", ".join(map(str, paths)) + " (" + report.line() + ")")
    return Battles.from_rows(rows, questions=conversations), report


def _side_a_conversation(rec: dict) -> str | None:
    """The conversation id of a battle's first side as a release holds it: FastChat's ``states[0].conv_id``,
    or ``QUESTION_ID-a`` for an arena battle dump (the ``arena_battles`` reader's id)."""
    states = rec.get("states")
    if isinstance(states, list) and states and isinstance(states[0], dict) and states[0].get("conv_id"):
        return str(states[0]["conv_id"])
    return f"{rec['question_id']}-a" if rec.get("question_id") is not None else None


def _csv_votes(path: Path, report: ReadReport, rows: list) -> None:
    report.files += 1
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    fields = set(reader.fieldnames or [])
    if {"model_a", "model_b", "winner"} <= fields:
        a_col, b_col = "model_a", "model_b"
    elif {"left", "right", "winner"} <= fields:
        a_col, b_col = "left", "right"
    else:
        raise RankingError(f"{path}: a vote CSV needs columns model_a, model_b, winner (or left, right, winner); "
                           f"it has {', '.join(sorted(fields))}")
    for rec in reader:
        report.records += 1
        _add_vote(rec.get(a_col), rec.get(b_col), rec.get("winner"), report, rows)


def _json_vote(rec: dict, report: ReadReport, rows: list, anonymous_only: bool) -> None:
    if rec.get("counted") is False:  # chatsift serve's logs mark votes FastChat's cleaning would drop
        report.skipped[f"vote not counted ({rec.get('not_counted') or 'marked'})"] += 1
        return
    if "states" in rec and rec.get("type") in VOTE_WINNERS:  # a FastChat log vote record
        states = rec["states"]
        if not (isinstance(states, list) and len(states) == 2 and all(isinstance(s, dict) for s in states)):
            report.skipped["arena vote without two states"] += 1
            return
        if anonymous_only and any(rec.get("models") or []):
            report.skipped["named (not anonymous) battle"] += 1
            return
        _add_vote(states[0].get("model_name"), states[1].get("model_name"), rec["type"], report, rows)
    elif "model_a" in rec and "model_b" in rec:
        if anonymous_only and rec.get("anony") is False:
            report.skipped["named (not anonymous) battle"] += 1
            return
        _add_vote(rec.get("model_a"), rec.get("model_b"), rec.get("winner"), report, rows)
    elif rec.get("type") == "chat" or rec.get("type") in {"upvote", "downvote", "flag", "share", "regenerate"}:
        report.skipped["not a pairwise vote"] += 1
    else:
        report.skipped["not a vote record"] += 1


def _add_vote(a, b, winner, report: ReadReport, rows: list) -> None:
    if not isinstance(a, str) or not isinstance(b, str) or not a.strip() or not b.strip():
        report.skipped["vote without both model names"] += 1
        return
    score = VOTE_WINNERS.get(str(winner).strip().lower()) if winner is not None else None
    if score is None:
        report.skipped["unknown winner value"] += 1
        return
    if a == b:
        report.skipped["a model against itself"] += 1
        return
    rows.append((a.strip(), b.strip(), score))
    report.games += 1


def attach_style(battles: Battles, answers: dict[str, dict[str, list[str]]]) -> Battles:
    """Per-side style counts for every battle, from the benchmark's model answers (for style control)."""
    from chatsift.arena.style import answer_style

    if battles.question is None:
        raise RankingError("style control needs battles that name their question")
    cache: dict[tuple[str, str], dict[str, int]] = {}

    def style(model: str, qid: str) -> dict[str, int]:
        key = (model, qid)
        if key not in cache:
            turns = answers.get(model, {}).get(qid)
            if turns is None:
                raise RankingError(f"style control: no answer from {model} to question {qid} in model_answer")
            counts = [answer_style(t) for t in turns]
            cache[key] = {k: sum(c[k] for c in counts) for k in counts[0]} if counts else answer_style("")
        return cache[key]

    names = ("tokens", "headers", "lists", "bold")
    side_a = [style(battles.models[a], q) for a, q in zip(battles.a.tolist(), battles.question)]
    side_b = [style(battles.models[b], q) for b, q in zip(battles.b.tolist(), battles.question)]
    import numpy as np

    battles.style = {n: (np.array([s[n] for s in side_a], float), np.array([s[n] for s in side_b], float))
                     for n in names}
    return battles
