"""The executor-independent work of a run: the map task per unit and the reduce.

Executors only decide where and when these run; the write task per unit is the release wing's
(``release/assemble.py``), handed to them as a callback. Each task reads and writes through ``WorkDir``
and finishes by placing its done marker, so re-running a finished task is never needed and re-running
an unfinished one starts it from scratch.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.common.files import INTERMEDIATE_COMPRESSION, read_json, tmp_path, write_json, write_table
from chatsift.errors import PrivacyError
from chatsift.io.inputs import Unit
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.reduce import (
    ReduceContext,
)
from chatsift.pipeline.unit_reader import EVENT_SCHEMA, UnitReader, source_schema
from chatsift.pipeline.workdir import WorkDir

if TYPE_CHECKING:  # the type only: config imports the settings of the layers below it, not the other way
    from chatsift.config import CurateConfig

log = logging.getLogger(__name__)

KEY_BASE_COLUMNS = ("conversation_id", "tstamp", "quality.reasons", "source.format", "source.file")



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
