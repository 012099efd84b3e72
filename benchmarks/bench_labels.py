"""Topic labels a reader can match: offline c-TF-IDF labels before and after the label clean-up.

Curates real prompts from ../shared/data (Arena-Hard v0.1 and v2.0, MT-bench, OASST, HH-RLHF, the ShareGPT
sample), embeds them with the static embedder and clusters them (k-means, k=20, seed 42), then labels
each cluster twice from the same clusters: "before" (English stop words, letters-only tokens, the top
four terms) and "after" (``label_tokens``, morphological variants merged). Two checks: every prompt is
embedded with the label texts of all clusters, and a hit is a prompt whose own cluster's label is the
nearest (hit rate over prompts); and the lift, how much more often a cluster's prompts contain one of its
label terms than the other prompts do (median over clusters; filler words have a lift near 1).

Labels are compared four ways: "plain" (English stop words, raw counts), "words" (``label_phrases`` of
one word, counted once per prompt), "phrases" (up to three words, in c-TF-IDF order) and "phrases_mmr"
(the same terms, the four shown chosen by maximal marginal relevance: near the cluster's centre and
unlike each other, measured and not adopted; ``topics`` shows "phrases"; the main table uses the
static embedder); a third check, the
median coverage, is the share of a cluster's prompts holding one of its label terms. ``--embedders``
also measures cluster quality per embedder (``embedders``); ``--k-sweep`` the checks for other
numbers of clusters (``k_sweep``); ``--side-by-side`` the k=20 labels of each embedder, largest first.

    python benchmarks/bench_labels.py [--embedders] [--k-sweep] [--side-by-side]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from corpus import DATA


def hit_rate(vectors: np.ndarray, labels: np.ndarray, label_vectors: np.ndarray) -> float:
    nearest = (vectors @ label_vectors.T).argmax(axis=1)
    return float((nearest == labels).mean())


def median_lift(texts: list[str], labels: np.ndarray, terms: list[list[str]]) -> float:
    """How much more often a cluster's prompts hold one of its label terms than other prompts do (median)."""
    lowered = [t.lower() for t in texts]
    lifts = []
    for c, words in enumerate(terms):
        has = np.array([any(w in t for w in words) for t in lowered])
        lifts.append(has[labels == c].mean() / max(has[labels != c].mean(), 1e-3))
    return float(np.median(lifts))


def coverage(texts: list[str], labels: np.ndarray, terms: list[list[str]]) -> float:
    """The share of a cluster's prompts holding one of its label terms (median over clusters): how much of
    the cluster its label speaks for."""
    lowered = [t.lower() for t in texts]
    shares = []
    for c, words in enumerate(terms):
        members = [lowered[i] for i in np.flatnonzero(labels == c)]
        shares.append(np.mean([any(w in t for w in words) for t in members]) if members and words else 0.0)
    return float(np.median(shares))


def by_relevance_and_diversity(keywords: list[list[str]], centroids: np.ndarray, embed, shown: int = 4,
                               diversity: float = 0.3) -> list[list[str]]:
    """Each cluster's c-TF-IDF terms reordered so that the ``shown`` first are chosen by maximal marginal
    relevance: near the cluster's centre in the embedding the prompts were clustered in, and unlike the
    terms chosen before them (``diversity`` weighs the second); the rest follow in c-TF-IDF order."""
    out = []
    for terms, centre in zip(keywords, centroids):
        if len(terms) < 2:
            out.append(list(terms))
            continue
        vectors = embed(list(terms))
        relevance = vectors @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
        chosen: list[int] = []
        left = list(range(len(terms)))
        while left and len(chosen) < shown:
            likeness = (vectors[left] @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(left))
            best = left[int(np.argmax((1 - diversity) * relevance[left] - diversity * likeness))]
            chosen.append(best)
            left.remove(best)
        out.append([terms[j] for j in chosen] + [terms[j] for j in left])
    return out


def embedders(texts: list[str]) -> dict:
    """Cluster quality per embedder, where each stands on its own ground: seconds to embed the prompts;
    silhouette (cosine) of held-apart prompts (k-means, k=20, on a seeded 80%, the other 20% assigned to
    their nearest centre); and agreement (NMI, adjusted Rand) of k=8 clusters of MT-bench's 80 first
    questions with the 8 categories its authors gave them by hand."""
    import time

    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

    from chatsift.analysis.topics.embed import get_embedder

    questions = [json.loads(line) for line in (DATA / "fastchat-llm-judge/mt_bench/question.jsonl").open()]
    categories = [q["category"] for q in questions]
    rng = np.random.default_rng(42)
    held = rng.random(len(texts)) < 0.2
    out = {}
    for spec in ("static", "st:all-MiniLM-L6-v2"):
        embedder = get_embedder(spec)
        started = time.perf_counter()
        vectors = embedder.embed(texts)
        seconds = time.perf_counter() - started
        model = KMeans(20, n_init="auto", random_state=42).fit(vectors[~held])
        assigned = model.predict(vectors[held])
        mt = KMeans(8, n_init=10, random_state=42).fit_predict(embedder.embed([q["turns"][0] for q in questions]))
        silhouette = silhouette_score(vectors[held], assigned, metric="cosine")
        out[spec] = {"prompts_per_s": round(len(texts) / seconds),
                     "silhouette_held_apart": round(float(silhouette), 4),
                     "mt_bench_nmi": round(float(normalized_mutual_info_score(categories, mt)), 3),
                     "mt_bench_ari": round(float(adjusted_rand_score(categories, mt)), 3)}
    return out


def k_sweep(texts: list[str], spec: str, ks: tuple[int, ...] = (8, 12, 20, 30, 40, 60)) -> list[dict]:
    """The same checks for other numbers of clusters (embedder ``spec``, phrase labels): the silhouette of
    held-apart prompts (k-means on a seeded 80%, the rest assigned to the nearest centre), the own-label
    hit rate, the median lift and coverage. Hit rates fall as k grows by construction (more labels to be
    nearest); read them beside the chance rate, 1/k."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from chatsift.analysis.topics.cluster import kmeans
    from chatsift.analysis.topics.embed import get_embedder
    from chatsift.analysis.topics.label import ctfidf_keywords

    embedder = get_embedder(spec)
    vectors = embedder.embed(texts)
    held = np.random.default_rng(42).random(len(texts)) < 0.2
    rows = []
    for k in ks:
        model = KMeans(k, n_init="auto", random_state=42).fit(vectors[~held])
        silhouette = silhouette_score(vectors[held], model.predict(vectors[held]), metric="cosine")
        clustering = kmeans(vectors, k, 42)
        members = [[texts[i] for i in np.flatnonzero(clustering.labels == c)] for c in range(k)]
        labels = [kw[:4] for kw in ctfidf_keywords(members)]
        label_vectors = embedder.embed([", ".join(words) or "(empty)" for words in labels])
        rows.append({"k": k, "silhouette_held_apart": round(float(silhouette), 4),
                     "hit_rate": round(hit_rate(vectors, clustering.labels, label_vectors), 4),
                     "chance": round(1 / k, 4),
                     "median_lift": round(median_lift(texts, clustering.labels, labels), 2),
                     "median_coverage": round(coverage(texts, clustering.labels, labels), 3)})
    return rows


def side_by_side(texts: list[str], k: int = 20) -> dict:
    """The labels ``topics`` shows (phrases) of k clusters per embedder, largest cluster first, with its size,
    its most central prompt (first 80 characters) and the three checks."""
    from chatsift.analysis.topics.cluster import kmeans
    from chatsift.analysis.topics.embed import get_embedder
    from chatsift.analysis.topics.label import ctfidf_keywords

    out = {}
    for spec in ("static", "st:all-MiniLM-L6-v2"):
        embedder = get_embedder(spec)
        vectors = embedder.embed(texts)
        clustering = kmeans(vectors, k, 42)
        members = [[texts[i] for i in np.flatnonzero(clustering.labels == c)] for c in range(k)]
        labels = [kw[:4] for kw in ctfidf_keywords(members)]
        label_vectors = embedder.embed([", ".join(words) or "(empty)" for words in labels])
        order = sorted(range(k), key=lambda c: -len(members[c]))
        out[spec] = {"hit_rate": round(hit_rate(vectors, clustering.labels, label_vectors), 4),
                     "median_lift": round(median_lift(texts, clustering.labels, labels), 2),
                     "median_coverage": round(coverage(texts, clustering.labels, labels), 3),
                     "clusters": [{"size": len(members[c]), "label": ", ".join(labels[c]),
                                   "central": texts[clustering.central[c][0]][:80]} for c in order]}
    return out


def main() -> None:
    from conftest import run_curate

    from chatsift.analysis.topics.cluster import kmeans
    from chatsift.analysis.topics.embed import get_embedder
    from chatsift.analysis.topics.label import ctfidf_keywords
    from chatsift.analysis.topics.prompts import select_prompts

    with tempfile.TemporaryDirectory() as tmp:
        inputs = [DATA / "arena-hard-auto", DATA / "fastchat-llm-judge/mt_bench",
                  DATA / "fastchat-llm-judge/dummy_conversation.json",
                  DATA / "openassistant-oasst-eval-samples/en_100_tree.jsonl", DATA / "anthropic-hh-rlhf"]
        run_curate(inputs, Path(tmp) / "r", **{"release.schema": "full", "engine.workers": 1,
                                              "read.benchmark_questions": "prompts"})
        prompts = select_prompts(Path(tmp) / "r", sample=None, language="English")
    texts = prompts.texts
    embedder = get_embedder("static")
    vectors = embedder.embed(texts)
    clustering = kmeans(vectors, 20, 42)
    members = [[texts[i] for i in np.flatnonzero(clustering.labels == c)] for c in range(20)]
    phrases = ctfidf_keywords(members)
    variants = {"plain": [kw[:4] for kw in ctfidf_keywords(members, clean=False)],
                "words": [kw[:4] for kw in ctfidf_keywords(members, longest=1)],
                "phrases": [kw[:4] for kw in phrases],
                "phrases_mmr": [kw[:4] for kw in by_relevance_and_diversity(phrases, clustering.centroids,
                                                                            embedder.embed)]}
    out = {"prompts": len(texts), "clusters": 20}
    for name, labels in variants.items():
        label_vectors = embedder.embed([", ".join(words) or "(empty)" for words in labels])
        out[f"hit_rate_{name}"] = round(hit_rate(vectors, clustering.labels, label_vectors), 4)
        out[f"median_lift_{name}"] = round(median_lift(texts, clustering.labels, labels), 2)
        out[f"median_coverage_{name}"] = round(coverage(texts, clustering.labels, labels), 3)
    out["labels"] = [{"cluster": c + 1, "size": len(members[c]),
                      **{name: ", ".join(labels[c]) for name, labels in variants.items()},
                      "representative": texts[clustering.central[c][0]][:90]} for c in range(20)]
    if "--embedders" in sys.argv:
        out["embedders"] = embedders(texts)
    if "--side-by-side" in sys.argv:
        out["side_by_side"] = side_by_side(texts)
    if "--k-sweep" in sys.argv:
        out["k_sweep"] = {spec: k_sweep(texts, spec) for spec in ("static", "st:all-MiniLM-L6-v2")}
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
