"""Training the local moderator: per-head logistic regression, calibration and thresholds on held-out folds.

For every head with enough labels: stratified K-fold out-of-fold logits (the featurizer refitted
in each fold, so no fold sees its test texts) pick the regularisation by AUPRC, fit Platt scaling,
and choose the threshold that maximises F1 on the calibrated held-out scores. The final weights
are fitted on all labelled rows. The held-out metrics are stored in ``model.json``.

With ``encoder=True`` a second stage (``encoder_heads``) per encoder of ``encoder_models`` is fitted on
the same folds, each with its own thresholds chosen the same way. Every head also stores named
operating points (``settings.POINTS``), each with its out-of-fold precision and recall, so that a user
can trade recall for precision by name.
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
from chatsift.moderation.encoder_heads import ENCODER, encode, fit_encoder_heads
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
    encoder: bool = False  # also fit second stages over sentence encoders
    # one stage per encoder: the bundled MiniLM (the topics extra), "static" (the static table chatsift
    # ships: about 60x faster, a smaller gain; BENCHMARKS.md, "A static-embedding stage")
    encoder_models: tuple[str, ...] = (ENCODER,)
    encoder_c: float = 4.0


PRECISION_TARGET = 0.9
RECALL_TARGET = 0.8


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
    splits = list(StratifiedKFold(s.folds, shuffle=True, random_state=s.seed).split(np.zeros(len(data)), strata))
    for fold, (train_rows, test_rows) in enumerate(splits):
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
    ngram_oof: dict[int, np.ndarray] = {}
    for h, pair in enumerate(heads):
        if pair is None:
            settings_out.append({"labels": int((~np.isnan(data.labels[:, h])).sum()),
                                 "positives": int(np.nansum(data.labels[:, h]))})
            continue
        known, y = pair
        best_c = max(s.c_grid, key=lambda c: average_precision_score(y, held_out[h][c]))
        ngram_oof[h] = held_out[h][best_c]
        a, b = _platt(ngram_oof[h], y)
        p = 1.0 / (1.0 + np.exp(-(a * ngram_oof[h] + b)))
        out_of_fold[h] = (y, p)
        model = _fit(x_all[known], y, best_c, s.seed)
        weights[:, h] = model.coef_[0]
        bias[h] = model.intercept_[0]
        calibration[h] = (a, b)
        thresholds[h] = best_threshold(y, p)[0]
        trained[h] = True
        settings_out.append({"labels": len(y), "positives": int(y.sum()), "C": best_c,
                             "held_out": {"auprc": round(float(average_precision_score(y, p)), 4)}})
    notes = f"thresholds maximise F1 on {s.folds}-fold out-of-fold predictions"
    if harmless:
        notes += (f", then are raised until each head flags at most {s.harmless_rate:.1%} of {len(harmless):,} "
                  "harmless real prompts it never trained on")
    model = LocalModerator(featurizer, weights, bias, calibration, thresholds, trained, {})
    harmless_p = model.probabilities(harmless) if harmless else None
    _choose_points(model.thresholds, out_of_fold, harmless_p, s.harmless_rate, settings_out)
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
    for encoder in s.encoder_models if s.encoder else ():
        if progress:
            progress(f"encoding {len(data):,} texts with {encoder}")
        embeddings = encode(data.texts, encoder, s.max_chars)
        stage, stage_oof = fit_encoder_heads(embeddings, heads, splits, ngram_oof, calibration, s.encoder_c, s.seed,
                                             encoder)
        model.stages[stage.name] = stage
        model.stage = stage.name
        stage_harmless = model.probabilities(harmless) if harmless else None  # this stage in use
        stage_settings = [{"head": head} for head in HEADS]
        for h, (y, p) in stage_oof.items():
            stage_settings[h]["held_out"] = {"auprc": round(float(average_precision_score(y, p)), 4)}
            stage.thresholds[h] = best_threshold(y, p)[0]
        _choose_points(stage.thresholds, stage_oof, stage_harmless, s.harmless_rate, stage_settings)
        stage.meta["head_settings"] = stage_settings
    model.use_stage("auto")
    return model


def _flags(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    decided = p >= threshold
    tp = int((decided & (y == 1)).sum())
    precision, recall = tp / max(int(decided.sum()), 1), tp / max(int(y.sum()), 1)
    return {"threshold": float(threshold), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 4)}


def _choose_points(thresholds: np.ndarray, out_of_fold: dict[int, tuple[np.ndarray, np.ndarray]],
                   harmless_p: np.ndarray | None, rate: float, settings_out: list[dict]) -> None:
    """Per head: the balanced threshold (max F1, raised to the (1 - rate) quantile of the harmless prompts'
    scores when given) goes into ``thresholds``; every named point, with its out-of-fold figures (and the
    share of harmless prompts it flags), into the head's settings."""
    for h, (y, p) in out_of_fold.items():
        balanced = float(thresholds[h])
        if harmless_p is not None:
            balanced = max(balanced, float(np.quantile(harmless_p[:, h], 1.0 - rate)) + 1e-9)
        thresholds[h] = balanced
        precision, recall, cuts = precision_recall_curve(y, p)
        precise = [t for t, q in zip(cuts, precision[:-1]) if q >= PRECISION_TARGET]
        recalled = [t for t, r in zip(cuts, recall[:-1]) if r >= RECALL_TARGET]
        chosen = {"balanced": balanced,
                  "precision": max(balanced, min(precise) if precise else float(cuts[np.argmax(precision[:-1])])),
                  "recall": min(balanced, max(recalled) if recalled else float(cuts[0]))}
        points = {}
        for point, threshold in chosen.items():
            points[point] = _flags(y, p, threshold)
            if harmless_p is not None:
                points[point]["harmless_flag_rate"] = round(float((harmless_p[:, h] >= threshold).mean()), 4)
        settings_out[h]["points"] = points
        settings_out[h]["held_out"].update({k: v for k, v in points["balanced"].items() if k != "threshold"})
        if harmless_p is not None:
            settings_out[h]["harmless_flag_rate"] = points["balanced"]["harmless_flag_rate"]


def score_held_apart(model: LocalModerator, data: LabelledSet, spec: str) -> dict:
    """The model's figures on labelled data held apart from training, stored in its meta under
    ``heldout[spec]``: the n-grams alone and each second stage (in that stage's meta), so that whichever
    a release uses, its card prints that one's figures."""
    from chatsift.moderation.evaluate import evaluate

    using = model.stage
    stages = [(model.meta, None)] + [(stage.meta, name) for name, stage in model.stages.items()]
    reports = {}
    try:
        for meta, name in stages:
            model.stage = name
            report = evaluate(data, model.moderate(data.texts))
            meta.setdefault("heldout", {})[spec] = {"messages": len(data), "binary": report.get("binary"),
                                                   "categories": report.get("categories")}
            reports[f"{name} stage" if name else "n-grams"] = report.get("binary")
    finally:
        model.stage = using
    return reports

