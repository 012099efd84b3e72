"""The executor seam: where the map, reduce and write tasks of a run execute.

An executor receives a planned run and must (1) run the map task for every unit without a done
marker, (2) run the reduce once, (3) call the write callback for every unit without a marker. The
tasks themselves (``chatsift.pipeline.tasks``, and the release wing's ``release.assemble.UnitAssembler``
as the write callback) are the same whatever runs them, which is what makes releases identical
across executors; an executor never sees the release schema.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from chatsift.io.inputs import Unit
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan
from chatsift.pipeline.workdir import WorkDir

WriteTask = Callable[[Unit, WorkDir], dict]


@dataclass
class PhaseReport:
    map_stats: list[dict] = field(default_factory=list)
    reduce_stats: dict = field(default_factory=dict)
    write_stats: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class Executor(ABC):
    name: str = ""

    @abstractmethod
    def run(self, plan: RunPlan, pipeline: Pipeline, work: WorkDir, write: WriteTask) -> PhaseReport:
        """Run every phase that has not finished yet and return the per-unit statistics; ``write(unit,
        work)`` writes a unit's part of the output and returns its statistics (picklable: it may run in
        another process)."""
