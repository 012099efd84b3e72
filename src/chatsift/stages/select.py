"""Select: the only stage that removes content-level records, each with a recorded reason.

In order: the filter reasons named in ``select.exclude_reasons``; then, if asked, one conversation
per exact group (the first in input order stays) and at most K per near-duplicate cluster.
"""

from __future__ import annotations

import numpy as np

from chatsift.pipeline.reduce import ReduceContext, first_of_groups
from chatsift.pipeline.stage import GlobalStage
from chatsift.stages.dedup.groups import EXACT_GROUP, NEAR_CLUSTER
from chatsift.stages.dedup.signatures import EXACT
from chatsift.stages.settings import SelectConfig
from chatsift.stages.snapshot import exclude_by_reasons


class Select(GlobalStage):
    name = "select"
    key_columns = ("conversation_id", "quality.reasons")

    def __init__(self, config: SelectConfig, reasons: tuple[str, ...], near_enabled: bool) -> None:
        self.config = config
        self.reasons = reasons
        keys = ["conversation_id", "quality.reasons"]
        if config.exact == "one_per_group":
            keys.append(EXACT)
        self.key_columns = tuple(keys)
        self.inputs = (EXACT_GROUP,) + ((NEAR_CLUSTER,) if config.near_max_per_cluster else ())
        if config.near_max_per_cluster and not near_enabled:
            from chatsift.errors import ConfigError

            raise ConfigError("select.near_max_per_cluster needs duplicates.near.enabled")

    def describe(self) -> str:
        parts = [f"exclude reasons: {', '.join(self.reasons) or 'none'}"]
        if self.config.exact == "one_per_group":
            parts.append("one conversation per exact group")
        if self.config.near_max_per_cluster:
            parts.append(f"at most {self.config.near_max_per_cluster} per near-duplicate cluster")
        return "; ".join(parts)

    def reduce(self, ctx: ReduceContext) -> None:
        exclude_by_reasons(ctx, self.reasons, "content_filter")
        if self.config.exact == "one_per_group":
            exact = ctx.numpy(EXACT)
            rows = np.flatnonzero(ctx.alive & (exact != 0))
            if len(rows):
                inverse, first, _ = first_of_groups(exact, rows)
                keeper = first[inverse]
                dup = keeper != rows
                ctx.exclude(rows[dup], "exact_duplicate", self.name, related=keeper[dup])
        cap = self.config.near_max_per_cluster
        if cap:
            clusters = ctx.annotations[NEAR_CLUSTER]
            rows = np.flatnonzero(ctx.alive & clusters.is_valid().to_numpy(zero_copy_only=False))
            if len(rows):
                codes = np.asarray(clusters.dictionary_encode().indices.to_numpy(zero_copy_only=False))
                inverse, first, _ = first_of_groups(codes, rows)
                # Rank within each cluster by input order: rows are ascending, so a stable sort works.
                order = np.argsort(inverse, kind="stable")
                sorted_groups = inverse[order]
                starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
                rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
                over = np.zeros(len(rows), dtype=bool)
                over[order] = rank >= cap
                ctx.exclude(rows[over], "near_duplicate_cap", self.name, related=first[inverse][over])
