"""Scoring moderators against labelled messages, as the paper's Table 3 and the ToxicChat card do.

- ``binary``: flagged vs not, on messages whose overall label is known (precision, recall, F1 and,
  where the backend gives graded scores, AUPRC);
- ``categories``: per category of the data contract and per parent, on messages that carry that label;
- ``micro_f1``: Table 3's metric: every (message, parent category) pair a binary decision, TP/FP/FN
  summed over the parents, only where the parent's label is known.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from chatsift.moderation.categories import CATEGORIES, HEADS, PARENT_OF, PARENTS
from chatsift.moderation.data import LabelledSet
from chatsift.moderation.local import ModerationOutput


def prf(gold: np.ndarray, pred: np.ndarray) -> dict:
    tp = int((gold & pred).sum())
    fp = int((~gold & pred).sum())
    fn = int((gold & ~pred).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
            "support": int(gold.sum()), "n": len(gold)}


def _auprc(gold: np.ndarray, score: np.ndarray) -> float | None:
    if gold.all() or not gold.any() or len(np.unique(score)) < 3:  # a 0/1 answer has no ranking to score
        return None
    return round(float(average_precision_score(gold, score)), 4)


def _parent_labels(labels: np.ndarray) -> np.ndarray:
    """(n, 5) parent labels: positive if any sub-category is, negative if every known one is, else NaN."""
    out = np.full((labels.shape[0], len(PARENTS)), np.nan)
    for j, parent in enumerate(PARENTS):
        cols = labels[:, [HEADS.index(c) for c in CATEGORIES if PARENT_OF[c] == parent]]
        known = ~np.isnan(cols)
        pos = np.nan_to_num(cols, nan=0).max(axis=1) == 1
        out[known.any(axis=1), j] = 0
        out[pos, j] = 1
    return out


def evaluate(data: LabelledSet, out: ModerationOutput) -> dict:
    valid = out.valid
    flag = data.labels[:, HEADS.index("flagged")]
    report: dict = {"messages": len(data), "no_answer": int((~valid).sum())}
    known = ~np.isnan(flag)
    if known.any():
        gold = flag[known] == 1
        report["binary"] = {**prf(gold, out.flagged[known] & valid[known]),
                            "auprc": _auprc(gold, np.where(valid, out.flag_score, 0)[known])}
    categories = {}
    for i, category in enumerate(CATEGORIES):
        col = data.labels[:, HEADS.index(category)]
        k = ~np.isnan(col)
        if k.any() and (col[k] == 1).any():
            gold = col[k] == 1
            categories[category] = {**prf(gold, out.decisions[k, i] & valid[k]),
                                    "auprc": _auprc(gold, out.scores[k, i])}
    parents = _parent_labels(data.labels)
    pred_parent = np.zeros_like(parents, dtype=bool)
    score_parent = np.zeros_like(parents)
    for j, parent in enumerate(PARENTS):
        cols = [i for i, c in enumerate(CATEGORIES) if PARENT_OF[c] == parent]
        pred_parent[:, j] = out.decisions[:, cols].any(axis=1) & valid
        score_parent[:, j] = out.scores[:, cols].max(axis=1)
    tp = fp = fn = 0
    for j, parent in enumerate(PARENTS):
        k = ~np.isnan(parents[:, j])
        if not k.any():
            continue
        gold = parents[k, j] == 1
        pred = pred_parent[k, j]
        tp, fp, fn = tp + int((gold & pred).sum()), fp + int((~gold & pred).sum()), fn + int((gold & ~pred).sum())
        if gold.any():
            categories[f"{parent} (parent)"] = {**prf(gold, pred), "auprc": _auprc(gold, score_parent[k, j])}
    if tp + fp + fn:
        report["micro_f1"] = round(2 * tp / (2 * tp + fp + fn), 4)
    report["categories"] = categories
    return report
