"""The topic map of a release: prompts -> embeddings -> k-means -> labels, with a privacy threshold.

Writes ``<release>/topics/``: ``assignments.parquet`` (conversation_id, message, cluster, parent and
x, y: a 2-D PCA projection; joinable to the release; the explorer's map), ``clusters.json`` (the
cluster table) and ``map.parquet`` (up to 5,000 of those points, coordinates and cluster only, for
the report).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.analysis.topics.cluster import kmeans, parents
from chatsift.analysis.topics.embed import EmbeddingCache, get_embedder, resolve_embedder
from chatsift.analysis.topics.label import LLMLabeler, ctfidf_keywords
from chatsift.analysis.topics.layout import layout_2d
from chatsift.analysis.topics.prompts import select_prompts
from chatsift.analysis.topics.shares import topic_shares
from chatsift.common.text_keys import template_key, tokens
from chatsift.errors import ConfigError
from chatsift.llm import Estimate

DISPLAY_CHARS = 512  # the paper's display cut for representative prompts
OTHER = "other (fewer distinct users than the privacy threshold)"


@dataclass
class TopicSettings:
    sample: int | None = 100_000
    language: str | None = "English"
    k: int = 20
    seed: int = 42
    embedder: str = "auto"  # MiniLM up to embed.AUTO_MINILM_MAX prompts, the static embedder above
    labeler: str = "ctfidf"  # or openai:BASE_URL#MODEL
    label_language: str = "auto"  # LLM labels in the prompts' language, or "en"
    parents: int = 0  # 0: no second level
    min_users: int = 5  # distinct user_ids (or conversations, in a release without user_id)
    central: int = 10  # representatives shown per cluster
    random: int = 5
    dedup: bool = True  # drop prompts whose bag of words repeats an earlier one (the paper's dedup)
    layout: str = "tsne"  # the map's 2-D layout: tsne (neighbours kept) or pca (linear, faster)


@dataclass
class TopicResult:
    clusters: list[dict]
    assignments: pa.Table
    meta: dict = field(default_factory=dict)


def _labeler(spec: str, language: str = "auto", llm=None, ledger=None) -> LLMLabeler | None:
    if spec == "ctfidf":
        return None
    if spec.startswith("openai:") and spec[len("openai:"):].startswith(("http://", "https://")) and "#" not in spec:
        raise ConfigError("--labeler openai: expected openai:BASE_URL#MODEL")
    # any endpoint spec: openai:BASE_URL#MODEL, URL:MODEL, vllm:MODEL, a configured name
    return LLMLabeler(spec, llm, ledger, language)


def template_share(prompts: list[str], templates: list[str | None]) -> float:
    """Share of a cluster's prompts that are script-like: in a release template group, or sharing a
    first-and-last-five-words frame with at least four other prompts of the cluster."""
    keys = [template_key(tokens(p), 5, 5) for p in prompts]
    counts = Counter(k for k in keys if k)
    flagged = [t is not None or (k and counts[k] >= 5) for t, k in zip(templates, keys)]
    return sum(flagged) / max(len(prompts), 1)


def build_topics(release: str | Path, settings: TopicSettings | None = None, write: bool = True, *, llm=None,
                 ledger=None, dry_run: bool = False) -> TopicResult:
    """The topic map. ``dry_run``: clusters are built, the LLM label requests only estimated
    (``meta["llm_estimate"]``) and nothing is written."""
    s = settings or TopicSettings()
    release = Path(release)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prompts = select_prompts(release, s.sample, s.language, s.seed, dedup=s.dedup)
    texts = prompts.texts
    timings["select"] = time.perf_counter() - t0
    if len(texts) < 2:
        raise ConfigError(f"only {len(texts)} prompt(s) qualify for the topic map (language={s.language!r}, "
                          "32-1536 characters); try --language any or a larger --sample")
    embedder = get_embedder(resolve_embedder(s.embedder, len(texts)))
    t0 = time.perf_counter()
    vectors = EmbeddingCache(embedder).embed(texts)
    timings["embed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    clustering = kmeans(vectors, s.k, s.seed, n_central=200)
    timings["cluster"] = time.perf_counter() - t0
    labels = clustering.labels
    k = len(clustering.sizes)
    members = [np.flatnonzero(labels == c) for c in range(k)]
    users = prompts.table.column("user_id").to_pylist()
    if not any(u is not None for u in users):
        # A public release has no user_id: count distinct conversations instead, which is stricter.
        users = prompts.table.column("conversation_id").to_pylist()
    templates = prompts.table.column("template").to_pylist()
    keywords = ctfidf_keywords([[texts[i] for i in m] for m in members])
    labeler = _labeler(s.labeler, s.label_language, llm, ledger)
    parent_of = parents(clustering.centroids, s.parents, s.seed) if s.parents else np.zeros(k, dtype=np.int64)
    has_users = True
    clusters = []
    for c in range(k):
        m = members[c]
        distinct_users = len({users[i] for i in m if users[i] is not None}) if has_users else None
        private = has_users and distinct_users < s.min_users
        central = [texts[i] for i in clustering.central[c]]
        random_ = [texts[i] for i in clustering.random[c]]
        label = OTHER if private else (", ".join(keywords[c][:4]) or "(empty)")
        share = template_share([texts[i] for i in m], [templates[i] for i in m])
        clusters.append({
            "cluster": c,
            "size": int(clustering.sizes[c]),
            "share": round(float(clustering.sizes[c]) / len(texts), 4),
            "label": label,
            "keywords": [] if private else keywords[c],
            "templated": bool(share >= 0.3),
            "template_share": round(share, 3),
            "users": distinct_users,
            "private": bool(private),
            "parent": int(parent_of[c]),
            "representative": None if private or not central else central[0][:DISPLAY_CHARS],
            "central": [] if private else [p[:DISPLAY_CHARS] for p in central[: s.central]],
            "random": [] if private else [p[:DISPLAY_CHARS] for p in random_[: s.random]],
        })
    estimate = None
    if labeler is not None:  # the paper's LLM summaries, for every cluster that may be shown, in one batch
        shown = [c for c in clusters if not c["private"]]
        requests = labeler.requests([([texts[i] for i in clustering.central[c["cluster"]]],
                                      [texts[i] for i in clustering.random[c["cluster"]]]) for c in shown])
        if dry_run:
            estimate = labeler.estimate(requests)
        else:
            unlabelled = 0
            for cluster, answer in zip(shown, labeler.answer(requests)):
                if answer is None:
                    unlabelled += 1  # the offline label stays
                    continue
                cluster["label"], cluster["description"] = answer
            llm_unlabelled = unlabelled
    assignments = pa.table({
        "conversation_id": prompts.table.column("conversation_id"),
        "message": prompts.table.column("message").cast(pa.int32()),
        "cluster": pa.array(labels.astype(np.int32)),
        "parent": pa.array(parent_of[labels].astype(np.int32)),
    })
    meta = {
        "settings": s.__dict__, "embedder": embedder.name, "prompts": len(texts),
        "prompts_before_dedup": prompts.candidates, "sampled_conversations": prompts.sampled_conversations,
        "seconds": {k2: round(v, 2) for k2, v in timings.items()},
    }
    if labeler is not None and not dry_run:
        meta["labeler"] = {"endpoint": labeler.client.endpoint.label, "language": s.label_language,
                           "unlabelled": llm_unlabelled}
    if s.parents:
        parent_keywords = ctfidf_keywords([[texts[i] for c in range(k) if parent_of[c] == p for i in members[c]]
                                           for p in range(int(parent_of.max()) + 1)])
        meta["parents"] = [{"parent": p, "label": ", ".join(kw[:4]), "clusters": [c for c in range(k)
                                                                                   if parent_of[c] == p]}
                           for p, kw in enumerate(parent_keywords)]
        if labeler is not None:
            # Second level from the first level's labels; a group of private clusters only is not sent.
            groups = [[(clusters[c]["label"], clusters[c].get("description", "")) for c in entry["clusters"]
                       if not clusters[c]["private"]] for entry in meta["parents"]]
            sendable = [i for i, g in enumerate(groups) if g]
            parent_requests = labeler.parent_requests([groups[i] for i in sendable])
            if dry_run:
                more = labeler.estimate(parent_requests)
                estimate = Estimate(estimate.requests + more.requests, estimate.cached + more.cached,
                                    estimate.prompt_tokens + more.prompt_tokens,
                                    estimate.completion_tokens + more.completion_tokens,
                                    estimate.cost_usd + more.cost_usd)
            else:
                for i, answer in zip(sendable, labeler.answer(parent_requests, desc="group labels")):
                    if answer is not None:
                        meta["parents"][i]["label"], meta["parents"][i]["description"] = answer
    if estimate is not None:
        meta["llm_estimate"] = estimate.line(labeler.client.endpoint)
        return TopicResult(clusters, assignments, meta)
    result = TopicResult(clusters, assignments, meta)
    if write:
        _write(release, result, vectors, labels, s.seed, s.layout)
    return result


def _write(release: Path, result: TopicResult, vectors: np.ndarray, labels: np.ndarray, seed: int,
           layout: str = "tsne") -> None:
    folder = release / "topics"
    folder.mkdir(exist_ok=True)
    # One 2-D layout for every prompt (the explorer's map) fitted on a seeded sample; the report's
    # map.parquet is that sample, so both maps agree.
    started = time.perf_counter()
    xy, take, used = layout_2d(vectors, seed, layout)
    result.meta["layout"] = {"method": used, "fitted_on": len(take),
                             "seconds": round(time.perf_counter() - started, 2)}
    assignments = result.assignments.append_column("x", pa.array(xy[:, 0])).append_column("y", pa.array(xy[:, 1]))
    pq.write_table(assignments, folder / "assignments.parquet")
    private = {c["cluster"] for c in result.clusters if c["private"]}
    keep = take[np.array([labels[i] not in private for i in take], dtype=bool)] if len(take) else take
    pq.write_table(pa.table({"x": xy[keep, 0], "y": xy[keep, 1], "cluster": labels[keep].astype(np.int32)}),
                   folder / "map.parquet")
    (folder / "clusters.json").write_text(json.dumps({"meta": result.meta, "clusters": result.clusters}, indent=2,
                                                     ensure_ascii=False), encoding="utf-8")
    shares = topic_shares(release, result.assignments, result.clusters)
    (folder / "shares.json").write_text(json.dumps(shares, indent=2, ensure_ascii=False), encoding="utf-8")
    record_derived(release, "topics", folder, result.meta)


def record_derived(release: Path, name: str, folder: Path, meta: dict) -> None:
    """Note in the release's manifest what was written into the release folder after it was finished (its
    files with their checksums, when, and how), so that a release never changes without its manifest
    saying so."""
    import datetime as dt
    import hashlib

    from chatsift.common.files import write_json

    manifest_path = release / "manifest.json"
    if not manifest_path.is_file():
        return
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = {p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.glob("*")) if p.is_file()}
    manifest.setdefault("derived", {})[name] = {
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": meta.get("settings"), "embedder": meta.get("embedder"), "files": files}
    write_json(manifest_path, manifest)


def load_topics(release: str | Path) -> dict | None:
    path = Path(release) / "topics" / "clusters.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
