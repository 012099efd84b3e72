"""The Ray executor: the same pipeline on Ray Data, on one machine or a cluster.

How stages map to Ray Data (the stages themselves know nothing about Ray):

- read: ``from_items(units)`` then a batch map per unit (``UnitReader``, the code the local executor
  uses); each conversation gets ``_unit`` and ``_row`` so global order never depends on blocks;
- every ``BatchStage``: its own ``map_batches`` over Arrow tables, with the stage's ``Resources``
  translated to ``num_cpus`` / ``num_gpus`` (Ray fuses neighbouring CPU maps into one task);
- persist: a last batch map writes each block as row-ordered chunk files per unit in the shared work
  folder (atomic, named by unit and first row, so a retried task rewrites the same files);
- global stages: the reduce runs on the driver over the compact key columns (about 300 bytes a
  conversation), exactly as locally;
- write: one Ray task per unit (the write callback, ``release.assemble.UnitAssembler``), then the driver
  packs the shards as locally.

Map tasks are retried by Ray when a worker dies; outputs are idempotent, so a retry neither loses
nor doubles a record. The release is the same as the local executor's (the parity test checks it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time

import numpy as np
import pyarrow as pa

from chatsift.common.files import read_json, write_json
from chatsift.errors import ConfigError
from chatsift.executors.base import Executor, PhaseReport, WriteTask
from chatsift.optional import require
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan
from chatsift.pipeline.stage import BatchStage
from chatsift.pipeline.tasks import (
    MapWorker,
    run_reduce,
    source_schema,
    unit_files,
    write_chunk,
)
from chatsift.pipeline.workdir import WorkDir

log = logging.getLogger(__name__)

UNIT, ROW = "_unit", "_row"
TASK_RETRIES = 3

# Stages set up once per worker process, whatever task brings them (setup can load models).
_READY: dict[str, BatchStage] = {}


def stage_key(stage: BatchStage) -> str:
    """Identifies a stage and its settings, computed on the driver before any setup."""
    return f"{stage.id}:{hashlib.sha256(pickle.dumps(stage)).hexdigest()}"


def _ready_stage(stage: BatchStage, key: str) -> BatchStage:
    ready = _READY.get(key)
    if ready is None:
        stage.setup()
        ready = _READY[key] = stage
    return ready


def _read_units(batch: pa.Table, worker: MapWorker, units: dict, work: WorkDir) -> pa.Table:
    tables = []
    for index in batch.column("unit").to_pylist():
        unit = units[index]
        reader = worker.reader(unit)
        parts = list(reader)
        stats = reader.finish(work)
        write_json(work.map_path(unit.index, "readstats.json"), stats)
        table = pa.concat_tables(parts) if parts else source_schema().empty_table()
        table = table.append_column(UNIT, pa.array(np.full(table.num_rows, index, dtype=np.int32)))
        tables.append(table.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int64))))
    return pa.concat_tables(tables) if tables else _empty_source()


def _empty_source() -> pa.Table:
    table = source_schema().empty_table()
    return table.append_column(UNIT, pa.array([], pa.int32())).append_column(ROW, pa.array([], pa.int64()))


def _apply_stage(batch: pa.Table, stage: BatchStage, key: str) -> pa.Table:
    ready = _ready_stage(stage, key)
    before = batch.num_rows
    out = ready.process_batch(batch)
    if out.num_rows != before:
        raise RuntimeError(f"batch stage {stage.id} changed the row count ({before} -> {out.num_rows})")
    return out


def _persist(batch: pa.Table, work: WorkDir) -> pa.Table:
    units = batch.column(UNIT).to_numpy()
    rows = batch.column(ROW).to_numpy()
    out = {"unit": [], "first_row": [], "rows": []}
    for unit in np.unique(units):
        take = np.flatnonzero(units == unit)
        take = take[np.argsort(rows[take], kind="stable")]
        part = batch.take(pa.array(take))
        first = int(rows[take[0]])
        write_chunk(work, int(unit), first, part)
        out["unit"].append(int(unit))
        out["first_row"].append(first)
        out["rows"].append(len(take))
    return pa.table({"unit": pa.array(out["unit"], pa.int32()), "first_row": pa.array(out["first_row"], pa.int64()),
                     "rows": pa.array(out["rows"], pa.int64())})


def _write_task(unit, work: WorkDir, write: WriteTask) -> dict:
    return write(unit, work)


class _DropNotices(logging.Filter):
    """Ray Data's console notices that say nothing to a chatsift user (the file log keeps everything)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(("Progress bars disabled", "Starting execution",
                                                        "Execution plan", "✔️"))


def _quiet_ray_data() -> None:
    """Ray Data logs INFO lines to the console through its own handler; keep warnings and errors only."""
    logger = logging.getLogger("ray.data")
    for handler in logger.handlers:
        if "File" not in type(handler).__name__:
            handler.setLevel(logging.WARNING)
            if not any(isinstance(f, _DropNotices) for f in handler.filters):
                handler.addFilter(_DropNotices())


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, progress: bool = True, num_cpus: int | None = None,
                 batch_size: int = 2000) -> None:
        self.address = address
        self.progress = progress
        self.num_cpus = num_cpus
        self.batch_size = batch_size

    def _init(self):
        ray = require("ray", "--executor ray", "pip install 'chatsift[ray]'", package="Ray Data")
        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True,
                      "logging_level": logging.WARNING}
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.num_cpus or os.cpu_count() or 1
            # Workers import chatsift from this environment; on a remote cluster install it there too.
            try:
                ray.init(**kwargs)
            except ConnectionError as exc:
                raise ConfigError(f"could not connect to the Ray cluster at {self.address!r}: {exc}") from None
        import ray.data  # its import configures its console logging, which _quiet_ray_data then turns down

        _quiet_ray_data()
        ctx = ray.data.DataContext.get_current()
        ctx.print_on_execution_start = False
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = self.progress
        return ray

    def run(self, plan: RunPlan, pipeline: Pipeline, work: WorkDir, write: WriteTask) -> PhaseReport:
        ray = self._init()
        report = PhaseReport()

        started = time.perf_counter()
        todo = [u for u in plan.units if not work.map_done(u.index).exists()]
        if todo:
            self._map(ray, plan, pipeline, work, todo)
        report.map_stats = [read_json(work.map_done(u.index)) for u in plan.units]
        report.seconds["map"] = time.perf_counter() - started

        started = time.perf_counter()
        report.reduce_stats = read_json(work.reduce_done) if work.reduce_done.exists() else \
            run_reduce(pipeline, plan.units, work)
        report.seconds["reduce"] = time.perf_counter() - started

        started = time.perf_counter()
        todo = [u for u in plan.units if not work.write_done(u.index).exists()]
        task = ray.remote(max_retries=TASK_RETRIES)(_write_task)
        ray.get([task.remote(u, work, write) for u in todo])
        report.write_stats = [read_json(work.write_done(u.index)) for u in plan.units]
        report.seconds["write"] = time.perf_counter() - started
        return report

    def _map(self, ray, plan: RunPlan, pipeline: Pipeline, work: WorkDir, todo) -> None:
        worker = MapWorker(pipeline, plan.config, plan.formats, plan.format_problems)
        units = {u.index: u for u in todo}
        for u in todo:  # chunks of an interrupted earlier attempt would mix with the new ones
            for kind in ("records", "keys"):
                for path in unit_files(work, u.index, kind):
                    path.unlink()
        # A dead worker is a system failure: Ray retries the task (three times by default), and the
        # outputs are idempotent, so the retry neither loses nor doubles a record.
        ds = ray.data.from_items([{"unit": u.index} for u in todo], override_num_blocks=len(todo))
        ds = ds.map_batches(_read_units, batch_size=1, batch_format="pyarrow",
                            fn_kwargs={"worker": worker, "units": units, "work": work})
        for stage in pipeline.batch_stages:
            resources = {"num_cpus": stage.resources.cpus}
            if stage.resources.gpus:
                resources["num_gpus"] = stage.resources.gpus
            ds = ds.map_batches(_apply_stage, batch_size=self.batch_size, batch_format="pyarrow",
                                fn_kwargs={"stage": stage, "key": stage_key(stage)}, **resources)
        ds = ds.map_batches(_persist, batch_size=None, batch_format="pyarrow", fn_kwargs={"work": work})
        written = ds.to_arrow_refs()
        counts: dict[int, int] = {}
        for table in ray.get(written):
            for unit, rows in zip(table.column("unit").to_pylist(), table.column("rows").to_pylist()):
                counts[unit] = counts.get(unit, 0) + rows
        for u in todo:
            stats = read_json(work.map_path(u.index, "readstats.json"))
            if counts.get(u.index, 0) != stats["conversations"]:
                raise RuntimeError(f"unit {u.index}: {counts.get(u.index, 0)} rows persisted, "
                                   f"{stats['conversations']} read")
            if stats["conversations"] == 0:  # an empty unit still needs its (empty) tables
                empty = _empty_source()
                for stage in pipeline.batch_stages:
                    empty = _apply_stage(empty, stage, stage_key(stage))
                write_chunk(work, u.index, 0, empty)
            write_json(work.map_done(u.index), stats)
