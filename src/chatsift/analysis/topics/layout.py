"""The topic map's 2-D layout: t-SNE (openTSNE) fitted on a seeded sample and applied to every prompt.

PCA projects onto the two directions of largest variance, and most topics overlap near the centre of
such a map; t-SNE preserves each prompt's nearest neighbours, so topics separate (BENCHMARKS.md, "Topics a reader
can trust": the share of a point's ten nearest map neighbours in its own cluster, 0.42 with PCA and
0.73 with t-SNE on 20,000 prompts). It is fitted on ``FIT_SAMPLE`` prompts and the rest are placed into
that map (openTSNE's ``transform``), so its cost grows slowly with the number of prompts. Without
openTSNE installed (the ``topics`` extra has it) the map is PCA's, and the topics' meta says so.
"""

from __future__ import annotations

import os

import numpy as np

FIT_SAMPLE = 5_000
LAYOUTS = ("tsne", "pca")


def layout_2d(vectors: np.ndarray, seed: int, method: str = "tsne") -> tuple[np.ndarray, np.ndarray, str]:
    """``(xy for every vector, the indices of the seeded fit sample, the method used)``."""
    if method not in LAYOUTS:
        raise ValueError(f"unknown map layout {method!r}; use {', '.join(LAYOUTS)}")
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(vectors), size=min(FIT_SAMPLE, len(vectors)), replace=False))
    if len(take) <= 2:
        return np.zeros((len(vectors), 2), dtype=np.float32), take, "none"
    if method == "tsne" and len(take) > 90:  # t-SNE needs more points than three times its perplexity
        try:
            from openTSNE import TSNE
        except ImportError:
            method = "pca (openTSNE not installed)"
        else:
            data = np.ascontiguousarray(vectors, dtype=np.float32)
            fitted = TSNE(perplexity=30, n_jobs=os.cpu_count() or 1, random_state=seed, verbose=False).fit(
                data[take])
            xy = np.asarray(fitted.transform(data, n_iter=100), dtype=np.float32)
            xy[take] = np.asarray(fitted, dtype=np.float32)  # the fitted points keep their own places
            return xy, take, "tsne"
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, random_state=seed).fit(vectors[take]).transform(vectors).astype(np.float32)
    return xy, take, method if method != "tsne" else "pca (too few prompts for t-SNE)"
