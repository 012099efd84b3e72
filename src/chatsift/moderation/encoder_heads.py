"""The moderator's second stage: logistic heads over a sentence encoder, stacked on the n-gram heads.

n-grams see words, not what a request is after: a paraphrased or role-played request shares few
n-grams with the training texts. A sentence encoder (the all-MiniLM-L6-v2 chatsift already bundles)
places such texts near their kind. Per head, a logistic regression over the encoder's embedding gives a
second logit, and a two-feature logistic regression fitted on out-of-fold logits of both (so that it
learns how far to trust each, and calibrates the sum) gives the probability.

A model may hold one such stage per encoder: ``static`` (the static table chatsift ships, tens of
microseconds a message: on by default) and the bundled MiniLM (about 6 ms a message: opt-in). Either is
a cascade: a message is encoded only where some head's n-gram probability reaches that head's *floor*.
The floor is chosen in training so that at most ``MISSED_SHARE`` of the out-of-fold positives the
stacked model catches lie under it; the figures stored for this stage are measured with the cascade in
place, that loss included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from chatsift.errors import ConfigError

ENCODER = "st:all-MiniLM-L6-v2"
STATIC = "static"
MISSED_SHARE = 0.01


def stage_name(encoder: str) -> str:
    """How settings, tags and the model's files name the stage over ``encoder``."""
    return {ENCODER: "minilm", STATIC: STATIC}.get(encoder, encoder)


def stage_file(encoder: str) -> str:
    if encoder == ENCODER:
        return "encoder_heads.npz"  # the name models with one (MiniLM) stage gave it
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in stage_name(encoder)) + "_heads.npz"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def encode(texts: Sequence[str | None], encoder: str = ENCODER, max_chars: int = 4000) -> np.ndarray:
    """L2-normalised sentence embeddings (the topics extra's sentence-transformers, offline)."""
    from chatsift.analysis.topics.embed import get_embedder

    try:
        embedder = _embedders[encoder] if encoder in _embedders else _embedders.setdefault(
            encoder, get_embedder(encoder))
    except ConfigError as exc:
        raise ConfigError(f"the moderator's second stage needs {encoder}: {exc}") from None
    return embedder.embed([(t or "")[:max_chars] for t in texts])


_embedders: dict[str, object] = {}  # one loaded encoder per process (loading takes about a second)


@dataclass
class EncoderHeads:
    """Per head: encoder weights and bias, the stacking (a, b, c: ``a * ngram_logit + b * encoder_logit +
    c``), the n-gram probability floor under which a message is not encoded, and the thresholds."""

    weights: np.ndarray  # (dimensions, heads)
    bias: np.ndarray  # (heads,)
    stack: np.ndarray  # (heads, 3)
    floors: np.ndarray  # (heads,)
    thresholds: np.ndarray  # (heads,)
    trained: np.ndarray  # (heads,) bool
    encoder: str = ENCODER
    meta: dict = field(default_factory=dict)

    def consulted(self, ngram_probabilities: np.ndarray) -> np.ndarray:
        """Rows worth encoding: some trained head's n-gram probability reaches its floor."""
        return ((ngram_probabilities >= self.floors) & self.trained).any(axis=1)

    def probabilities(self, ngram_logits: np.ndarray, ngram_probabilities: np.ndarray,
                      embeddings: np.ndarray) -> np.ndarray:
        """The stacked probability where a head's n-gram probability reaches its floor, else the n-gram one
        (as in training, so the stored figures hold)."""
        z = embeddings @ self.weights + self.bias
        p = sigmoid(self.stack[:, 0] * ngram_logits + self.stack[:, 1] * z + self.stack[:, 2])
        return np.where((ngram_probabilities >= self.floors) & self.trained, p, ngram_probabilities)

    @property
    def name(self) -> str:
        return stage_name(self.encoder)

    def save(self, folder: Path) -> dict:
        file = stage_file(self.encoder)
        np.savez_compressed(folder / file, weights=self.weights.astype(np.float32), bias=self.bias, stack=self.stack,
                            floors=self.floors, thresholds=self.thresholds, trained=self.trained)
        return dict(self.meta, encoder=self.encoder, file=file)

    @classmethod
    def load(cls, folder: Path, meta: dict) -> EncoderHeads:
        try:
            with np.load(folder / meta.get("file", stage_file(meta.get("encoder", ENCODER)))) as w:
                arrays = {k: w[k] for k in ("weights", "bias", "stack", "floors", "thresholds", "trained")}
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"{folder}: the second stage's weights could not be read ({exc})") from None
        return cls(**arrays, encoder=meta.get("encoder", ENCODER), meta=meta)


def fit_encoder_heads(embeddings: np.ndarray, heads: list[tuple[np.ndarray, np.ndarray] | None],
                      splits: list[tuple[np.ndarray, np.ndarray]], ngram_oof: dict[int, np.ndarray],
                      ngram_calibration: np.ndarray, c: float = 4.0, seed: int = 42, encoder: str = ENCODER,
                      ) -> tuple[EncoderHeads, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Fit the stage on the rows each head has labels for, using the n-gram heads' out-of-fold logits.

    Returns the stage (thresholds still unset) and, per head, (labels, out-of-fold probability of the
    cascade) for choosing thresholds and stating figures.
    """
    from chatsift.moderation.train import best_threshold

    n_heads = len(heads)
    dims = embeddings.shape[1]
    weights = np.zeros((dims, n_heads), np.float32)
    bias = np.full(n_heads, -40.0)
    stack = np.tile([1.0, 0.0, 0.0], (n_heads, 1))
    floors = np.ones(n_heads)
    trained = np.zeros(n_heads, bool)
    out_of_fold: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for h, pair in enumerate(heads):
        if pair is None or h not in ngram_oof:
            continue
        known, y = pair
        position = {row: i for i, row in enumerate(known)}
        encoder_oof = np.zeros(len(known))
        for train_rows, test_rows in splits:
            tr = [position[r] for r in train_rows if r in position]
            te = [position[r] for r in test_rows if r in position]
            if te and len(set(y[tr])) == 2:
                model = _fit(embeddings[known[tr]], y[tr], c, seed)
                encoder_oof[te] = model.decision_function(embeddings[known[te]])
        pair_logits = np.column_stack([ngram_oof[h], encoder_oof])
        stacker = LogisticRegression(C=1e6, max_iter=1000).fit(pair_logits, y)
        stack[h] = [*stacker.coef_[0], stacker.intercept_[0]]
        combined = sigmoid(pair_logits @ stack[h, :2] + stack[h, 2])
        threshold, _ = best_threshold(y, combined)
        ngram_p = sigmoid(ngram_calibration[h, 0] * ngram_oof[h] + ngram_calibration[h, 1])
        caught = ngram_p[(y == 1) & (combined >= threshold)]
        floors[h] = min(float(np.quantile(caught, MISSED_SHARE)) if len(caught) else threshold, threshold)
        model = _fit(embeddings[known], y, c, seed)
        weights[:, h] = model.coef_[0]
        bias[h] = model.intercept_[0]
        trained[h] = True
        out_of_fold[h] = (y, np.where(ngram_p >= floors[h], combined, ngram_p))
    stage = EncoderHeads(weights, bias, stack, floors, np.ones(n_heads), trained, encoder=encoder,
                         meta={"missed_share": MISSED_SHARE, "c": c})
    return stage, out_of_fold


def _fit(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x, y)
