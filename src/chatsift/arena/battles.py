"""Pairwise outcomes as arrays: the one input every ranking method reads.

A ``Battles`` holds one row per comparison: the two models (indices into ``models``), the score of
model A (1 win, 0.5 tie, 0 loss) and a weight (Arena-Hard counts a strong verdict as 3 battles).
Rows may carry the question they came from, and per-side style features for style control.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from chatsift.errors import ChatsiftError

WIN, TIE, LOSS = 1.0, 0.5, 0.0


class RankingError(ChatsiftError):
    """The comparisons cannot give a ranking (too few models, no comparisons, unknown baseline)."""


@dataclass
class Battles:
    models: list[str]
    a: np.ndarray  # int32 index of model A
    b: np.ndarray  # int32 index of model B
    score: np.ndarray  # float64 score of A
    weight: np.ndarray  # float64
    question: list[str] | None = None
    style: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.a.size)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, float]], weights: Sequence[float] | None = None,
                  questions: Sequence[str] | None = None) -> Battles:
        """``rows`` are (model_a, model_b, score of A). Models are indexed in sorted order."""
        rows = list(rows)
        models = sorted({m for r in rows for m in r[:2]})
        index = {m: i for i, m in enumerate(models)}
        n = len(rows)
        a = np.fromiter((index[r[0]] for r in rows), np.int32, n)
        b = np.fromiter((index[r[1]] for r in rows), np.int32, n)
        score = np.fromiter((float(r[2]) for r in rows), np.float64, n)
        weight = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        return cls(models, a, b, score, weight, list(questions) if questions is not None else None)

    def index(self, model: str) -> int:
        try:
            return self.models.index(model)
        except ValueError:
            raise RankingError(f"model {model!r} is not in the comparisons (models: {_names(self.models)})") from None

    def without_self_battles(self) -> Battles:
        """A model compared with itself says nothing about its rating; such rows are left out of fits."""
        keep = self.a != self.b
        return self.select(keep) if not keep.all() else self

    def select(self, mask: np.ndarray) -> Battles:
        questions = None if self.question is None else [q for q, k in zip(self.question, mask) if k]
        return Battles(self.models, self.a[mask], self.b[mask], self.score[mask], self.weight[mask], questions,
                       {k: (fa[mask], fb[mask]) for k, (fa, fb) in self.style.items()})

    def pair_scores(self, multiplier: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``W[i, j]``: i's (weighted) score against j; ``N[i, j]``: the weight of all i-j comparisons."""
        m = len(self.models)
        w = self.weight if multiplier is None else self.weight * multiplier
        won = np.bincount(self.a * m + self.b, weights=w * self.score, minlength=m * m)
        lost = np.bincount(self.b * m + self.a, weights=w * (1.0 - self.score), minlength=m * m)
        wins = (won + lost).reshape(m, m)
        np.fill_diagonal(wins, 0.0)
        return wins, wins + wins.T

    def expanded(self) -> Battles:
        """Integer weights as repeated rows (Arena-Hard's bootstrap resamples the copies one by one)."""
        reps = np.rint(self.weight).astype(np.int64)
        if not np.allclose(reps, self.weight):
            raise RankingError("only whole-number weights can be expanded into battles")
        idx = np.repeat(np.arange(len(self)), reps)
        questions = None if self.question is None else [self.question[i] for i in idx]
        return Battles(self.models, self.a[idx], self.b[idx], self.score[idx], np.ones(idx.size), questions,
                       {k: (fa[idx], fb[idx]) for k, (fa, fb) in self.style.items()})


def _names(models: list[str], limit: int = 8) -> str:
    shown = ", ".join(models[:limit])
    return shown + (f", … ({len(models)} in all)" if len(models) > limit else "")
