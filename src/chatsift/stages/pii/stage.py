"""The ``pii`` stage: redact every message (and the system prompt) of every conversation.

Writes the redacted text in place, sets ``redacted`` when anything was replaced (or the source had
already redacted), counts replacements per kind in ``pii.counts``, and keeps the spans found (message,
offsets in the original text, kind, placeholder; never the values) in ``pii.spans`` for audits in
``--schema full``. A conversation whose scan ran out of time gets the ``pii_timeout`` reason.
"""

from __future__ import annotations

import pyarrow as pa

from chatsift.config import PiiConfig
from chatsift.errors import ConfigError
from chatsift.pipeline.stage import BatchStage, set_column
from chatsift.schema import CONVERSATION_TYPE, PII_COUNTS_TYPE, PII_SPANS_TYPE
from chatsift.stages.pii.redactor import Redactor
from chatsift.stages.pii.spans import KINDS


def make_redactor(config: PiiConfig) -> Redactor:
    kinds = frozenset(config.kinds)
    unknown = kinds - set(KINDS)
    if unknown:
        raise ConfigError(f"pii.kinds: unknown kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
    if config.backend == "builtin":
        return Redactor(kinds, config.time_budget_s)
    if config.backend == "presidio":
        from chatsift.stages.pii.presidio_backend import PresidioNameFinder

        finder = PresidioNameFinder(config.presidio_model) if "name" in kinds else None
        return Redactor(kinds, config.time_budget_s, name_finder=finder)
    raise ConfigError(f"pii.backend: expected 'builtin' or 'presidio', got {config.backend!r}")


class PiiStage(BatchStage):
    name = "pii"
    worker_resources = ("_redactor",)
    inputs = ("conversation", "system_prompt", "redacted", "quality.reasons")
    outputs = ("conversation", "system_prompt", "redacted", "pii.counts", "pii.spans", "quality.reasons")

    def __init__(self, config: PiiConfig) -> None:
        self.config = config
        self._redactor: Redactor | None = None

    def describe(self) -> str:
        return (f"{self.config.backend} detector; kinds: {', '.join(self.config.kinds)}; "
                f"{self.config.time_budget_s:g} s budget per message")

    def setup(self) -> None:
        self._redactor = make_redactor(self.config)

    def process_batch(self, batch: pa.Table) -> pa.Table:
        if self._redactor is None:
            self.setup()
        redact = self._redactor.redact  # type: ignore[union-attr]
        convs = batch.column("conversation").to_pylist()
        systems = batch.column("system_prompt").to_pylist()
        already = batch.column("redacted").to_pylist()
        reasons_col = batch.column("quality.reasons").to_pylist()
        out_convs, out_systems, out_redacted, counts, spans, reasons = [], [], [], [], [], []
        for messages, system, was, why in zip(convs, systems, already, reasons_col):
            messages = messages or []
            result = redact([system, *(m["content"] for m in messages)])
            texts = result.texts
            out_systems.append(texts[0])
            out_convs.append([{"content": t, "role": m["role"]} for t, m in zip(texts[1:], messages)])
            out_redacted.append(bool(was) or result.changed)
            counts.append(result.counts)
            # Message numbers in the spans: -1 for the system prompt, then 0.. for the conversation.
            spans.append([dict(s, message=s["message"] - 1) for s in result.spans] if self.config.keep_spans else None)
            why = list(why or [])
            if result.timed_out and "pii_timeout" not in why:
                why.append("pii_timeout")
            reasons.append(why)
        batch = set_column(batch, "conversation", pa.array(out_convs, CONVERSATION_TYPE))
        batch = set_column(batch, "system_prompt", pa.array(out_systems, pa.string()))
        batch = set_column(batch, "redacted", pa.array(out_redacted, pa.bool_()))
        batch = set_column(batch, "pii.counts", pa.array(counts, PII_COUNTS_TYPE))
        batch = set_column(batch, "pii.spans", pa.array(spans, PII_SPANS_TYPE))
        return set_column(batch, "quality.reasons", pa.array(reasons, pa.list_(pa.string())))
