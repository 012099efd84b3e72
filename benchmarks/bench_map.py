"""The topic map's layout: time and how well topics stay apart, PCA against t-SNE (issue 28).

The first N distinct user prompts of the low-repeat corpus (``corpus.py --low-repeat``), embedded with
the static embedder, clustered with k-means (20); for each layout, the seconds it takes and the share
of a prompt's ten nearest map neighbours that are in its own cluster (over 10,000 prompts).

    python benchmarks/bench_map.py --n 20000 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_curate import corpus_conversations  # noqa: E402


def prompts(n: int) -> list[str]:
    texts: dict[str, None] = {}
    for messages in corpus_conversations(100_000):
        texts.update((m["content"][:500], None) for m in messages if m["role"] == "user")
        if len(texts) >= n:
            break
    return list(texts)[:n]


def main() -> None:
    from sklearn.cluster import KMeans
    from sklearn.neighbors import NearestNeighbors

    from chatsift.analysis.topics.embed import get_embedder
    from chatsift.analysis.topics.layout import layout_2d

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[20_000, 100_000])
    args = parser.parse_args()
    for n in args.n:
        vectors = get_embedder("static").embed(prompts(n)).astype(np.float32)
        labels = KMeans(20, n_init=2, random_state=0).fit_predict(vectors)
        check = np.random.default_rng(1).choice(len(vectors), min(10_000, len(vectors)), replace=False)
        for method in ("pca", "tsne"):
            started = time.perf_counter()
            xy, _, used = layout_2d(vectors, 42, method)
            seconds = time.perf_counter() - started
            near = NearestNeighbors(n_neighbors=11).fit(xy).kneighbors(xy[check], return_distance=False)[:, 1:]
            same = float((labels[near] == labels[check][:, None]).mean())
            print(f"{len(vectors):>7,} prompts  {used:<5} {seconds:7.1f} s  neighbours in the same topic {same:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
