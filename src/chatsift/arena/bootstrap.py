"""Bootstrap confidence intervals for Bradley–Terry ratings, in two conventions.

``percentile`` (the default) resamples the battle rows with replacement, refits, anchors every round
at the baseline (or at a mean of 1000) and takes the 2.5/97.5 percentiles of each model's rating and
of its win rate against the baseline *within each round*.

``arena-hard`` reproduces how Arena-Hard-Auto's ``show_result.py`` and the Ko-Arena-Hard-Auto
leaderboards made their intervals, which differ from a plain bootstrap in three ways:

1. a strong verdict counts as three battles and the bootstrap resamples the three copies one by one
   (they are separate rows of the battle table), pooled over all models;
2. the rounds are not anchored: the code passes its baseline under the wrong keyword, so each round's
   logistic regression keeps its own level. Without an intercept that level is set by the baseline's
   judgments of itself when the folder has them (their rows carry only the baseline's column) and is
   otherwise the zero-mean solution that lbfgs reaches from zero;
3. the 2.5/97.5 percentiles are taken per model on the Elo scale, and each bound is turned into a win
   rate against the baseline's bound at the same percentile (``get_win_rate_column`` on the
   ``lower``/``upper`` columns), not against the baseline of the same round.

Because the baseline moves with the models, these intervals are about a third as wide as the plain
ones. Both conventions are seeded, so a run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatsift.arena.battles import Battles
from chatsift.arena.ratings import ELO_INIT, ELO_SCALE, fit_bt, win_probability

CONVENTIONS = ("percentile", "arena-hard")


@dataclass
class BootstrapResult:
    ratings: np.ndarray  # rounds × models, Elo scale
    rating_lower: np.ndarray
    rating_upper: np.ndarray
    win_rate_lower: np.ndarray | None  # percent against the baseline
    win_rate_upper: np.ndarray | None
    rounds: int
    convention: str


def _resampled_rounds(battles: Battles, rounds: int, seed: int, anchor: int | None, pin_with_self: bool):
    rng = np.random.default_rng(seed)
    n = len(battles)
    self_rows = battles.a == battles.b
    start = None
    for _ in range(rounds):
        multiplier = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        wins, totals = battles.pair_scores(multiplier)
        present = totals.sum(axis=1) > 0
        ratings = np.full(len(battles.models), np.nan)
        if present.sum() >= 2:
            keep = np.flatnonzero(present)
            warm = start[keep] if start is not None and present.all() else None
            fit = fit_bt(wins[np.ix_(keep, keep)], totals[np.ix_(keep, keep)], init=warm, tol=1e-9)
            if start is None and present.all():
                start = fit.theta  # later rounds start from the first round's fit: fewer Newton steps
            ratings[keep] = fit.elo(None, 0.0)
        if anchor is not None and pin_with_self:
            ratings = _pin_level(ratings, battles, multiplier, self_rows, anchor)
        elif anchor is not None:
            ratings = ratings - ratings[anchor] + ELO_INIT
        else:
            ratings = ratings - np.nanmean(ratings) + ELO_INIT
        yield ratings


def _pin_level(ratings, battles, multiplier, self_rows, anchor):
    """Arena-Hard's unanchored level: the baseline's self-judgments, or else a mean of 1000."""
    weight = (multiplier * battles.weight)[self_rows]
    if weight.sum() > 0:
        share = float((weight * battles.score[self_rows]).sum() / weight.sum())
        share = min(max(share, 1e-9), 1 - 1e-9)
        # A self row is y ~ sigmoid(-ln10 * beta_base); its MLE is beta = -log10(share / (1 - share)).
        level = ELO_INIT - ELO_SCALE * np.log10(share / (1 - share))
        return ratings - ratings[anchor] + level
    return ratings - np.nanmean(ratings) + ELO_INIT


def bootstrap(battles: Battles, *, rounds: int = 1000, seed: int = 42, anchor: int | None = None,
              convention: str = "percentile") -> BootstrapResult:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown bootstrap convention {convention!r} (choose from {', '.join(CONVENTIONS)})")
    if convention == "arena-hard":
        rows = battles.expanded()
        samples = np.array(list(_resampled_rounds(rows, rounds, seed, anchor, pin_with_self=True)))
        lower, upper = np.nanpercentile(samples, 2.5, axis=0), np.nanpercentile(samples, 97.5, axis=0)
        wr_lo = wr_hi = None
        if anchor is not None:
            wr_lo = 100 * win_probability(lower, lower[anchor])
            wr_hi = 100 * win_probability(upper, upper[anchor])
        return BootstrapResult(samples, lower, upper, wr_lo, wr_hi, rounds, convention)
    rows = battles.without_self_battles()
    samples = np.array(list(_resampled_rounds(rows, rounds, seed, anchor, pin_with_self=False)))
    lower, upper = np.nanpercentile(samples, 2.5, axis=0), np.nanpercentile(samples, 97.5, axis=0)
    wr_lo = wr_hi = None
    if anchor is not None:
        rates = 100 * win_probability(samples, samples[:, [anchor]])
        wr_lo, wr_hi = np.nanpercentile(rates, 2.5, axis=0), np.nanpercentile(rates, 97.5, axis=0)
    return BootstrapResult(samples, lower, upper, wr_lo, wr_hi, rounds, convention)
