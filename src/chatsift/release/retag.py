"""``chatsift moderate RELEASE``: tag (or re-tag) a finished release's shards in place, resumably. The
release wing's (it shares the flag counts and the card with ``curate``'s assembly and finalisation).

Each shard is rewritten to a temporary file and moved over the original, then a done marker is written
to ``RELEASE/.chatsift-moderate/`` (with the backend and settings of the run); a killed run skips the
finished shards when the same command is run again, API answers come from the LLM cache, so nothing
is paid twice, and a finished run removes the folder. The manifest
gets a ``moderation`` entry and the card is rendered again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.common.files import write_json
from chatsift.errors import ReleaseError
from chatsift.moderation.apply import conversation_texts, tag
from chatsift.moderation.backends import Backend
from chatsift.pipeline.stage import set_column
from chatsift.release.assemble import flagged_conversations
from chatsift.release.card import render_card

BATCH_ROWS = 4000


@dataclass
class TagReport:
    shards: int = 0
    skipped_shards: int = 0
    conversations: int = 0
    by_backend: Counter = field(default_factory=Counter)
    unparsed_messages: int = 0
    flagged_conversations: int = 0
    answered_messages: int = 0
    kept_after_failure: int = 0  # conversations whose old tags stayed because the backend failed on them


def release_shards(release: Path) -> list[Path]:
    shards = sorted((release / "data").glob("*.parquet"))
    if not shards:
        raise ReleaseError(f"{release} has no data/*.parquet: not a release")
    return shards


def pending_texts(release: Path, recompute: bool) -> list[str]:
    """The messages a run would send to the backend (for ``--dry-run`` estimates)."""
    texts: list[str] = []
    for shard in release_shards(release):
        table = pq.read_table(shard, columns=["conversation", "openai_moderation"])
        result = tag(table.column("conversation"), table.column("openai_moderation"), None, recompute)
        need = [i for i, w in enumerate(result.backend) if w is None]
        if need:
            texts += conversation_texts(table.column("conversation").combine_chunks().take(pa.array(need)))[0]
    return texts


STATE_DIR = ".chatsift-moderate"


def _begin(release: Path, backend: Backend, recompute: bool) -> Path:
    """The state folder of this run: kept when an unfinished run with the same backend and settings is
    resumed, started afresh otherwise (the same name can mean another server or model file)."""
    state = release / STATE_DIR
    run = {"backend": backend.identity, "recompute": recompute}
    try:
        previous = json.loads((state / "run.json").read_text())
    except (OSError, ValueError):
        previous = None
    if previous != run:
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir()
        write_json(state / "run.json", run)
    return state


def tag_release(release: str | os.PathLike, backend: Backend, recompute: bool = False, progress=None) -> TagReport:
    root = Path(release)
    report = TagReport()
    shards = release_shards(root)
    state = _begin(root, backend, recompute)
    for shard in shards:
        marker = state / f"{shard.stem}.done"
        report.shards += 1
        if marker.exists():
            report.skipped_shards += 1
            stats = json.loads(marker.read_text())
            report.conversations += stats["conversations"]
            report.by_backend.update(stats["by_backend"])
            report.unparsed_messages += stats["unparsed"]
            report.flagged_conversations += stats["flagged"]
            continue
        table = pq.read_table(shard)
        parts = []
        stats = {"conversations": table.num_rows, "by_backend": Counter(), "unparsed": 0, "flagged": 0}
        for start in range(0, table.num_rows, BATCH_ROWS):
            part = table.slice(start, BATCH_ROWS)
            result = tag(part.column("conversation"), part.column("openai_moderation"), backend, recompute)
            part = set_column(part, "openai_moderation", result.moderation)
            if "moderation.backend" in part.column_names:
                part = set_column(part, "moderation.backend", pa.array(result.backend, pa.string()))
                part = set_column(part, "moderation.unparsed", pa.array(result.unparsed, pa.int32()))
            stats["by_backend"].update(w or "none" for w in result.backend)
            stats["unparsed"] += sum(u or 0 for u in result.unparsed)
            stats["flagged"] += flagged_conversations(result.moderation)
            stats["answered"] = stats.get("answered", 0) + result.answered
            stats["kept"] = stats.get("kept", 0) + result.kept_after_failure
            parts.append(part)
            if progress:
                progress(part.num_rows)
        new = pa.concat_tables(parts).cast(table.schema) if parts else table
        tmp = shard.with_suffix(".parquet.tmp")
        pq.write_table(new, tmp, compression="zstd")
        os.replace(tmp, shard)
        marker.write_text(json.dumps(stats))
        report.conversations += stats["conversations"]
        report.by_backend.update(stats["by_backend"])
        report.unparsed_messages += stats["unparsed"]
        report.flagged_conversations += stats["flagged"]
        report.answered_messages += stats.get("answered", 0)
        report.kept_after_failure += stats.get("kept", 0)
    if report.kept_after_failure and not report.answered_messages:
        shutil.rmtree(state, ignore_errors=True)
        raise ReleaseError(f"{backend.name} answered none of the messages: every existing tag was kept and nothing "
                           "was re-tagged; check the endpoint and run the command again")
    _update_manifest(root, backend, recompute, report)
    shutil.rmtree(state, ignore_errors=True)  # finished: the next run starts afresh
    return report


def _update_manifest(root: Path, backend: Backend, recompute: bool, report: TagReport) -> None:
    path = root / "manifest.json"
    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.setdefault("statistics", {})["moderation"] = {
        "backends": dict(report.by_backend), "flagged_conversations": report.flagged_conversations,
        "unparsed_messages": report.unparsed_messages}
    manifest.setdefault("moderation_runs", []).append({
        "backend": backend.name, "recompute": recompute,
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    write_json(path, manifest)
    (root / "README.md").write_text(render_card(manifest), encoding="utf-8")
