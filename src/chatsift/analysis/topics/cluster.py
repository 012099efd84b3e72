"""k-means as the paper ran it, clusters renumbered by size, representatives, and a second level.

``KMeans(n_clusters=k, n_init="auto")`` seeded with 42 (FastChat ``topic_clustering.py``); cluster 0
is the largest. Central representatives are the prompts nearest the centroid (the paper took
min(200, smallest cluster)); random representatives are a seeded draw from the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Clustering:
    labels: np.ndarray  # cluster per prompt, 0 = largest
    centroids: np.ndarray
    sizes: np.ndarray
    central: list[list[int]]  # prompt indices nearest each centroid, nearest first
    random: list[list[int]]


def kmeans(embeddings: np.ndarray, k: int = 20, seed: int = 42, n_central: int = 200,
           n_random: int = 20) -> Clustering:
    from sklearn.cluster import KMeans

    k = max(1, min(k, len(embeddings)))
    model = KMeans(n_clusters=k, n_init="auto", random_state=seed).fit(embeddings)
    raw = model.labels_
    order = np.argsort(-np.bincount(raw, minlength=k), kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    labels = rank[raw]
    centroids = model.cluster_centers_[order]
    sizes = np.bincount(labels, minlength=k)
    top = min(n_central, int(sizes.min())) if len(sizes) else 0
    rng = np.random.default_rng(seed)
    central, random = [], []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        sims = embeddings[members] @ centroids[c]
        nearest = members[np.argsort(-sims, kind="stable")[: max(top, 1)]]
        central.append(nearest.tolist())
        rest = np.setdiff1d(members, nearest)
        random.append(rng.choice(rest, size=min(n_random, len(rest)), replace=False).tolist() if len(rest) else [])
    return Clustering(labels, centroids, sizes, central, random)


def parents(centroids: np.ndarray, n_parents: int, seed: int = 42) -> np.ndarray:
    """A second level: clusters of clusters (agglomerative, cosine, average linkage)."""
    from sklearn.cluster import AgglomerativeClustering

    n_parents = max(1, min(n_parents, len(centroids)))
    if n_parents == len(centroids):
        return np.arange(len(centroids))
    model = AgglomerativeClustering(n_clusters=n_parents, metric="cosine", linkage="average")
    return model.fit_predict(centroids / np.linalg.norm(centroids, axis=1, keepdims=True))
