"""chatsift's own moderator: a linear model per category over word and character n-grams.

A model folder holds ``model.json`` (what it was trained on, per-head calibration and thresholds,
held-out metrics), ``vocabulary.parquet`` and ``weights.npz``. Heads are the 11 categories of the
data contract plus ``flagged`` (any harm: ToxicChat's toxicity label trains only this head). A head
without training labels scores 0 and never fires. Scores are Platt-calibrated probabilities;
thresholds were chosen on held-out (out-of-fold) predictions to maximise F1.

A model trained with ``--encoder`` also holds one second stage per encoder (``encoder_heads.py``):
``load(encoder=...)`` (``moderation.encoder``) picks the one in use; by default the static-embedding
stage where the model has one, never the MiniLM one, which is far slower than the n-grams.
``use_point(name)`` switches every head to one of its named operating points.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa

from chatsift.common.repeats import RepeatCache
from chatsift.errors import ConfigError
from chatsift.moderation.categories import CATEGORIES, HEADS
from chatsift.moderation.encoder_heads import ENCODER, EncoderHeads, encode, stage_name
from chatsift.moderation.features import Featurizer, load_featurizer, read_model_meta, save_featurizer
from chatsift.moderation.settings import choose_stage

FORMAT_VERSION = 1


def bundled_model_path() -> Path:
    return Path(str(resources.files("chatsift") / "data" / "moderator"))


@dataclass
class ModerationOutput:
    """Per-message results of any backend, as arrays.

    ``scores`` and ``decisions`` are (messages, 11) in ``CATEGORIES`` order; ``flag_score`` is the
    backend's overall harm score; ``valid`` is false where the backend gave no usable answer.
    """

    scores: np.ndarray
    decisions: np.ndarray
    flagged: np.ndarray
    flag_score: np.ndarray
    valid: np.ndarray

    @classmethod
    def empty(cls, n: int) -> ModerationOutput:
        return cls(np.zeros((n, len(CATEGORIES))), np.zeros((n, len(CATEGORIES)), bool), np.zeros(n, bool),
                   np.zeros(n), np.ones(n, bool))


class LocalModerator:
    """Load with ``LocalModerator.load(path)`` (``None``: the model shipped with chatsift)."""

    def __init__(self, featurizer: Featurizer, weights: np.ndarray, bias: np.ndarray, calibration: np.ndarray,
                 thresholds: np.ndarray, trained: np.ndarray, meta: dict) -> None:
        self.featurizer = featurizer
        self.weights = weights.astype(np.float32)  # (features, heads)
        self.bias = bias.astype(np.float64)
        self.calibration = calibration.astype(np.float64)  # (heads, 2): p = sigmoid(a * logit + b)
        self.thresholds = thresholds.astype(np.float64)
        self.trained = trained.astype(bool)
        self.meta = meta
        self.stages: dict[str, EncoderHeads] = {}  # second stages by name (encoder_heads.stage_name)
        self.stage: str | None = None  # the one in use (see load)
        self.encoded = 0  # messages the stage in use has read (the cascade's share, for the figures)
        # the stage's answers by text (a few hundred bytes each, so at most ~70 MB a process); None: none kept
        self.repeats: RepeatCache | None = RepeatCache(max_chars=20_000, max_entries=200_000)

    @property
    def encoder_heads(self) -> EncoderHeads | None:
        return self.stages.get(self.stage) if self.stage else None

    @property
    def encoding(self) -> bool:
        return self.encoder_heads is not None

    def use_stage(self, choice: str | bool) -> None:
        """The second stage ``moderation.encoder`` names (``settings.STAGES``), or none."""
        self.stage = choose_stage(list(self.stages), choice)

    def active_thresholds(self) -> np.ndarray:
        """The thresholds of the stage in use (the second stage's own where one decides)."""
        return self.encoder_heads.thresholds if self.encoding else self.thresholds

    def use_point(self, point: str) -> None:
        """Every head at its named operating point (``settings.POINTS``), for the stage in use."""
        settings = self.encoder_heads.meta.get("head_settings", []) if self.encoding else self.meta.get(
            "head_settings", [])
        thresholds = self.active_thresholds()
        for h, head in enumerate(settings):
            points = head.get("points")
            if not points and (h < len(self.trained) and self.trained[h]):
                raise ConfigError(f"model {self.name} stores no operating points (trained before they existed); "
                                  "retrain it with `chatsift moderator train`, or set moderation.threshold")
            if points and point not in points:
                raise ConfigError(f"unknown operating point {point!r}; this model has {', '.join(points)}")
            if points:
                thresholds[h] = points[point]["threshold"]

    @property
    def name(self) -> str:
        return f"local:{self.meta.get('name', 'unnamed')}"

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, encoder: str | bool = "auto") -> LocalModerator:
        """The model in ``path`` (the bundled one by default); ``encoder``: which second stage to use."""
        folder = Path(path) if path else bundled_model_path()
        meta = read_model_meta(folder, "moderator model", "chatsift moderator train DATA --out FOLDER")
        if meta.get("format") != FORMAT_VERSION or meta.get("heads") != list(HEADS):
            raise ConfigError(f"{folder}: model format {meta.get('format')} with heads {meta.get('heads')} is not "
                              f"what this chatsift reads (format {FORMAT_VERSION})")
        featurizer, w = load_featurizer(folder, int(meta["max_chars"]))
        heads = meta["head_settings"]
        model = cls(featurizer, w["weights"], w["bias"], np.array([[h["a"], h["b"]] for h in heads]),
                    np.array([h["threshold"] for h in heads]), np.array([h["trained"] for h in heads]), meta)
        for stage_meta in stage_metas(meta).values():
            stage = EncoderHeads.load(folder, stage_meta)
            model.stages[stage.name] = stage
        model.use_stage(encoder)
        return model

    def save(self, folder: str | os.PathLike) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        f = self.featurizer
        save_featurizer(folder, f, weights=self.weights.astype(np.float16), bias=self.bias)
        meta = dict(self.meta, format=FORMAT_VERSION, heads=list(HEADS), max_chars=f.max_chars)
        previous = self.meta.get("head_settings") or [{} for _ in HEADS]  # training adds metrics per head
        meta["head_settings"] = [
            {**previous[i], "head": h, "trained": bool(self.trained[i]), "a": float(self.calibration[i, 0]),
             "b": float(self.calibration[i, 1]), "threshold": float(self.thresholds[i])}
            for i, h in enumerate(HEADS)]
        meta.pop("encoder_stage", None)  # one stage, as models before v4 stored it (read by stage_metas)
        if self.stages:
            meta["encoder_stages"] = {name: stage.save(folder) for name, stage in self.stages.items()}
        (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder

    def logits(self, texts: list[str | None] | pa.Array) -> np.ndarray:
        n_words = len(self.featurizer.word_vocab)
        return self.featurizer.project(texts, self.weights[:n_words], self.weights[n_words:]) + self.bias

    def probabilities(self, texts: list[str | None] | pa.Array) -> np.ndarray:
        """(texts, heads) calibrated probabilities; untrained heads are 0. With a second stage in use,
        the rows where some head's n-gram probability reaches its floor are encoded and restated."""
        logits = self.logits(texts)
        z = logits * self.calibration[:, 0] + self.calibration[:, 1]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        p[:, ~self.trained] = 0.0
        if self.encoding:
            self._restate(texts, logits, p)
        return p

    def _restate(self, texts: list[str | None] | pa.Array, logits: np.ndarray, p: np.ndarray) -> None:
        """The second stage's probabilities in place of the n-grams' where it is consulted; a text read
        before (chat logs repeat: "hi", templated prompts) is answered from memory."""
        stage = self.encoder_heads
        rows = np.flatnonzero(stage.consulted(p))
        if not len(rows):
            return
        values = texts.to_pylist() if isinstance(texts, pa.Array) else texts
        memory = self.repeats
        todo, keys = [], []
        for i in rows:
            key = memory.key(values[i] or "", self.stage) if memory is not None else None
            known = memory.get(key) if memory is not None else None
            if known is None:
                todo.append(i)
                keys.append(key)
            else:
                p[i] = known
        if not todo:
            return
        embeddings = encode([values[i] for i in todo], stage.encoder, self.featurizer.max_chars)
        restated = stage.probabilities(logits[todo], p[todo], embeddings)
        restated[:, ~self.trained] = 0.0
        p[todo] = restated
        if memory is not None:
            for key, row in zip(keys, restated):
                memory.put(key, row)
        self.encoded += len(todo)

    def moderate(self, texts: list[str | None] | pa.Array) -> ModerationOutput:
        p = self.probabilities(texts)
        decide = (p >= self.active_thresholds()) & self.trained
        cats = len(CATEGORIES)
        flag_head = p[:, cats]
        flagged = decide[:, :cats].any(axis=1) | decide[:, cats]
        flag_score = np.maximum(flag_head, p[:, :cats].max(axis=1))
        return ModerationOutput(p[:, :cats], decide[:, :cats], flagged, flag_score, np.ones(len(p), bool))


def stage_metas(meta: dict) -> dict[str, dict]:
    """A model's second stages by name, from its ``model.json`` (one-stage models kept ``encoder_stage``)."""
    if meta.get("encoder_stages"):
        return dict(meta["encoder_stages"])
    single = meta.get("encoder_stage")
    return {stage_name(single.get("encoder", ENCODER)): single} if single else {}
