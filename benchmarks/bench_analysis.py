"""Speed of describing a release: stats, topic map, explorer index and search.

Builds (once) a release from the 1M benchmark corpus with ``--schema full --keep-private`` (PII off,
which does not change these measurements), then:
  stats   - ``compute_stats`` (DuckDB, approx tokenizer), median of 3;
  topics  - 100k prompts through the default static embedder and k-means (k=20, seed 42);
  explore - the SQLite FTS5 index build, then 300 searches (common and rare words, two-word queries,
            queries with filters) timed one by one: median and p95;
  map     - the explorer's interactive map: ``chatsift topics`` on the defaults (100k sampled
            conversations), the index with the map's points, the points endpoint (time, bytes), 100
            filter queries for the map, and in Chromium the time from navigation to a drawn map and
            the redraw time while zooming (medians of 5 loads with the browser cache off, 20 zooms);
  map-dense - the same with the map at its 200,000-point cap.

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
    embedder = StaticEmbedder()  # the shipped table, loaded before timing
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    embedded = time.perf_counter()
    clustering = kmeans(vectors, 20, 42)
    done = time.perf_counter()
    return {"prompts": len(texts), "embed_s": round(embedded - started, 2), "kmeans_s": round(done - embedded, 2),
            "total_s": round(done - started, 2), "largest_cluster": int(clustering.sizes[0])}


def _preview_words(searcher, table: str) -> Counter:
    """Words of 4+ letters in 20,000 random previews of the index (conversations or map points)."""
    rows = searcher._con.execute(f"SELECT preview FROM {table} ORDER BY random() LIMIT 20000").fetchall()
    return Counter(w.lower() for (p,) in rows for w in (p or "").split() if w.isalpha() and len(w) > 3)


def _indexed(release: Path):
    """The explorer index built from scratch, its Searcher, and the build's seconds."""
    from chatsift.explore.index import build_index, index_path
    from chatsift.explore.search import Searcher

    started = time.perf_counter()
    path = build_index(release, index_path(release))
    return Searcher(path), time.perf_counter() - started


def _latencies(run, plan: list, prefix: str = "") -> dict:
    """``run`` over each query of ``plan``, timed one by one: count, median, p95 and max in ms."""
    times = []
    for query in plan:
        t = time.perf_counter()
        run(query)
        times.append(time.perf_counter() - t)
    times.sort()
    return {f"{prefix}queries": len(times), f"{prefix}median_ms": round(1000 * statistics.median(times), 1),
            f"{prefix}p95_ms": round(1000 * times[int(0.95 * len(times)) - 1], 1),
            f"{prefix}max_ms": round(1000 * times[-1], 1)}


def bench_explore(release: Path, queries: int = 300, seed: int = 7) -> dict:
    from chatsift.explore.search import Query

    searcher, build_s = _indexed(release)
    rng = random.Random(seed)
    words = _preview_words(searcher, "conv")
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
    return {"index_build_s": round(build_s, 1), "index_mb": round(searcher.path.stat().st_size / 2**20),
            **_latencies(searcher.search, plan)}


def bench_map(release: Path, loads: int = 5, zooms: int = 20, queries: int = 100, seed: int = 7,
              dense: bool = False) -> dict:
    """``dense``: 200k sampled conversations, any language, duplicates kept, so that the map holds its
    most (200,000 of about 400,000 prompts) instead of the ~19k distinct prompts the benchmark corpus
    (resampled from ~11k real texts) leaves after the paper's dedup."""
    import shutil
    import socket
    import threading

    import httpx
    import uvicorn

    from chatsift.analysis.topics.model import TopicSettings, build_topics
    from chatsift.explore.app import create_app
    from chatsift.explore.search import Query

    started = time.perf_counter()
    topics = build_topics(release, TopicSettings(sample=200_000, language=None, dedup=False) if dense else None)
    topics_s = time.perf_counter() - started
    searcher, index_s = _indexed(release)
    rng = random.Random(seed)
    words = _preview_words(searcher, "map_point")
    common, models = [w for w, _ in words.most_common(100)], [m for m, _ in searcher.facets()["model"]]
    plan = [Query(q=rng.choice(common)) if i % 3 == 0 else Query(model=rng.choice(models)) if i % 3 == 1
            else Query(q=rng.choice(common), topic=rng.randint(1, 20)) for i in range(queries)]
    matches = _latencies(searcher.map_matches, plan, prefix="match_")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(searcher.path, release), host="127.0.0.1", port=port,
                                           log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    points = httpx.get(base + "/api/map/points", timeout=120).content  # the first request builds the arrays
    points_s = time.perf_counter() - t
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})  # every load fetches the points
    load_ms, filtered_ms, draw_ms = [], [], []
    try:
        for url, out in [(base + "/map", load_ms)] * loads + [(base + f"/map?q={common[0]}", filtered_ms)] * loads:
            driver.get(url)
            WebDriverWait(driver, 120).until(
                lambda d: d.find_element("id", "map").get_attribute("data-state") == "ready")
            # navigation start to a drawn map, as the browser saw it
            out.append(driver.execute_script("return performance.now()"))
        for i in range(zooms):
            driver.execute_script(f"document.getElementById('{'zoom-in' if i % 2 == 0 else 'zoom-out'}').click()")
            time.sleep(0.1)
            draw_ms.append(float(driver.find_element("id", "map").get_attribute("data-draw-ms")))
    finally:
        driver.quit()
        server.should_exit = True
    return {"topic_prompts": topics.meta["prompts"], "topics_s": round(topics_s, 1),
            "index_build_s": round(index_s, 1),
            "map_points": int(searcher.meta["map_points"]), "points_bytes": len(points),
            "points_endpoint_ms": round(1000 * points_s, 1),
            "match_median_ms": matches["match_median_ms"], "match_p95_ms": matches["match_p95_ms"],
            "page_load_median_ms": round(statistics.median(load_ms)),
            "page_load_filtered_median_ms": round(statistics.median(filtered_ms)),
            "redraw_median_ms": round(statistics.median(draw_ms), 1), "redraw_max_ms": round(max(draw_ms), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["stats", "topics", "explore", "map", "map-dense"], nargs="*")
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
    if "map" in parts:
        out["map"] = bench_map(release)
    if "map-dense" in parts:
        out["map_dense"] = bench_map(release, dense=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
