"""Topic labels a reader can match: offline c-TF-IDF labels before and after the label clean-up.

Curates real prompts from ../shared/data (Arena-Hard v0.1 and v2.0, MT-bench, OASST, HH-RLHF, the ShareGPT
sample), embeds them with the static embedder and clusters them (k-means, k=20, seed 42), then labels
each cluster twice from the same clusters: "before" (English stop words, letters-only tokens, the top
four terms) and "after" (``label_tokens``, morphological variants merged). Two checks: every prompt is
embedded with the label texts of all clusters, and a hit is a prompt whose own cluster's label is the
nearest (hit rate over prompts); and the lift, how much more often a cluster's prompts contain one of its
label terms than the other prompts do (median over clusters; filler words have a lift near 1).

    python benchmarks/bench_labels.py
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
    before = [kw[:4] for kw in ctfidf_keywords(members, clean=False)]
    after = [kw[:4] for kw in ctfidf_keywords(members)]
    out = {"prompts": len(texts), "clusters": 20}
    for name, labels in (("before", before), ("after", after)):
        label_vectors = embedder.embed([", ".join(words) or "(empty)" for words in labels])
        out[f"hit_rate_{name}"] = round(hit_rate(vectors, clustering.labels, label_vectors), 4)
        out[f"median_lift_{name}"] = round(median_lift(texts, clustering.labels, labels), 2)
    out["labels"] = [{"cluster": c + 1, "size": len(members[c]), "before": ", ".join(before[c]),
                      "after": ", ".join(after[c]), "representative": texts[clustering.central[c][0]][:90]}
                     for c in range(20)]
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
