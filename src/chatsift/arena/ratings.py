"""Ranking methods over ``Battles``: Bradley–Terry (MLE), online Elo, counting, average win rate.

Bradley–Terry is fitted by Newton's method on the log-likelihood with ties counted as half a win
for each side (the convention of Evalica and of FastChat's ``compute_mle_elo``, which stacks the
battles twice and gives a tie one win per copy). The MLE exists only when every model both gains
and drops points against the connected rest; otherwise a tiny ridge keeps the fit finite and the
result says so (``exact=False``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import connected_components

from chatsift.arena.battles import Battles, RankingError

LN10 = math.log(10.0)
ELO_SCALE, ELO_BASE, ELO_INIT = 400.0, 10.0, 1000.0
_RIDGE = 1e-4


@dataclass
class BTFit:
    theta: np.ndarray  # natural-log strengths, mean zero
    exact: bool  # False when the MLE does not exist and a ridge kept it finite
    iterations: int

    def strengths(self) -> np.ndarray:
        """exp(theta) normalised to sum 1 (Evalica's ``bradley_terry`` scores)."""
        p = np.exp(self.theta - self.theta.max())
        return p / p.sum()

    def elo(self, anchor: int | None = None, anchor_rating: float = ELO_INIT) -> np.ndarray:
        """On the Elo scale (400 points = 10× odds); the anchor model sits at ``anchor_rating``."""
        ratings = ELO_SCALE / LN10 * self.theta
        shift = anchor_rating - (ratings[anchor] if anchor is not None else 0.0)
        return ratings + shift


def mle_exists(wins: np.ndarray) -> bool:
    """True when the "scored against" graph is strongly connected (Zermelo's / Ford's condition)."""
    graph = (wins > 0).astype(np.int8)
    n, _ = connected_components(graph, directed=True, connection="strong")
    return n == 1


def fit_bt(wins: np.ndarray, totals: np.ndarray | None = None, *, tol: float = 1e-12, max_iter: int = 200,
           init: np.ndarray | None = None) -> BTFit:
    """Bradley–Terry MLE from ``wins[i, j]`` (i's score against j, ties as half)."""
    m = wins.shape[0]
    if m < 2:
        raise RankingError("a ranking needs at least two models")
    totals = wins + wins.T if totals is None else totals
    if not totals.any():
        raise RankingError("no comparisons between different models")
    exact = mle_exists(wins)
    ridge = 0.0 if exact else _RIDGE * max(1.0, float(totals.sum()) / m)
    theta = np.zeros(m) if init is None else np.array(init, dtype=np.float64)
    score = wins.sum(axis=1)
    ones = np.ones((m, m))

    def loglik(t: np.ndarray) -> float:
        d = t[:, None] - t[None, :]
        return float(-(wins * np.logaddexp(0.0, -d)).sum() - 0.5 * ridge * (t @ t))

    current = loglik(theta)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # P(i beats j)
        grad = score - (totals * p).sum(axis=1) - ridge * theta
        info = totals * p * p.T
        hess = np.diag(info.sum(axis=1) + ridge) - info  # the negative Hessian, positive semi-definite
        # theta is only defined up to a shift; adding 11^T makes the system regular and the step sum to zero.
        step = np.linalg.solve(hess + ones, grad)
        size = 1.0
        while True:
            candidate = theta + size * step
            value = loglik(candidate)
            if value >= current - 1e-12 or size < 1e-8:
                break
            size /= 2
        theta, current = candidate, value
        if np.abs(size * step).max() < tol:
            break
    return BTFit(theta - theta.mean(), exact, iterations)


def bradley_terry(battles: Battles) -> BTFit:
    wins, totals = battles.without_self_battles().pair_scores()
    return fit_bt(wins, totals)


def win_probability(rating_a: np.ndarray | float, rating_b: np.ndarray | float) -> np.ndarray | float:
    """P(A beats B) from Elo-scale ratings."""
    return 1.0 / (1.0 + ELO_BASE ** ((np.asarray(rating_b) - np.asarray(rating_a)) / ELO_SCALE))


def online_elo(battles: Battles, k: float = 4.0, initial: float = ELO_INIT) -> np.ndarray:
    """FastChat ``compute_elo``: one pass over the battles in their order (K=4, base 10, scale 400)."""
    ratings = np.full(len(battles.models), initial)
    for a, b, s, w in zip(battles.a.tolist(), battles.b.tolist(), battles.score.tolist(), battles.weight.tolist()):
        if a == b:
            continue
        expected = 1.0 / (1.0 + ELO_BASE ** ((ratings[b] - ratings[a]) / ELO_SCALE))
        delta = k * w * (s - expected)
        ratings[a] += delta
        ratings[b] -= delta
    return ratings


def counting(battles: Battles) -> np.ndarray:
    """Wins plus half the ties, per model."""
    wins, _ = battles.without_self_battles().pair_scores()
    return wins.sum(axis=1)


def average_win_rate(battles: Battles) -> np.ndarray:
    """Mean over the opponents a model met of its score share against each (ties half)."""
    wins, totals = battles.without_self_battles().pair_scores()
    met = totals > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(met, wins / np.where(met, totals, 1.0), 0.0)
        return np.where(met.any(axis=1), rates.sum(axis=1) / met.sum(axis=1), np.nan)
