"""The executor-independent work of a run: the map task per unit, the reduce, the write task per unit.

Executors only decide where and when these run. Each task reads and writes through ``WorkDir`` and
finishes by placing its done marker, so re-running a finished task is never needed and re-running
an unfinished one starts it from scratch.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatsift.common.files import INTERMEDIATE_COMPRESSION, read_json, tmp_path, write_json, write_table
from chatsift.config import CurateConfig
from chatsift.errors import PrivacyError
from chatsift.io.inputs import Unit
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.reduce import (
    DECISION_ALIVE,
    DECISION_REASON,
    DECISION_RELATED,
    DECISION_STAGE,
    ReduceContext,
)
from chatsift.pipeline.unit_reader import EVENT_SCHEMA, UnitReader, source_schema
from chatsift.pipeline.workdir import WorkDir
from chatsift.privacy.scrub import public_label

log = logging.getLogger(__name__)

KEY_BASE_COLUMNS = ("conversation_id", "tstamp", "quality.reasons", "source.format", "source.file")
EXCLUSION_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("source_file", pa.string()),
        ("source_record", pa.int64()),
        ("reason", pa.string()),
        ("stage", pa.string()),
        ("related_conversation_id", pa.string()),
    ]
)


@dataclass
class MapResult:
    unit: int
    stats: dict


# ---------------------------------------------------------------- map


def split_records_and_keys(table: pa.Table) -> dict[str, pa.Table]:
    """The columns persisted as records (release material) and as keys (what global stages read)."""
    raw = [c for c in table.column_names if c.startswith("_raw")]
    if raw:
        raise PrivacyError(f"column(s) {raw} would be written to disk; the user_id stage must consume them")
    key_cols = [c for c in table.column_names if c in KEY_BASE_COLUMNS or c.startswith("_")]
    return {
        "keys": table.select(key_cols),
        "records": table.select([c for c in table.column_names if not c.startswith("_")]),
    }


def write_chunk(work: WorkDir, unit: int, first_row: int, table: pa.Table) -> None:
    """One piece of a unit written by a distributed worker: rows ``first_row`` onwards, atomically."""
    for kind, part in split_records_and_keys(table).items():
        write_table(work.map / f"u{unit:06d}.r{first_row:010d}.{kind}.parquet", part)


def unit_files(work: WorkDir, unit: int, kind: str) -> list[Path]:
    """A unit's ``records`` or ``keys``: one file (local executor) or row-ordered chunks (distributed)."""
    single = work.map_path(unit, f"{kind}.parquet")
    if single.exists():
        return [single]
    return sorted(work.map.glob(f"u{unit:06d}.r*.{kind}.parquet"))


def read_unit_table(work: WorkDir, unit: int, kind: str, columns: list[str] | None = None) -> pa.Table:
    files = unit_files(work, unit, kind)
    if not files:
        raise FileNotFoundError(f"no {kind} files for unit {unit} in {work.map}")
    tables = [pq.read_table(f, columns=columns) for f in files]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


class _UnitWriter:
    """Streams one unit's records and keys into Parquet, batch by batch."""

    def __init__(self, work: WorkDir, unit: int) -> None:
        self.paths = {k: work.map_path(unit, f"{k}.parquet") for k in ("records", "keys")}
        self.writers: dict[str, pq.ParquetWriter] = {}

    def write(self, table: pa.Table) -> None:
        for kind, part in split_records_and_keys(table).items():
            if kind not in self.writers:
                self.writers[kind] = pq.ParquetWriter(tmp_path(self.paths[kind]), part.schema,
                                                      compression=INTERMEDIATE_COMPRESSION)
            self.writers[kind].write_table(part)

    def close(self, empty_schema: Callable[[], pa.Table]) -> None:
        if not self.writers:
            self.write(empty_schema())
        for kind, writer in self.writers.items():
            writer.close()
            tmp_path(self.paths[kind]).replace(self.paths[kind])

    def abort(self) -> None:
        """Close what is open and remove the partial files (a failed write, e.g. a full disk)."""
        for kind, writer in self.writers.items():
            with contextlib.suppress(Exception):
                writer.close()
            tmp_path(self.paths[kind]).unlink(missing_ok=True)
        self.writers.clear()


def run_batch_stages(pipeline: Pipeline, table: pa.Table) -> pa.Table:
    for stage in pipeline.batch_stages:
        before = table.num_rows
        table = stage.process_batch(table)
        if table.num_rows != before:
            raise RuntimeError(f"batch stage {stage.id} changed the row count ({before} -> {table.num_rows})")
    return table


class MapWorker:
    """Runs the map phase for whole units: read, adapt, run the batch stages, write records and keys."""

    def __init__(self, pipeline: Pipeline, config: CurateConfig, formats: dict[int, str | None],
                 format_problems: dict[int, str]) -> None:
        self.pipeline = pipeline
        self.config = config
        self.formats = formats
        self.format_problems = format_problems
        self._ready = False

    def setup(self) -> None:
        if not self._ready:
            for stage in self.pipeline.batch_stages:
                stage.setup()
            self._ready = True

    def reader(self, unit: Unit) -> UnitReader:
        return UnitReader(unit, self.config, self.formats, self.format_problems, self.public_id)

    def public_id(self, value: str) -> str:
        """A conversation id as the batch stages write it (see ``PiiStage.public_id``)."""
        for stage in self.pipeline.batch_stages:
            value = stage.public_id(value)
        return value

    def run(self, unit: Unit, work: WorkDir) -> dict:
        self.setup()
        started = time.perf_counter()
        reader = self.reader(unit)
        out = _UnitWriter(work, unit.index)
        try:
            for table in reader:
                out.write(run_batch_stages(self.pipeline, table))
            out.close(lambda: run_batch_stages(self.pipeline, source_schema().empty_table()))
        except BaseException:
            out.abort()
            raise
        stats = reader.finish(work)
        stats["seconds"] = round(time.perf_counter() - started, 3)
        write_json(work.map_done(unit.index), stats)
        return stats


# ---------------------------------------------------------------- reduce


def run_reduce(pipeline: Pipeline, units: list[Unit], work: WorkDir,
               on_stage: Callable[[str], None] | None = None) -> dict:
    """Run every global stage over the keys of all units; write per-unit decision tables."""
    counts = [read_json(work.map_done(u.index))["conversations"] for u in units]  # type: ignore[index]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])

    def load(name: str) -> pa.ChunkedArray:
        chunks = [read_unit_table(work, u.index, "keys", [name]).column(0) for u in units]
        return pa.chunked_array([c for ch in chunks for c in ch.chunks], type=chunks[0].type if chunks else None)

    events = pa.concat_tables([pq.read_table(work.map_path(u.index, "events.parquet")) for u in units]) if units \
        else EVENT_SCHEMA.empty_table()
    ctx = ReduceContext(n, load, events)
    timings = {}
    for stage in pipeline.global_stages:
        if on_stage:
            on_stage(stage.id)
        started = time.perf_counter()
        stage.reduce(ctx)
        timings[stage.id] = round(time.perf_counter() - started, 3)
    decisions = ctx.decisions()
    for u, start, end in zip(units, offsets[:-1], offsets[1:]):
        write_table(work.decisions_path(u.index), decisions.slice(int(start), int(end - start)))
    summary = {"records": n, "alive": int(ctx.alive.sum()), "seconds": timings}
    write_json(work.reduce_done, summary)
    return summary


# ---------------------------------------------------------------- write


def write_unit(unit: Unit, work: WorkDir, release_columns: list[str], release_schema: pa.Schema) -> dict:
    """Apply the decisions to one unit: its release part, its exclusions and its statistics."""
    started = time.perf_counter()
    records = read_unit_table(work, unit.index, "records")
    decisions = pq.read_table(work.decisions_path(unit.index))
    annotations = [c for c in decisions.column_names if not c.startswith("_")]
    for name in annotations:
        records = records.append_column(name, decisions.column(name)) if name not in records.column_names else \
            records.set_column(records.schema.get_field_index(name), name, decisions.column(name))
    alive = decisions.column(DECISION_ALIVE)
    released = records.filter(alive)

    release = pa.table({name: _cast(released.column(name), release_schema.field(name).type)
                        for name in release_columns}, schema=release_schema)
    write_table(work.write_path(unit.index, "release.parquet"), release, compression="zstd")

    dropped = pc.invert(alive)
    parts = unit.files()
    if unit.parts:  # a pack: its records are its files' one after another, as many as each file gave
        sizes = [f["conversations"] for f in read_json(work.map_done(unit.index))["per_file"]]
    else:
        sizes = [records.num_rows]
    part_of_row = np.repeat(np.arange(len(parts)), sizes)
    labels = pa.array([p.label for p in parts], pa.string())
    excl = pa.table(
        {
            "conversation_id": records.column("conversation_id").filter(dropped),
            "source_file": labels.take(pa.array(part_of_row)).filter(dropped),
            "source_record": records.column("source.record").filter(dropped),
            "reason": decisions.column(DECISION_REASON).filter(dropped),
            "stage": decisions.column(DECISION_STAGE).filter(dropped),
            "related_conversation_id": decisions.column(DECISION_RELATED).filter(dropped),
        },
        schema=EXCLUSION_SCHEMA,
    )
    read_excl = pq.read_table(work.map_path(unit.index, "readexcl.parquet"))
    if read_excl.num_rows:
        excl = pa.concat_tables([excl, pa.table({
            "conversation_id": pa.nulls(read_excl.num_rows, pa.string()),
            "source_file": read_excl.column("file").fill_null(unit.label),
            "source_record": read_excl.column("record"),
            "reason": read_excl.column("reason"),
            "stage": pa.array(["read"] * read_excl.num_rows, pa.string()),
            "related_conversation_id": pa.nulls(read_excl.num_rows, pa.string()),
        }, schema=EXCLUSION_SCHEMA)])
    per_file = None
    if unit.parts:
        alive_np = np.asarray(alive.to_numpy(zero_copy_only=False), bool)
        by_file = Counter(zip(excl.column("source_file").to_pylist(), excl.column("reason").to_pylist()))
        per_file = [{"file_index": p.file_index, "released": int(alive_np[part_of_row == k].sum()),
                     "excluded": {r: n for (label, r), n in by_file.items() if label == p.label}}
                    for k, p in enumerate(parts)]
    # File names as outputs show them: an e-mail or a token in a name is not written out
    public = pa.array([public_label(v) for v in excl.column("source_file").to_pylist()], pa.string())
    excl = excl.set_column(excl.schema.get_field_index("source_file"), "source_file", public)
    write_table(work.write_path(unit.index, "exclusions.parquet"), excl, compression="zstd")

    users = pc.unique(released.column("user_id").drop_null()) if "user_id" in released.column_names else []
    write_table(work.write_path(unit.index, "users.parquet"), pa.table({"user_id": pa.array(users, pa.string())}))
    stats = {
        "unit": unit.index,
        "file_index": unit.file_index,
        "released": released.num_rows,
        "excluded": dict(Counter(excl.column("reason").to_pylist())),
        "turns": int(pc.sum(released.column("turn")).as_py() or 0),
        "models": _value_counts(released.column("model")),
        "languages": _value_counts(released.column("language")),
        "redacted": int(pc.sum(released.column("redacted").cast(pa.int64())).as_py() or 0),
        "pii": _pii_totals(released),
        "pii_preexisting": _pii_totals(released, "pii.preexisting"),
        "moderation": _moderation_totals(released),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if per_file is not None:
        stats["per_file"] = per_file
    write_json(work.write_done(unit.index), stats)
    return stats


def _moderation_totals(table: pa.Table) -> dict:
    """Who tagged the released rows, how many conversations have a flagged message, unparsed answers."""
    out: dict = {"backends": {}, "flagged_conversations": 0, "unparsed_messages": 0}
    if not table.num_rows:
        return out
    if "moderation.backend" in table.column_names:
        out["backends"] = _value_counts(table.column("moderation.backend"))
        out["unparsed_messages"] = int(pc.sum(table.column("moderation.unparsed")).as_py() or 0)
    out["flagged_conversations"] = flagged_conversations(table.column("openai_moderation"))
    return out


def flagged_conversations(moderation: pa.Array | pa.ChunkedArray) -> int:
    """Conversations with at least one flagged message (null entries and null lists count as not flagged)."""
    mod = moderation.combine_chunks() if isinstance(moderation, pa.ChunkedArray) else moderation
    flat = pc.list_flatten(mod)
    if not len(flat):
        return 0
    flagged = pc.and_kleene(pc.is_valid(flat), pc.fill_null(flat.field("flagged"), False))
    return len(pc.unique(pc.list_parent_indices(mod).filter(flagged)))


def _pii_totals(table: pa.Table, column: str = "pii.counts") -> dict[str, int]:
    if column not in table.column_names or not table.num_rows:
        return {}
    counts = table.column(column).combine_chunks()
    return {f.name: int(pc.sum(counts.field(i)).as_py() or 0) for i, f in enumerate(counts.type)}


def _cast(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    return values if values.type == target else values.cast(target)


def _value_counts(col: pa.ChunkedArray) -> dict[str, int]:
    out = {}
    for item in pc.value_counts(col).to_pylist():
        key = item["values"] if item["values"] is not None else "(none)"
        out[key] = item["counts"]
    return out
