"""The local executor: a process pool over units, one process per core, with a progress bar.

Workers are started with ``spawn`` (no inherited threads or locks) and set their stages up once.
Each finished unit leaves a done marker, so a killed run resumes with the units that were missing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from tqdm import tqdm

from chatsift.common.files import read_json
from chatsift.executors.base import Executor, PhaseReport, WriteTask
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan
from chatsift.pipeline.tasks import MapWorker, run_reduce
from chatsift.pipeline.workdir import WorkDir
from chatsift.processes import die_with_parent

_worker: MapWorker | None = None


def _init_worker(worker: MapWorker | None, parent: int | None = None) -> None:
    """Per process: tie a pool worker's life to the main process, and set the map stages up once."""
    global _worker
    if parent is not None:
        die_with_parent(parent)  # a worker dies with the main process
    _worker = worker
    if worker is not None:
        worker.setup()


def _map_task(unit, work: WorkDir) -> dict:
    assert _worker is not None
    return _worker.run(unit, work)


def _write_task(unit, work: WorkDir, write: WriteTask) -> dict:
    return write(unit, work)


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, workers: int = 0, progress: bool = True) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.progress = progress

    def run(self, plan: RunPlan, pipeline: Pipeline, work: WorkDir, write: WriteTask) -> PhaseReport:
        report = PhaseReport()
        worker = MapWorker(pipeline, plan.config, plan.formats, plan.format_problems)

        started = time.perf_counter()
        todo = [u for u in plan.units if not work.map_done(u.index).exists()]
        report.map_stats = [read_json(work.map_done(u.index)) for u in plan.units if u not in todo]
        with self._bar(sum(u.size for u in plan.units), "read+map", unit="B", unit_scale=True) as bar:
            bar.update(sum(u.size for u in plan.units if u not in todo))
            for unit, stats in self._each(todo, _map_task, (work,), worker):
                report.map_stats.append(stats)
                bar.update(unit.size)
                bar.set_postfix(conv=sum(s["conversations"] for s in report.map_stats), refresh=False)
        report.seconds["map"] = time.perf_counter() - started

        started = time.perf_counter()
        if work.reduce_done.exists():
            report.reduce_stats = read_json(work.reduce_done)
        else:
            with self._bar(len(pipeline.global_stages), "reduce") as bar:
                report.reduce_stats = run_reduce(pipeline, plan.units, work,
                                                 on_stage=lambda s: (bar.set_postfix_str(s), bar.update(1)))
        report.seconds["reduce"] = time.perf_counter() - started

        started = time.perf_counter()
        todo = [u for u in plan.units if not work.write_done(u.index).exists()]
        report.write_stats = [read_json(work.write_done(u.index)) for u in plan.units if u not in todo]
        with self._bar(len(plan.units), "write", unit="unit") as bar:
            bar.update(len(plan.units) - len(todo))
            for _, stats in self._each(todo, _write_task, (work, write), None):
                report.write_stats.append(stats)
                bar.update(1)
        report.seconds["write"] = time.perf_counter() - started
        report.map_stats.sort(key=lambda s: s["unit"])
        report.write_stats.sort(key=lambda s: s["unit"])
        return report

    def _bar(self, total: int, desc: str, **kw) -> tqdm:
        return tqdm(total=total, desc=desc, disable=not self.progress, dynamic_ncols=True, smoothing=0.1, **kw)

    def _each(self, units, fn, args, worker: MapWorker | None):
        """Yield (unit, result) as units finish; in-process when one worker suffices."""
        if not units:
            return
        if self.workers == 1 or len(units) == 1:
            if worker is not None:
                _init_worker(worker)
            for unit in units:
                yield unit, fn(unit, *args)
            return
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(units)), mp_context=ctx, initializer=_init_worker,
                                 initargs=(worker, os.getpid())) as pool:
            futures = {pool.submit(fn, unit, *args): unit for unit in units}
            for future in as_completed(futures):
                yield futures[future], future.result()
