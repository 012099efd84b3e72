"""Style control: Bradley–Terry with answer-style covariates (Arena-Hard-Auto v2, Chatbot Arena 2024).

Each battle gets, per feature, the normalised difference ``(a - b) / (a + b + 1)`` of the two
answers' token count and markdown counts, standardised over the battles. A logistic regression on
the model columns plus these columns separates "which model" from "longer / more markdown", and the
model coefficients become the style-controlled ratings.
"""

from __future__ import annotations

import re

import numpy as np

from chatsift.arena.battles import Battles, RankingError
from chatsift.arena.ratings import ELO_INIT, ELO_SCALE, LN10

STYLE_FEATURES = {
    "style": ("tokens", "headers", "lists", "bold"),
    "length": ("tokens",),
    "markdown": ("headers", "lists", "bold"),
}
_HEADER = re.compile(r"^#{1,6}\s", re.M)
_LIST = re.compile(r"^\s*(?:[-*+]|\d+\.)\s", re.M)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def answer_style(text: str, tokens: int | None = None) -> dict[str, int]:
    """The style counts of one answer (Arena-Hard's ``conv_metadata``: headers, list items, bold spans)."""
    text = text or ""
    return {"tokens": int(tokens if tokens is not None else len(text.split())),
            "headers": len(_HEADER.findall(text)), "lists": len(_LIST.findall(text)),
            "bold": len(_BOLD.findall(text))}


def _design(battles: Battles, features: tuple[str, ...], anchor: int,
            weight: np.ndarray) -> tuple[np.ndarray, list[int]]:
    missing = [f for f in features if f not in battles.style]
    if missing:
        raise RankingError(f"style control needs {', '.join(missing)} for both answers of every battle "
                           "(give the model_answer folder)")
    m = len(battles.models)
    cols = [i for i in range(m) if i != anchor]
    x = np.zeros((len(battles), len(cols) + len(features)))
    pos = {c: j for j, c in enumerate(cols)}
    rows = np.arange(len(battles))
    for idx, sign in ((battles.a, 1.0), (battles.b, -1.0)):
        j = np.array([pos.get(int(i), -1) for i in idx])
        ok = j >= 0
        x[rows[ok], j[ok]] += sign
    for k, name in enumerate(features):
        fa, fb = (np.asarray(v, dtype=np.float64) for v in battles.style[name])
        diff = (fa - fb) / (fa + fb + 1.0)
        # Standardised over the rows the regression sees: a battle counts as often as its weight (Arena-Hard
        # writes a strong verdict as three rows), so mean and spread are weighted the same way.
        mean = np.average(diff, weights=weight)
        std = np.sqrt(np.average((diff - mean) ** 2, weights=weight))
        x[:, len(cols) + k] = (diff - mean) / std if std > 0 else 0.0
    return x, cols


def _logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, iters: int = 50, ridge: float = 1e-8) -> np.ndarray:
    beta = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (y - p)) - ridge * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + ridge * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def fit_style_controlled(battles: Battles, control: str, anchor: int | None = None,
                         multiplier: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Elo-scale ratings controlled for style, and the style coefficients (per standardised unit)."""
    features = STYLE_FEATURES[control]
    battles = battles.without_self_battles()
    ref = 0 if anchor is None else anchor
    w = battles.weight if multiplier is None else battles.weight * multiplier
    x, cols = _design(battles, features, ref, w)
    beta = _logistic(x, battles.score, w)
    theta = np.zeros(len(battles.models))
    theta[cols] = beta[:len(cols)]
    ratings = ELO_SCALE / LN10 * theta
    ratings += ELO_INIT - (ratings[anchor] if anchor is not None else ratings.mean())
    return ratings, {f: float(c) for f, c in zip(features, beta[len(cols):])}
