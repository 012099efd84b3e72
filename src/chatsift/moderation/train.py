"""Training the local moderator: per-head logistic regression, calibration and thresholds on held-out folds.

For every head with enough labels: stratified K-fold out-of-fold logits (the featurizer refitted
in each fold, so no fold sees its test texts) pick the regularisation by AUPRC, fit Platt scaling,
and choose the threshold that maximises F1 on the calibrated held-out scores. The final weights
are fitted on all labelled rows. The held-out metrics are stored in ``model.json``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold

from chatsift import __version__
from chatsift.errors import ConfigError
from chatsift.moderation.categories import HEADS
from chatsift.moderation.data import LabelledSet
from chatsift.moderation.features import Featurizer
from chatsift.moderation.local import LocalModerator


@dataclass(frozen=True)
class TrainSettings:
    c_grid: tuple[float, ...] = (4.0, 16.0, 32.0)
    folds: int = 5
    seed: int = 42
    min_df: int = 2
    max_terms: int = 200_000
    max_chars: int = 4000
    min_positives: int = 8  # a head with fewer positive (or negative) labels stays untrained
    # With harmless real prompts given (never trained on): each head's threshold is raised until it flags
    # at most this share of them, so that the tags hold at real traffic's prevalence (a few percent
    # positive), not only on a training mix that is half positive.
    harmless_rate: float = 0.002


def best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``p >= threshold``."""
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    i = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return (float(thresholds[i]) if len(thresholds) else 0.5), float(f1[i])


def _platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    model = LogisticRegression(C=1e6, max_iter=1000).fit(logits.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def _fit(x, y, c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=seed).fit(x, y)


def train_moderator(data: LabelledSet, settings: TrainSettings | None = None, name: str = "custom",
                    progress=None, harmless: list[str] | None = None) -> LocalModerator:
    s = settings or TrainSettings()
    if not len(data):
        raise ConfigError("no labelled messages to train on")
    heads = []
    for h, _head in enumerate(HEADS):
        known = np.flatnonzero(~np.isnan(data.labels[:, h]))
        y = data.labels[known, h].astype(int)
        if min(y.sum(), len(y) - y.sum()) < max(s.min_positives, s.folds):
            heads.append(None)
        else:
            heads.append((known, y))
    if not any(heads):
        raise ConfigError(f"no head has at least {s.min_positives} positive and negative labels; nothing to train")

    # Out-of-fold logits per head and C. One split of all rows (stratified on the first trained head)
    # serves every head, so the featurizer is fitted once per fold, on that fold's training texts.
    strata = np.nan_to_num(data.labels[:, next(h for h, pair in enumerate(heads) if pair)], nan=2).astype(int)
    held_out = {h: {c: np.zeros(len(pair[0])) for c in s.c_grid} for h, pair in enumerate(heads) if pair}
    position = {h: {row: i for i, row in enumerate(pair[0])} for h, pair in enumerate(heads) if pair}
    folds = StratifiedKFold(s.folds, shuffle=True, random_state=s.seed)
    for fold, (train_rows, test_rows) in enumerate(folds.split(np.zeros(len(data)), strata)):
        featurizer = Featurizer.fit([data.texts[i] for i in train_rows], s.min_df, s.max_terms, s.max_chars)
        x = featurizer.matrix(data.texts)
        for h, (known, y) in ((h, pair) for h, pair in enumerate(heads) if pair):
            tr = [position[h][r] for r in train_rows if r in position[h]]
            te = [position[h][r] for r in test_rows if r in position[h]]
            if not te or len(set(y[tr])) < 2:
                continue
            for c in s.c_grid:
                held_out[h][c][te] = _fit(x[known[tr]], y[tr], c, s.seed).decision_function(x[known[te]])
        if progress:
            progress(f"fold {fold + 1} of {s.folds}")

    featurizer = Featurizer.fit(data.texts, s.min_df, s.max_terms, s.max_chars)
    x_all = featurizer.matrix(data.texts)
    weights = np.zeros((featurizer.size, len(HEADS)), np.float32)
    bias = np.full(len(HEADS), -40.0)
    calibration = np.tile([1.0, 0.0], (len(HEADS), 1))
    thresholds = np.ones(len(HEADS))
    trained = np.zeros(len(HEADS), bool)
    settings_out = []
    out_of_fold: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for h, pair in enumerate(heads):
        if pair is None:
            settings_out.append({"labels": int((~np.isnan(data.labels[:, h])).sum()),
                                 "positives": int(np.nansum(data.labels[:, h]))})
            continue
        known, y = pair
        best_c = max(s.c_grid, key=lambda c: average_precision_score(y, held_out[h][c]))
        oof = held_out[h][best_c]
        a, b = _platt(oof, y)
        p = 1.0 / (1.0 + np.exp(-(a * oof + b)))
        threshold, f1 = best_threshold(y, p)
        out_of_fold[h] = (y, p)
        decided = p >= threshold
        tp = int((decided & (y == 1)).sum())
        model = _fit(x_all[known], y, best_c, s.seed)
        weights[:, h] = model.coef_[0]
        bias[h] = model.intercept_[0]
        calibration[h] = (a, b)
        thresholds[h] = threshold
        trained[h] = True
        settings_out.append({
            "labels": len(y), "positives": int(y.sum()), "C": best_c,
            "held_out": {"f1": round(f1, 4), "precision": round(float(tp / max(decided.sum(), 1)), 4),
                         "recall": round(float(tp / max(y.sum(), 1)), 4),
                         "auprc": round(float(average_precision_score(y, p)), 4)},
        })
    notes = f"thresholds maximise F1 on {s.folds}-fold out-of-fold predictions"
    model = LocalModerator(featurizer, weights, bias, calibration, thresholds, trained, {})
    if harmless:
        notes += (f", then are raised until each head flags at most {s.harmless_rate:.1%} of {len(harmless):,} "
                  "harmless real prompts it never trained on")
        _operating_point(model, harmless, s.harmless_rate, out_of_fold, settings_out)
    meta = {
        "name": name,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "chatsift_version": __version__,
        "trained_on": data.describe(),
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.__dict__.items()},
        "features": {"words": len(featurizer.word_vocab), "char_ngrams": len(featurizer.char_vocab)},
        "head_settings": settings_out,
        "threshold_note": notes,
    }
    model.meta = meta
    return model


def _operating_point(model: LocalModerator, harmless: list[str], rate: float,
                     out_of_fold: dict[int, tuple[np.ndarray, np.ndarray]], settings_out: list[dict]) -> None:
    """Raise each head's threshold to the (1 - rate) quantile of its scores on harmless prompts, and
    restate its held-out figures at the new threshold."""
    p_harmless = model.probabilities(harmless)
    for h, (y, p) in out_of_fold.items():
        floor = float(np.quantile(p_harmless[:, h], 1.0 - rate)) + 1e-9
        if floor > model.thresholds[h]:
            model.thresholds[h] = floor
        decided = p >= model.thresholds[h]
        tp = int((decided & (y == 1)).sum())
        precision, recall = tp / max(int(decided.sum()), 1), tp / max(int(y.sum()), 1)
        held = settings_out[h]["held_out"]
        held.update({"precision": round(precision, 4), "recall": round(recall, 4),
                     "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 4)})
        settings_out[h]["harmless_flag_rate"] = round(float((p_harmless[:, h] >= model.thresholds[h]).mean()), 4)
