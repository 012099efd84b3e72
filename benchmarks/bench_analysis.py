"""Speed of describing a release: stats, topic map, explorer index and search.

Builds (once) a release from the 1M benchmark corpus with ``--schema full --keep-private`` (PII off,
which does not change these measurements), then:
  stats   - ``compute_stats`` (DuckDB, approx tokenizer), median of 3;
  topics  - 100k prompts through the default static embedder and k-means (k=20, seed 42);
  explore - the SQLite FTS5 index build, then 300 searches (common and rare words, two-word queries,
            queries with filters) timed one by one: median and p95.

    python benchmarks/bench_analysis.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def ensure_release(n: int) -> Path:
    from bench_curate import ensure_corpus

    corpus = ensure_corpus(n)
    out = corpus.with_name(corpus.name + "-release-full")
    if not (out / "manifest.json").exists():
        subprocess.run(["chatsift", "curate", str(corpus), "--out", str(out), "--schema", "full", "--keep-private",
                        "--no-pii", "--no-progress", "--set", "user_id.secret=bench", "--overwrite"], check=True)
    return out


def bench_stats(release: Path) -> dict:
    from chatsift.analysis.stats import compute_stats

    times = []
    for _ in range(3):
        started = time.perf_counter()
        s = compute_stats(release)
        times.append(time.perf_counter() - started)
    return {"seconds": [round(t, 2) for t in times], "median_s": round(statistics.median(times), 2),
            "conversations": s["table1"]["conversations"]}


def bench_topics(release: Path, prompts: int = 100_000) -> dict:
    from chatsift.analysis.topics.cluster import kmeans
    from chatsift.analysis.topics.embed import StaticEmbedder
    from chatsift.analysis.topics.prompts import select_prompts

    selected = select_prompts(release, sample=None, language="English", dedup=False)
    texts = selected.texts[:prompts]
    embedder = StaticEmbedder()  # distilled and cached before timing
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    embedded = time.perf_counter()
    clustering = kmeans(vectors, 20, 42)
    done = time.perf_counter()
    return {"prompts": len(texts), "embed_s": round(embedded - started, 2), "kmeans_s": round(done - embedded, 2),
            "total_s": round(done - started, 2), "largest_cluster": int(clustering.sizes[0])}


def bench_explore(release: Path, queries: int = 300, seed: int = 7) -> dict:
    from chatsift.explore.index import build_index, index_path
    from chatsift.explore.search import Query, Searcher

    started = time.perf_counter()
    path = build_index(release, index_path(release))
    build_s = time.perf_counter() - started
    searcher = Searcher(path)
    rng = random.Random(seed)
    rows = searcher._con.execute("SELECT preview FROM conv ORDER BY random() LIMIT 20000").fetchall()
    words = Counter(w.lower() for (p,) in rows for w in (p or "").split() if w.isalpha() and len(w) > 3)
    common = [w for w, _ in words.most_common(200)]
    rare = [w for w, c in words.items() if c <= 2]
    models = [m for m, _ in searcher.facets()["model"]]
    plan = []
    for i in range(queries):
        kind = i % 4
        if kind == 0:
            plan.append(Query(q=rng.choice(common)))
        elif kind == 1:
            plan.append(Query(q=rng.choice(rare)))
        elif kind == 2:
            plan.append(Query(q=f"{rng.choice(common)} {rng.choice(common)}"))
        else:
            plan.append(Query(q=rng.choice(common), model=rng.choice(models), min_turns=1))
    latencies = []
    for query in plan:
        t = time.perf_counter()
        searcher.search(query)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    return {"index_build_s": round(build_s, 1), "index_mb": round(path.stat().st_size / 2**20),
            "queries": len(latencies), "median_ms": round(1000 * statistics.median(latencies), 1),
            "p95_ms": round(1000 * latencies[int(0.95 * len(latencies)) - 1], 1),
            "max_ms": round(1000 * latencies[-1], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["stats", "topics", "explore"], nargs="*")
    args = ap.parse_args()
    release = ensure_release(args.n)
    parts = args.only or ["stats", "topics", "explore"]
    out = {"release": str(release)}
    if "stats" in parts:
        out["stats"] = bench_stats(release)
    if "topics" in parts:
        out["topics"] = bench_topics(release)
    if "explore" in parts:
        out["explore"] = bench_explore(release)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
