"""The moderation slot. For now: keep ``openai_moderation`` from the source, one result per message.

A result list that no longer lines up with the messages (normalisation merged or moved some) is
replaced by null and noted, because a misaligned label is worse than none. A trained moderation
model and API taggers fill this slot in later versions.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from chatsift.pipeline.stage import BatchStage, set_column


class ModerationPassthrough(BatchStage):
    name = "moderation_passthrough"
    inputs = ("conversation", "openai_moderation", "normalize.issues")
    outputs = ("openai_moderation", "normalize.issues")

    def describe(self) -> str:
        return "keep the source's openai_moderation where it lines up with the messages; null elsewhere"

    def process_batch(self, batch: pa.Table) -> pa.Table:
        mod = batch.column("openai_moderation")
        if mod.null_count == len(mod):
            return batch
        n_msgs = pc.list_value_length(batch.column("conversation")).to_pylist()
        n_mod = pc.list_value_length(mod).to_pylist()
        misaligned = [m is not None and m != c for m, c in zip(n_mod, n_msgs)]
        if not any(misaligned):
            return batch
        mask = pa.array(misaligned)
        batch = set_column(batch, "openai_moderation", pc.if_else(mask, pa.nulls(len(mask), mod.type), mod))
        issues = batch.column("normalize.issues").to_pylist()
        for i, bad in enumerate(misaligned):
            if bad:
                issues[i] = [*(issues[i] or []), "moderation_misaligned"]
        return set_column(batch, "normalize.issues", pa.array(issues, pa.list_(pa.string())))
