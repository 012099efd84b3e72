"""A jailbreak-prompt detector: is a user message a jailbreak template (DAN, developer mode, ...)?

A jailbreak is not the same as a harmful request: "how do I make a bomb" is harmful and no
jailbreak; a role-play frame that switches the rules off is a jailbreak whatever it asks. So
negatives include direct harmful requests and benign role-play prompts, not only ordinary chat.

The model is the local moderator's recipe with one head: word and character n-gram TF-IDF
(``moderation.features``), logistic regression, Platt calibration and an F1-maximising threshold
picked on out-of-fold predictions of the training part. Train and held-out parts are split by
near-duplicate group (8-word shingles, Jaccard >= 0.5, connected components), so that variants of one
template never sit on both sides: scores on variants of a template the model saw would flatter it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold

from chatsift import __version__
from chatsift.errors import ConfigError, InputError
from chatsift.moderation.features import Featurizer, load_featurizer, read_model_meta, save_featurizer
from chatsift.moderation.train import best_threshold

FORMAT = "chatsift-jailbreak-detector-1"
TEXT_COLUMNS = ("prompt", "question", "Behavior", "goal", "text", "forbidden_prompt")
_WORD = re.compile(r"\w+")


def bundled_detector_path() -> Path:
    return Path(str(resources.files("chatsift") / "data" / "jailbreak"))


@dataclass
class JailbreakDetector:
    featurizer: Featurizer
    weights: np.ndarray
    bias: float
    a: float
    b: float
    threshold: float
    meta: dict

    @property
    def name(self) -> str:
        return f"jailbreak:{self.meta.get('name', 'unnamed')}"

    def scores(self, texts: list[str | None]) -> np.ndarray:
        if not len(texts):
            return np.zeros(0)
        n_words = len(self.featurizer.word_vocab)
        w = self.weights.astype(np.float32)[:, None]
        logit = self.featurizer.project(texts, w[:n_words], w[n_words:])[:, 0] + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(self.a * logit + self.b, -40, 40)))

    def save(self, folder: str | os.PathLike) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_featurizer(folder, self.featurizer, weights=self.weights.astype(np.float16))
        meta = dict(self.meta, format=FORMAT, bias=self.bias, a=self.a, b=self.b, threshold=self.threshold,
                    max_chars=self.featurizer.max_chars)
        (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> JailbreakDetector:
        folder = Path(path) if path else bundled_detector_path()
        meta = read_model_meta(folder, "jailbreak detector", "chatsift safety detector-train")
        if meta.get("format") != FORMAT:
            raise ConfigError(f"{folder}: format {meta.get('format')!r} is not {FORMAT}")
        featurizer, arrays = load_featurizer(folder, int(meta["max_chars"]))
        return cls(featurizer, arrays["weights"].astype(np.float32), float(meta["bias"]), float(meta["a"]),
                   float(meta["b"]), float(meta["threshold"]), meta)


def read_texts(path: str | Path) -> list[str]:
    """Prompts from a CSV (a column named like ``TEXT_COLUMNS``), JSONL (``prompt``/``turns``) or JSON list."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            column = next((c for c in TEXT_COLUMNS if c in (reader.fieldnames or [])), None)
            if column is None:
                raise InputError(f"{path}: no prompt column (looked for {', '.join(TEXT_COLUMNS)})")
            return [r[column] for r in reader if (r.get(column) or "").strip()]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        return [t for t in data if isinstance(t, str) and t.strip()] if isinstance(data, list) else []
    out = []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 sits inside JSON strings
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise InputError(f"{path}:{number}: not a JSON line") from None
        if isinstance(rec, str):
            out.append(rec)
            continue
        turns = rec.get("turns")
        first = turns[0] if isinstance(turns, list) and turns else rec.get("prompt")
        first = first.get("content") if isinstance(first, dict) else first
        if isinstance(first, str) and first.strip():
            out.append(first)
    return out


def read_labelled_csv(path: str | Path) -> tuple[list[str], list[int]]:
    """jailbreak-classification's CSV: ``prompt`` and ``type`` (``jailbreak`` / ``benign``)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if (r.get("prompt") or "").strip()]
    if not rows or "type" not in rows[0]:
        raise InputError(f"{path}: expected columns prompt,type")
    return [r["prompt"] for r in rows], [int(r["type"].strip().lower() == "jailbreak") for r in rows]


def near_duplicate_groups(texts: list[str], shingle: int = 8, threshold: float = 0.5) -> np.ndarray:
    """Connected components of texts whose shingle sets have Jaccard similarity >= ``threshold``."""
    sets = []
    for t in texts:
        words = _WORD.findall(t.casefold())
        sets.append({hash(" ".join(words[i:i + shingle])) for i in range(max(1, len(words) - shingle + 1))})
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index: dict[int, list[int]] = {}
    for i, s in enumerate(sets):
        for h in s:
            index.setdefault(h, []).append(i)
    for i, s in enumerate(sets):
        seen = {j for h in s for j in index[h] if j > i}
        for j in seen:
            if len(s & sets[j]) / len(s | sets[j]) >= threshold:
                parent[find(i)] = find(j)
    return np.array([find(i) for i in range(len(texts))])


def _metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    decided = p >= threshold
    tp = int((decided & (y == 1)).sum())
    precision = tp / max(int(decided.sum()), 1)
    recall = tp / max(int(y.sum()), 1)
    return {"n": len(y), "positives": int(y.sum()), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 4),
            "auprc": round(float(average_precision_score(y, p)), 4) if 0 < y.sum() < len(y) else None}


def train_detector(texts: list[str], labels: list[int], sources: list[dict], held_out: float = 0.2, seed: int = 42,
                   c_grid: tuple[float, ...] = (1.0, 4.0, 16.0), name: str = "custom") -> JailbreakDetector:
    """Deduplicate exactly, split by near-duplicate group, fit on the training part, score the held-out part."""
    seen: dict[str, int] = {}
    keep_t, keep_y = [], []
    for t, y in zip(texts, labels):
        key = " ".join(_WORD.findall(t.casefold()))
        if key in seen:
            keep_y[seen[key]] = max(keep_y[seen[key]], y)  # a template listed as both: it is a jailbreak
            continue
        seen[key] = len(keep_t)
        keep_t.append(t)
        keep_y.append(y)
    y_all = np.array(keep_y)
    if min(y_all.sum(), len(y_all) - y_all.sum()) < 10:
        raise ConfigError("a jailbreak detector needs at least 10 jailbreak and 10 other prompts")
    groups = near_duplicate_groups(keep_t)
    rng = np.random.default_rng(seed)
    unique = np.unique(groups)
    test_groups = set(rng.choice(unique, size=max(1, int(len(unique) * held_out)), replace=False).tolist())
    test = np.array([g in test_groups for g in groups])
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    train_texts = [keep_t[i] for i in train_idx]
    y = y_all[train_idx]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    oof = {c: np.zeros(len(y)) for c in c_grid}
    for tr, te in folds.split(np.zeros(len(y)), y):
        f = Featurizer.fit([train_texts[i] for i in tr])
        x = f.matrix(train_texts)
        for c in c_grid:
            model = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=seed).fit(x[tr], y[tr])
            oof[c][te] = model.decision_function(x[te])
    best_c = max(c_grid, key=lambda c: average_precision_score(y, oof[c]))
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof[best_c].reshape(-1, 1), y)
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    p_oof = 1.0 / (1.0 + np.exp(-(a * oof[best_c] + b)))
    threshold, _ = best_threshold(y, p_oof)
    featurizer = Featurizer.fit(train_texts)
    model = LogisticRegression(C=best_c, solver="liblinear", max_iter=1000, random_state=seed).fit(
        featurizer.matrix(train_texts), y)
    detector = JailbreakDetector(featurizer, model.coef_[0].astype(np.float32), float(model.intercept_[0]), a, b,
                                 float(threshold), {})
    p_test = detector.scores([keep_t[i] for i in test_idx])
    detector.meta = {
        "name": name, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "chatsift_version": __version__, "trained_on": sources, "C": best_c,
        "prompts": {"distinct": len(keep_t), "jailbreak": int(y_all.sum()), "groups": len(unique),
                    "train": len(train_idx), "held_out": len(test_idx)},
        "split": f"{held_out:.0%} of near-duplicate groups held out (seed {seed})",
        "out_of_fold": _metrics(y, p_oof, threshold), "held_out": _metrics(y_all[test_idx], p_test, threshold),
        "held_out_ids": hashlib.sha256(",".join(map(str, test_idx)).encode()).hexdigest()[:16],
    }
    return detector
