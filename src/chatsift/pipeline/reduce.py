"""The reduce side of global stages: every record's keys, and the decisions stages take about rows.

Records are addressed by their global row number (``gid``): units in plan order, rows in file order.
A stage excludes rows (each exclusion keeps the first reason given, with the stage that gave it)
or annotates them; the executor turns the result into per-unit decision tables.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DECISION_ALIVE = "_alive"
DECISION_REASON = "_reason"
DECISION_STAGE = "_stage"
DECISION_RELATED = "_related_id"


class ReduceContext:
    """Keys and running decisions for ``n`` records.

    Args:
        column_loader: returns a key column for all records, in gid order. Executors back it with
            their own storage (per-unit Parquet files locally).
        events: vote events, columns ``conversation_id``, ``kind``, ``tstamp``.
    """

    def __init__(self, n: int, column_loader: Callable[[str], pa.ChunkedArray], events: pa.Table) -> None:
        self.n = n
        self._load = column_loader
        self.events = events
        self.alive = np.ones(n, dtype=bool)
        self._reason = np.full(n, -1, dtype=np.int32)
        self._related = np.full(n, -1, dtype=np.int64)
        self._reason_names: list[str] = []
        self._reason_stages: list[str] = []
        self.annotations: dict[str, pa.Array] = {}
        self._cache: dict[str, pa.ChunkedArray] = {}

    def column(self, name: str, cache: bool = True) -> pa.ChunkedArray:
        if name in self._cache:
            return self._cache[name]
        col = self._load(name)
        if len(col) != self.n:
            raise RuntimeError(f"key column {name} has {len(col)} rows, expected {self.n}")
        if cache:
            self._cache[name] = col
        return col

    def numpy(self, name: str, fill: object = 0, cache: bool = False) -> np.ndarray:
        """A numeric key column as numpy, nulls replaced by ``fill``."""
        col = self.column(name, cache=cache)
        if col.null_count:
            col = pc.fill_null(col, fill)
        return col.to_numpy()

    def exclude(self, rows: np.ndarray, reason: str, stage: str, related: np.ndarray | None = None) -> int:
        """Exclude ``rows`` (a boolean mask or gid array) that are still alive; returns how many."""
        idx = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows, dtype=np.int64)
        if related is not None:
            related = np.asarray(related, dtype=np.int64)
            keep = self.alive[idx]
            idx, related = idx[keep], related[keep]
        else:
            idx = idx[self.alive[idx]]
        if not len(idx):
            return 0
        key = (reason, stage)
        pairs = list(zip(self._reason_names, self._reason_stages))
        code = pairs.index(key) if key in pairs else len(pairs)
        if code == len(pairs):
            self._reason_names.append(reason)
            self._reason_stages.append(stage)
        self.alive[idx] = False
        self._reason[idx] = code
        if related is not None:
            self._related[idx] = related
        return len(idx)

    def annotate(self, name: str, values: pa.Array) -> None:
        if len(values) != self.n:
            raise ValueError(f"annotation {name} has {len(values)} values for {self.n} records")
        self.annotations[name] = values

    def decisions(self) -> pa.Table:
        """One row per record: alive, reason, stage, related conversation id, annotations."""
        names = pa.array([*self._reason_names, None], pa.string())
        stages = pa.array([*self._reason_stages, None], pa.string())
        codes = np.where(self._reason < 0, len(self._reason_names), self._reason)
        related_ids = pa.nulls(self.n, pa.string())
        has_related = self._related >= 0
        if has_related.any():
            ids = self.column("conversation_id").combine_chunks()
            taken = ids.take(pa.array(np.where(has_related, self._related, 0)))
            related_ids = pc.if_else(pa.array(has_related), taken, pa.nulls(self.n, pa.string()))
        cols = {
            DECISION_ALIVE: pa.array(self.alive),
            DECISION_REASON: names.take(pa.array(codes)),
            DECISION_STAGE: stages.take(pa.array(codes)),
            DECISION_RELATED: related_ids,
        }
        cols.update(self.annotations)
        return pa.table(cols)


def first_of_groups(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group ``rows`` (gids, ascending) by ``keys[rows]``.

    Returns (group index per row, the first gid of each group, the size of each group).
    """
    _, first_pos, inverse, counts = np.unique(keys[rows], return_index=True, return_inverse=True,
                                              return_counts=True)
    return inverse, rows[first_pos], counts
