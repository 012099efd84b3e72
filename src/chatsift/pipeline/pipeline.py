"""A pipeline: an ordered list of stages, checked before any data moves.

Executors run every ``BatchStage`` in the map phase (in order, per record) and then each
``GlobalStage`` reduce in order; because batch stages are per-record, the result is the same as
running the list strictly in order, with less data movement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatsift.errors import ConfigError
from chatsift.pipeline.stage import BatchStage, GlobalStage, Stage


@dataclass
class Pipeline:
    stages: list[Stage]
    source_columns: tuple[str, ...]  # what the readers provide
    notes: list[str] = field(default_factory=list)  # shown by describe(): disabled slots and the like

    @property
    def batch_stages(self) -> list[BatchStage]:
        return [s for s in self.stages if isinstance(s, BatchStage)]

    @property
    def global_stages(self) -> list[GlobalStage]:
        return [s for s in self.stages if isinstance(s, GlobalStage)]

    def validate(self) -> None:
        """Every stage reads only columns that exist by its turn; batch stages never read reduce outputs."""
        available = set(self.source_columns)
        reduce_outputs: set[str] = set()
        for stage in self.stages:
            needed = stage.key_columns if isinstance(stage, GlobalStage) else stage.inputs
            missing = [c for c in (*stage.inputs, *needed) if c not in available]
            if missing:
                raise ConfigError(f"stage {stage.id} reads {missing}, which no earlier stage or reader provides")
            if isinstance(stage, BatchStage):
                late = [c for c in stage.inputs if c in reduce_outputs]
                if late:
                    raise ConfigError(f"batch stage {stage.id} reads {late}, written by a global stage before it")
            else:
                reduce_outputs.update(stage.outputs)
            available.update(stage.outputs)

    def describe(self) -> str:
        lines = ["map phase (per record, both cores):"]
        for s in self.batch_stages:
            lines.append(f"  - {s.id}: {s.describe()}")
        lines.append("reduce phase (over the keys of every record):")
        for s in self.global_stages:
            lines.append(f"  - {s.id}: {s.describe()}")
        lines.append("write phase: select rows, project to the release schema, size-rotated Parquet shards")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)
