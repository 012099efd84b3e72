"""A leaderboard from battles or grades: ratings, intervals, win rates, other methods, benchmark quality."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson

from chatsift.arena.battles import Battles, RankingError
from chatsift.arena.bootstrap import bootstrap
from chatsift.arena.quality import Quality, benchmark_quality
from chatsift.arena.ratings import average_win_rate, bradley_terry, counting, online_elo, win_probability
from chatsift.arena.sources import Grades, ReadReport
from chatsift.arena.style import fit_style_controlled

# A model with fewer comparisons than this gets its rating but no interval ("too few battles"): a bootstrap
# over a handful of battles gives bounds that look precise and are not (one vote gave "1681.3 (1681.3,
# 1681.3)"). Weighted comparisons count (a strong verdict is 3).
MIN_BATTLES_FOR_INTERVAL = 10
TOO_FEW = "too few battles"


@dataclass
class Row:
    model: str
    rating: float  # Bradley–Terry on the Elo scale
    rating_lower: float | None  # None: fewer battles than MIN_BATTLES_FOR_INTERVAL
    rating_upper: float | None
    battles: float  # comparisons, counting weights
    win_rate: float | None = None  # percent against the baseline, from the ratings
    win_rate_lower: float | None = None
    win_rate_upper: float | None = None
    online_elo: float | None = None
    average_win_rate: float | None = None
    score: float | None = None  # wins + half the ties (counting)


@dataclass
class Leaderboard:
    rows: list[Row]
    method: str
    baseline: str | None
    convention: str
    rounds: int
    seed: int
    control: str | None
    exact: bool
    quality: Quality | None
    read: str
    skipped: dict[str, int]
    style_coefficients: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    min_battles_for_interval: int = MIN_BATTLES_FOR_INTERVAL

    def as_dict(self) -> dict:
        out = asdict(self)
        out["quality"] = self.quality.as_dict() if self.quality else None
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)


def rank_battles(battles: Battles, report: ReadReport, *, baseline: str | None = None, rounds: int = 1000,
                 seed: int = 42, convention: str = "percentile", control: str | None = None,
                 reference: dict[str, float] | None = None) -> Leaderboard:
    pairs = battles.without_self_battles()
    if len(pairs) == 0:
        raise RankingError("no comparisons between two different models")
    present = sorted({int(i) for i in pairs.a} | {int(i) for i in pairs.b})
    if len(present) < 2:
        raise RankingError(f"only one model ({battles.models[present[0]]}) has comparisons: nothing to rank")
    anchor = battles.index(baseline) if baseline else None
    fit = bradley_terry(battles)
    coefficients: dict[str, float] = {}
    if control:
        rating, coefficients = fit_style_controlled(battles, control, anchor)
        samples = np.array([fit_style_controlled(pairs, control, anchor, m)[0]
                            for m in _multipliers(len(pairs), rounds, seed)])
        lower, upper = np.percentile(samples, 2.5, axis=0), np.percentile(samples, 97.5, axis=0)
        wr_lo = wr_hi = None
        if anchor is not None and convention == "arena-hard":  # each bound against the baseline's same bound
            wr_lo = 100 * win_probability(lower, lower[anchor])
            wr_hi = 100 * win_probability(upper, upper[anchor])
        elif anchor is not None:
            rates = 100 * win_probability(samples, samples[:, [anchor]])
            wr_lo, wr_hi = np.percentile(rates, 2.5, axis=0), np.percentile(rates, 97.5, axis=0)
    else:
        rating = fit.elo(anchor)
        boot = bootstrap(battles, rounds=rounds, seed=seed, anchor=anchor, convention=convention)
        lower, upper, wr_lo, wr_hi = boot.rating_lower, boot.rating_upper, boot.win_rate_lower, boot.win_rate_upper
    _, totals = pairs.pair_scores()
    elo = online_elo(pairs)
    awr = average_win_rate(pairs)
    wins = counting(pairs)
    rows = []
    for i, model in enumerate(battles.models):
        if totals[i].sum() == 0:
            continue
        row = Row(model, float(rating[i]), float(lower[i]), float(upper[i]), float(totals[i].sum()),
                  online_elo=float(elo[i]), average_win_rate=float(awr[i]), score=float(wins[i]))
        if anchor is not None:
            row.win_rate = float(100 * win_probability(rating[i], rating[anchor]))
            row.win_rate_lower, row.win_rate_upper = float(wr_lo[i]), float(wr_hi[i])
            if i == anchor:  # the baseline's win rate against itself is 50 by definition
                row.win_rate_lower = row.win_rate_upper = 50.0
        rows.append(row)
    rows.sort(key=lambda r: (-r.rating, r.model))
    notes = []
    if not fit.exact:
        notes.append("some model won or lost every comparison, so its rating is only a bound (a small ridge kept "
                     "it finite)")
    if convention == "arena-hard" and any(not r.rating_lower <= r.rating <= r.rating_upper for r in rows):
        notes.append("with the arena-hard convention an interval can leave out its own rating, as on Arena-Hard's "
                     "leaderboards: the bounds are percentiles of rounds pinned at the baseline, not around the fit")
    few = [r for r in rows if r.battles < MIN_BATTLES_FOR_INTERVAL]
    for r in few:
        r.rating_lower = r.rating_upper = r.win_rate_lower = r.win_rate_upper = None
    if few:
        notes.append(f"{len(few)} model(s) with fewer than {MIN_BATTLES_FOR_INTERVAL} battles: rating shown, no "
                     f"interval ({TOO_FEW})")
    shown = [r for r in rows if r.rating_lower is not None]
    quality = benchmark_quality([r.model for r in shown], np.array([r.rating for r in shown]),
                                np.array([r.rating_lower for r in shown]), np.array([r.rating_upper for r in shown]),
                                reference) if len(shown) >= 2 else None
    method = "bradley-terry" + (f" ({control} control)" if control else "")
    return Leaderboard(rows, method, baseline, convention, rounds, seed, control,
                       fit.exact, quality, report.line(), dict(report.skipped), coefficients, notes)


def _multipliers(n: int, rounds: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        yield np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)


def rank_grades(grades: Grades, *, rounds: int = 1000, seed: int = 42,
                reference: dict[str, float] | None = None) -> Leaderboard:
    """Mean 1-10 grade per model with a bootstrap interval over its questions."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, per_question in grades.scores.items():
        values = np.array(list(per_question.values()))
        draws = values[rng.integers(0, values.size, (rounds, values.size))].mean(axis=1)
        rows.append(Row(model, float(values.mean()), float(np.percentile(draws, 2.5)),
                        float(np.percentile(draws, 97.5)), float(values.size)))
    rows.sort(key=lambda r: (-r.rating, r.model))
    quality = benchmark_quality([r.model for r in rows], np.array([r.rating for r in rows]),
                                np.array([r.rating_lower for r in rows]), np.array([r.rating_upper for r in rows]),
                                reference)
    quality.brier = None  # grades are not on a win-probability scale
    return Leaderboard(rows, "mean grade", None, "percentile", rounds, seed, None, True, quality,
                       grades.report.line(), dict(grades.report.skipped))


def read_reference(path: str | Path) -> dict[str, float]:
    """A trusted ranking: a CSV with model and score/rating/elo columns, or a chatsift leaderboard JSON."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = orjson.loads(text)
        rows = data.get("rows", data) if isinstance(data, dict) else data
        if isinstance(rows, dict):
            return {str(k): float(v) for k, v in rows.items()}
        return {str(r["model"]): float(r.get("rating", r.get("score"))) for r in rows}
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    column = next((c for c in ("rating", "score", "elo", "arena_score", "elo_score") if c in fields), None)
    if "model" not in fields or column is None:
        raise RankingError(f"{path}: a reference ranking needs a model column and a score column "
                           "(rating, score, elo, arena_score)")
    return {r["model"]: float(r[column]) for r in reader if r.get(column) not in (None, "")}
