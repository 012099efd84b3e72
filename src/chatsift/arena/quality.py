"""How good a benchmark's ranking is (Arena-Hard paper, section 4): separability, agreement, Spearman, Brier."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from chatsift.arena.ratings import win_probability


@dataclass
class Quality:
    separability: float  # share of model pairs whose 95% intervals do not overlap
    pairs: int
    agreement: float | None = None  # confident pairs: +1 agree, -1 disagree, 0 not separable; mean over pairs
    spearman: float | None = None
    brier: float | None = None
    common_models: int = 0

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def separability(lower: np.ndarray, upper: np.ndarray) -> tuple[float, int]:
    pairs = list(itertools.combinations(range(len(lower)), 2))
    if not pairs:
        return float("nan"), 0
    apart = sum(1 for i, j in pairs if lower[i] > upper[j] or lower[j] > upper[i])
    return apart / len(pairs), len(pairs)


def benchmark_quality(models: list[str], rating: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                      reference: dict[str, float] | None = None) -> Quality:
    """``reference``: a trusted ranking (e.g. the human Arena's scores), higher is better."""
    sep, pairs = separability(lower, upper)
    quality = Quality(sep, pairs)
    if not reference:
        return quality
    common = [i for i, m in enumerate(models) if m in reference]
    quality.common_models = len(common)
    if len(common) < 2:
        return quality
    ref = np.array([reference[models[i]] for i in common], dtype=np.float64)
    ours = rating[common]
    rho = spearmanr(ours, ref).statistic
    quality.spearman = float(rho) if np.isfinite(rho) else None
    votes, brier = [], []
    for x, y in itertools.combinations(range(len(common)), 2):
        i, j = common[x], common[y]
        if ref[x] == ref[y]:
            continue
        truth = 1.0 if ref[x] > ref[y] else 0.0
        brier.append((float(win_probability(rating[i], rating[j])) - truth) ** 2)
        if lower[i] > upper[j] or lower[j] > upper[i]:
            votes.append(1.0 if (rating[i] > rating[j]) == (truth == 1.0) else -1.0)
        else:
            votes.append(0.0)
    if votes:
        quality.agreement = float(np.mean(votes))
        quality.brier = float(np.mean(brier))
    return quality
