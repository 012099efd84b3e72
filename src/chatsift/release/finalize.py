"""A finished run into a release: the unit parts packed into size-rotated shards, the exclusions and
quarantine gathered, the LLM ledger added up, the statistics, the card, and the manifest last (a
release folder without a manifest is an unfinished one).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatsift.common.files import read_json, write_json
from chatsift.executors.base import PhaseReport
from chatsift.llm.ledger import Ledger
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan
from chatsift.pipeline.workdir import WorkDir
from chatsift.release.card import render_card
from chatsift.release.manifest import build_manifest
from chatsift.release.shards import pack_shards

RELEASE_FILES = ("manifest.json", "README.md", "exclusions.parquet", "quarantine.jsonl", "llm-ledger.json")
RELEASE_DIRS = ("data",)


def clear_release(out: Path) -> None:
    """Remove a release's files from ``out`` (what ``--overwrite`` replaces), nothing else."""
    for name in RELEASE_FILES:
        (out / name).unlink(missing_ok=True)
    for name in RELEASE_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)


def finalize(plan: RunPlan, pipeline: Pipeline, report: PhaseReport, work: WorkDir, schema: pa.Schema,
             executor_name: str) -> dict:
    """Pack shards, gather exclusions and quarantine, write the card, then the manifest."""
    out, cfg = work.out, plan.config.release
    clear_release(out)
    shutil.rmtree(work.final, ignore_errors=True)
    work.final.mkdir(parents=True)
    parts = [work.write_path(u.index, "release.parquet") for u in plan.units]
    shard_paths = pack_shards(parts, work.final / "data", schema, cfg.shard_max_bytes, cfg.compression)

    exclusions = [pq.read_table(work.write_path(u.index, "exclusions.parquet")) for u in plan.units]
    pq.write_table(pa.concat_tables(exclusions), work.final / "exclusions.parquet", compression="zstd")
    with open(work.final / "quarantine.jsonl", "wb") as fh:
        for u in plan.units:
            fh.write(work.map_path(u.index, "quarantine.jsonl").read_bytes())

    shards = []
    for p in shard_paths:
        rows = pq.ParquetFile(p).metadata.num_rows
        shards.append({"path": f"data/{p.name}", "rows": rows, "bytes": p.stat().st_size})
    ledger = _worker_ledgers(work)
    if ledger.entries:
        ledger.write(work.final / "llm-ledger.json")
    statistics = _statistics(plan, report, work)
    statistics["id_collisions"] = _id_collisions(shard_paths)
    if statistics["id_collisions"]:
        plan.warnings.append(f"{statistics['id_collisions']:,} conversation ids occur more than once in the release: "
                             "different sources used the same ids (each kept as given; snapshot.scope=global "
                             "treats them as snapshots of one conversation)")
    manifest = build_manifest(plan, pipeline, report, shards, statistics, executor_name, list(schema.names))
    if ledger.entries:
        manifest["llm"] = ledger.to_dict()
    (work.final / "README.md").write_text(render_card(manifest), encoding="utf-8")

    (work.final / "data").replace(out / "data")
    for name in ("exclusions.parquet", "quarantine.jsonl", "README.md", "llm-ledger.json"):
        if (work.final / name).exists():
            (work.final / name).replace(out / name)
    write_json(out / "manifest.json", manifest)
    return manifest


def _id_collisions(shard_paths: list[Path]) -> int:
    """How many conversation ids occur more than once among the released rows."""
    if not shard_paths:
        return 0
    ids = pq.read_table([str(p) for p in shard_paths], columns=["conversation_id"]).column("conversation_id")
    counts = pc.value_counts(ids.combine_chunks())
    return int(pc.sum(pc.greater(counts.field("counts"), 1)).as_py() or 0)


def _worker_ledgers(work: WorkDir) -> Ledger:
    """The LLM calls the workers made (all attempts of this run, a resumed one too), added up."""
    total = Ledger()
    for path in sorted(work.root.glob("llm-ledger.*.json")):
        total.merge(Ledger.from_dict(read_json(path)))
    return total


def _statistics(plan: RunPlan, report: PhaseReport, work: WorkDir) -> dict:
    models: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    pii: Counter[str] = Counter()
    preexisting: Counter[str] = Counter()
    backends: Counter[str] = Counter()
    flagged = unparsed = 0
    for s in report.write_stats:
        mod = s.get("moderation", {})
        backends.update(mod.get("backends", {}))
        flagged += mod.get("flagged_conversations", 0)
        unparsed += mod.get("unparsed_messages", 0)
        models.update(s["models"])
        languages.update(s["languages"])
        pii.update(s.get("pii", {}))
        preexisting.update(s.get("pii_preexisting", {}))
    released = sum(s["released"] for s in report.write_stats)
    turns = sum(s["turns"] for s in report.write_stats)
    users_tables = [pq.read_table(work.write_path(u.index, "users.parquet")) for u in plan.units]
    users_col = pa.concat_tables(users_tables).column("user_id") if users_tables else pa.chunked_array([], pa.string())
    n_users = len(pc.unique(users_col)) if len(users_col) else None
    return {
        "conversations": released,
        # A missing or empty model and an undetected language are not one more model or language (Table 1).
        "models": len([m for m in models if m not in ("(none)", "")]),
        "users": n_users,
        "languages": len([lang for lang in languages if lang not in ("(none)", "", "unknown")]),
        "mean_turns": turns / released if released else 0.0,
        "redacted": sum(s["redacted"] for s in report.write_stats),
        "pii_replacements": dict(sorted(pii.items())),
        "pii_preexisting": {k: v for k, v in sorted(preexisting.items()) if v},
        "moderation": {"backends": dict(backends.most_common()), "flagged_conversations": flagged,
                       "unparsed_messages": unparsed},
        "top_models": models.most_common(10),
        "top_languages": languages.most_common(10),
        "models_count": dict(models.most_common()),
        "languages_count": dict(languages.most_common()),
    }
