"""The executor seam: where the map, reduce and write tasks of a run execute.

An executor receives a planned run and must (1) run the map task for every unit without a done
marker, (2) run the reduce once, (3) run the write task for every unit without a marker. The tasks
themselves (``chatsift.pipeline.tasks``) are the same whatever runs them, which is what makes
releases identical across executors.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan
from chatsift.pipeline.workdir import WorkDir


@dataclass
class PhaseReport:
    map_stats: list[dict] = field(default_factory=list)
    reduce_stats: dict = field(default_factory=dict)
    write_stats: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class Executor(ABC):
    name: str = ""

    @abstractmethod
    def run(self, plan: RunPlan, pipeline: Pipeline, work: WorkDir, release_columns: list[str],
            release_schema) -> PhaseReport:
        """Run every phase that has not finished yet and return the per-unit statistics."""
