"""Stages: the units of work a pipeline is made of, independent of the executor that runs them.

A ``BatchStage`` maps a table of records to a table with the same rows (per-record work: normalise,
detect language, compute signatures). A ``GlobalStage`` needs every record at once (snapshot dedup,
duplicate clustering, selection, sampling): it declares the key columns it reads, and its ``reduce``
sees those keys for all records through a ``ReduceContext``, where it excludes rows with a reason or
adds annotation columns. Executors translate ``resources``; stages carry nothing executor-specific.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from chatsift.pipeline.reduce import ReduceContext


@dataclass(frozen=True)
class Resources:
    """What one copy of a stage needs; executors map it to processes, Ray tasks or GPUs."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int | None = None


class Stage:
    """Common fields: a versioned name, declared columns, resources and a lifecycle."""

    name: str = ""
    version: int = 1
    resources: Resources = Resources()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    # Attributes holding what ``setup`` builds (models, automata). They are left out when a stage is
    # pickled for a worker process or a Ray task, so each worker builds its own copy.
    worker_resources: tuple[str, ...] = ()

    def __getstate__(self) -> dict:
        return {k: (None if k in self.worker_resources else v) for k, v in self.__dict__.items()}

    @property
    def id(self) -> str:
        return f"{self.name}_v{self.version}"

    def setup(self) -> None:
        """Load models or open resources once per worker."""

    def teardown(self) -> None:
        """Release what ``setup`` took."""

    def describe(self) -> str:
        """One line for ``--dry-run``: what the stage does with its current settings."""
        return ""


class BatchStage(Stage):
    """Per-record work over a table of records; must keep the rows and their order."""

    def process_batch(self, batch: pa.Table) -> pa.Table:
        raise NotImplementedError


class GlobalStage(Stage):
    """Work that needs all records: keys are gathered in the map phase, then ``reduce`` runs once."""

    key_columns: tuple[str, ...] = ()

    def reduce(self, ctx: ReduceContext) -> None:
        raise NotImplementedError


def set_column(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Replace column ``name`` (keeping its position) or append it."""
    i = table.schema.get_field_index(name)
    if i >= 0:
        return table.set_column(i, pa.field(name, values.type), values)
    return table.append_column(pa.field(name, values.type), values)
