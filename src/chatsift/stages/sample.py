"""Seeded sampling, as the paper's Step 3.4: ``random.seed(42)``, shuffle, keep the first n.

With the same candidate list in the same order, ``random.Random(seed).shuffle`` picks exactly the
records the paper's script picked; the release keeps input order rather than shuffled order.
"""

from __future__ import annotations

import random

import numpy as np

from chatsift.pipeline.reduce import ReduceContext
from chatsift.pipeline.stage import GlobalStage
from chatsift.stages.settings import SampleConfig


class Sample(GlobalStage):
    name = "sample"
    key_columns = ("conversation_id",)

    def __init__(self, config: SampleConfig) -> None:
        self.config = config

    def describe(self) -> str:
        return f"seeded shuffle (seed {self.config.seed}) and take {self.config.n:,}"

    def reduce(self, ctx: ReduceContext) -> None:
        candidates = np.flatnonzero(ctx.alive).tolist()
        if self.config.n is None or len(candidates) <= self.config.n:
            return
        random.Random(self.config.seed).shuffle(candidates)
        ctx.exclude(np.array(sorted(candidates[self.config.n :]), dtype=np.int64), "not_sampled", self.name)
