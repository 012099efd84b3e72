"""Keep the latest snapshot of each conversation_id, and fold vote events onto it.

The paper's Step 1.9: sort by tstamp, keep the newest record per id (records without a tstamp, or
with equal ones, are ordered by their position in the input, so the later one wins). As in the
paper, records with an extraction-level problem (``bad_format``, ``network_error``) are excluded
before snapshots are compared, so an earlier clean snapshot survives a later broken one.

An id names the same conversation only within its scope (``snapshot.scope``): FastChat logs span
files (a conversation's snapshots land in the logs of several days), and so do OpenTelemetry
traces (the LLM calls of one conversation id), other formats do not, so two
unrelated files that happen to share ids keep both conversations, with their ids exactly as given;
the release's manifest counts such collisions.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatsift.pipeline.reduce import ReduceContext
from chatsift.pipeline.stage import GlobalStage
from chatsift.schema import VOTE_COLUMNS

PRE_SNAPSHOT_REASONS = ("bad_format", "network_error")


def exclude_by_reasons(ctx: ReduceContext, reasons: tuple[str, ...], stage: str) -> None:
    """Exclude alive rows whose ``quality.reasons`` hold one of ``reasons`` (first in that order wins)."""
    if not reasons:
        return
    col = ctx.column("quality.reasons")
    flat = pc.list_flatten(col)
    if not len(flat):
        return
    parents = pc.list_parent_indices(col).to_numpy()
    flat_np = np.asarray(flat.to_pylist(), dtype=object)
    for reason in reasons:
        hit = np.zeros(ctx.n, dtype=bool)
        hit[parents[flat_np == reason]] = True
        ctx.exclude(hit, reason, stage)


class SnapshotDedup(GlobalStage):
    name = "snapshot_dedup"
    key_columns = ("conversation_id", "tstamp", "quality.reasons", "source.format", "source.file")
    GLOBAL_FORMATS = frozenset({"fastchat_logs", "otel_genai"})  # ids that span files (daily logs, trace exports)
    outputs = VOTE_COLUMNS

    def __init__(self, pre_reasons: tuple[str, ...], enabled: bool = True, scope: str = "auto") -> None:
        self.pre_reasons = pre_reasons
        self.enabled = enabled
        self.scope = scope

    def describe(self) -> str:
        excl = ", ".join(self.pre_reasons) or "nothing"
        what = f"latest record per conversation_id (scope: {self.scope})" if self.enabled else "off"
        return f"exclude {excl} first; keep the {what}; add vote counts"

    def reduce(self, ctx: ReduceContext) -> None:
        exclude_by_reasons(ctx, self.pre_reasons, "format_filter")
        ids = ctx.column("conversation_id").combine_chunks()
        codes = pc.dictionary_encode(self._keys(ctx, ids)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        if self.enabled:
            tstamp = ctx.numpy("tstamp", fill=-np.inf)
            rows = np.flatnonzero(ctx.alive)
            # Sort by (id, tstamp, position); the last row of each id is the snapshot to keep.
            order = rows[np.lexsort((rows, tstamp[rows], codes[rows]))]
            sorted_codes = codes[order]
            is_last = np.ones(len(order), dtype=bool)
            is_last[:-1] = sorted_codes[:-1] != sorted_codes[1:]
            keeper_of_code = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.int64)
            keeper_of_code[sorted_codes[is_last]] = order[is_last]
            superseded = order[~is_last]
            ctx.exclude(superseded, "snapshot_superseded", self.name, related=keeper_of_code[codes[superseded]])
        self._fold_votes(ctx, ids)

    def _keys(self, ctx: ReduceContext, ids: pa.Array) -> pa.Array:
        """The id within its scope: the id alone where it spans files, else prefixed by its source file."""
        if self.scope == "global":
            return ids
        files = pc.fill_null(ctx.column("source.file").combine_chunks(), "")
        if self.scope == "auto":
            fmt = pc.fill_null(ctx.column("source.format").combine_chunks(), "")
            spans = pc.is_in(fmt, value_set=pa.array(sorted(self.GLOBAL_FORMATS)))
            files = pc.if_else(spans, pa.scalar("", files.type), files)
        return pc.binary_join_element_wise(files.cast(pa.string()), pc.fill_null(ids, "").cast(pa.string()), "\x1f")

    def _fold_votes(self, ctx: ReduceContext, ids: pa.Array) -> None:
        """Count vote events per kind onto the kept snapshot; conversations with no vote stay null."""
        events = ctx.events
        if not events.num_rows:
            return
        counts = events.group_by(["conversation_id", "kind"]).aggregate([([], "count_all")])
        alive_rows = np.flatnonzero(ctx.alive)
        alive_ids = ids.take(pa.array(alive_rows))
        voted = np.zeros(ctx.n, dtype=bool)
        per_kind = {}
        for column in VOTE_COLUMNS:
            sub = counts.filter(pc.equal(counts["kind"], column.split(".", 1)[1]))
            values = np.zeros(ctx.n, dtype=np.int32)
            if sub.num_rows:
                pos = pc.index_in(alive_ids, value_set=sub["conversation_id"])
                found = pos.is_valid().to_numpy(zero_copy_only=False)
                target = alive_rows[found]
                values[target] = sub["count_all"].to_numpy()[pc.fill_null(pos, 0).to_numpy()[found]]
                voted[target] = True
            per_kind[column] = values
        for column, values in per_kind.items():
            ctx.annotate(column, pa.array(values, pa.int32(), mask=~voted))
