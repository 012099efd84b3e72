"""Group duplicates over the records still in the release: exact groups, near-duplicate clusters
(connected components of MinHash-LSH band collisions) and template groups.

Only annotates; ``select`` decides what to keep. Group sizes count the records that reached this
stage (after snapshot dedup and the format filter).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from chatsift.pipeline.reduce import ReduceContext, first_of_groups
from chatsift.pipeline.stage import GlobalStage
from chatsift.stages.dedup.signatures import EXACT, TEMPLATE, band_column
from chatsift.stages.settings import DuplicatesConfig

EXACT_GROUP, EXACT_SIZE = "dedup.exact_group", "dedup.exact_size"
NEAR_CLUSTER, NEAR_SIZE = "dedup.near_cluster", "dedup.near_size"
TEMPLATE_GROUP, TEMPLATE_SIZE = "dedup.template_group", "dedup.template_size"


def band_edges(bands: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining each row to the first row with the same band value (rows with value 0 skipped)."""
    keep = bands != 0
    vals, rows = bands[keep], rows[keep]
    if len(vals) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(vals, kind="stable")
    vals, rows = vals[order], rows[order]
    starts = np.ones(len(vals), dtype=bool)
    starts[1:] = vals[1:] != vals[:-1]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(vals)), 0))
    member = ~starts
    return rows[run_start[member]], rows[member]


class DuplicateGroups(GlobalStage):
    name = "duplicate_groups"
    outputs = (EXACT_GROUP, EXACT_SIZE, NEAR_CLUSTER, NEAR_SIZE, TEMPLATE_GROUP, TEMPLATE_SIZE)

    def __init__(self, config: DuplicatesConfig) -> None:
        self.config = config
        keys = ["conversation_id", EXACT, TEMPLATE]
        if config.near.enabled:
            keys.extend(band_column(i) for i in range(config.near.bands))
        self.key_columns = tuple(keys)

    def describe(self) -> str:
        t = self.config.template
        return (f"exact groups; near-duplicate clusters (connected components of band collisions); "
                f"template groups with at least {t.min_size} distinct prompts")

    def reduce(self, ctx: ReduceContext) -> None:
        rows = np.flatnonzero(ctx.alive)
        exact = ctx.numpy(EXACT)
        self._exact(ctx, exact, rows)
        if self.config.near.enabled:
            self._near(ctx, rows)
        if self.config.template.enabled:
            self._template(ctx, exact, rows)

    def _exact(self, ctx: ReduceContext, exact: np.ndarray, rows: np.ndarray) -> None:
        rows = rows[exact[rows] != 0]
        sizes = np.zeros(ctx.n, dtype=np.int64)
        if len(rows):
            inverse, _, counts = first_of_groups(exact, rows)
            sizes[rows] = counts[inverse]
        has = sizes > 0
        groups = pa.array([format(int(v), "016x") if h else None for v, h in zip(exact, has)], pa.string())
        ctx.annotate(EXACT_GROUP, groups)
        ctx.annotate(EXACT_SIZE, pa.array(sizes, pa.int64(), mask=~has))

    def _near(self, ctx: ReduceContext, rows: np.ndarray) -> None:
        if not len(rows):
            ctx.annotate(NEAR_CLUSTER, pa.nulls(ctx.n, pa.string()))
            ctx.annotate(NEAR_SIZE, pa.nulls(ctx.n, pa.int64()))
            return
        sources, targets = [], []
        for i in range(self.config.near.bands):
            band = ctx.numpy(band_column(i))
            s, t = band_edges(band[rows], rows)
            sources.append(s)
            targets.append(t)
            del band
        src, dst = np.concatenate(sources), np.concatenate(targets)
        local = np.full(ctx.n, -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        graph = coo_matrix((np.ones(len(src), dtype=np.int8), (local[src], local[dst])), shape=(len(rows),) * 2)
        _, labels = connected_components(graph, directed=False)
        inverse, first, counts = first_of_groups(labels, np.arange(len(rows)))
        ids = ctx.column("conversation_id").combine_chunks()
        root_ids = ids.take(pa.array(rows[first]))
        positions = np.zeros(ctx.n, dtype=np.int64)
        positions[rows] = inverse
        sizes = np.zeros(ctx.n, dtype=np.int64)
        sizes[rows] = counts[inverse]
        cluster = root_ids.take(pa.array(positions, mask=sizes == 0))
        ctx.annotate(NEAR_CLUSTER, cluster)
        ctx.annotate(NEAR_SIZE, pa.array(sizes, pa.int64(), mask=sizes == 0))

    def _template(self, ctx: ReduceContext, exact: np.ndarray, rows: np.ndarray) -> None:
        template = ctx.numpy(TEMPLATE)
        rows = rows[template[rows] != 0]
        sizes = np.zeros(ctx.n, dtype=np.int64)
        in_template = np.zeros(ctx.n, dtype=bool)
        if len(rows):
            inverse, _, counts = first_of_groups(template, rows)
            # Distinct prompts per frame: pairs (frame, exact hash) counted once.
            pairs = np.unique(np.stack([inverse.astype(np.uint64), exact[rows]], axis=1), axis=0)
            distinct = np.bincount(pairs[:, 0].astype(np.int64), minlength=len(counts))
            qualifies = distinct[inverse] >= self.config.template.min_size
            sizes[rows[qualifies]] = counts[inverse[qualifies]]
            in_template[rows[qualifies]] = True
        groups = [format(int(v), "016x") if t else None for v, t in zip(template, in_template)]
        ctx.annotate(TEMPLATE_GROUP, pa.array(groups, pa.string()))
        ctx.annotate(TEMPLATE_SIZE, pa.array(sizes, pa.int64(), mask=~in_template))
