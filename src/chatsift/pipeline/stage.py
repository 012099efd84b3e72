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

    def public_id(self, value: str) -> str:
        """A conversation id as this stage leaves it; a stage that rewrites ids says how, so that the
        reader's vote events still name the conversation they are about."""
        return value


class GlobalStage(Stage):
    """Work that needs all records: keys are gathered in the map phase, then ``reduce`` runs once."""

    key_columns: tuple[str, ...] = ()

    def reduce(self, ctx: ReduceContext) -> None:
        raise NotImplementedError


class StageContractError(AssertionError):
    """A stage breaks the stage contract; the message says which rule."""


def check_stage(stage: Stage, batch: pa.Table | None = None) -> pa.Table | None:
    """The stage contract, checked (as scikit-learn's ``check_estimator`` checks an estimator): a versioned
    name, declared columns, a description, picklable for workers without what ``setup`` built; a batch
    stage keeps the rows and their order, writes every column it declares and no other. Returns the
    processed batch (so a pipeline's stages can be checked in order), or raises ``StageContractError``."""
    import pickle

    def need(ok: bool, rule: str) -> None:
        if not ok:
            raise StageContractError(f"{type(stage).__name__}: {rule}")

    need(bool(stage.name) and isinstance(stage.version, int) and stage.version >= 1, "a name and a version >= 1")
    need(all(isinstance(c, str) for c in (*stage.inputs, *stage.outputs)), "inputs and outputs are column names")
    need(isinstance(stage.describe(), str) and bool(stage.describe()), "describe() says what it does")
    stage.setup()
    state = pickle.loads(pickle.dumps(stage))  # what a worker receives
    need(all(getattr(state, name, None) is None for name in stage.worker_resources),
         "worker_resources are left out when pickled")
    if isinstance(stage, GlobalStage):
        need(type(stage).reduce is not GlobalStage.reduce, "a global stage implements reduce")
        need(all(isinstance(c, str) for c in stage.key_columns), "key_columns are column names")
        return batch
    need(isinstance(stage, BatchStage) and type(stage).process_batch is not BatchStage.process_batch,
         "a batch stage implements process_batch")
    if batch is None:
        return None
    missing = [c for c in stage.inputs if c not in batch.column_names]
    need(not missing, f"its inputs exist in the batch (missing {missing})")
    out = stage.process_batch(batch)
    need(out.num_rows == batch.num_rows, "keeps every row")
    need(all(c in out.column_names for c in stage.outputs), "writes every column it declares")
    untouched = [c for c in batch.column_names if c not in stage.outputs and c in out.column_names]
    changed = [c for c in untouched if not out.column(c).equals(batch.column(c))]
    need(not changed, f"changes no column it does not declare (changed {changed})")
    dropped = [c for c in batch.column_names if c not in out.column_names]
    # only an internal column it reads may go (user_id drops the raw address it has keyed)
    need(all(c.startswith("_") and c in stage.inputs for c in dropped), f"drops no column (dropped {dropped})")
    return out


def set_column(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Replace column ``name`` (keeping its position) or append it."""
    i = table.schema.get_field_index(name)
    if i >= 0:
        return table.set_column(i, pa.field(name, values.type), values)
    return table.append_column(pa.field(name, values.type), values)
