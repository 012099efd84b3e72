"""The ``pii`` stage: redact every message (and the system prompt) of every conversation.

Writes the redacted text in place, sets ``redacted`` when anything was replaced (or the source had
already redacted, by its flag or by placeholders in the text), counts replacements per kind in
``pii.counts`` and the placeholders that were already there in ``pii.preexisting``, and keeps the spans found (message,
offsets in the original text, kind, placeholder; never the values) in ``pii.spans`` for audits in
``--schema full``. A conversation whose scan ran out of time gets the ``pii_timeout`` reason.

The metadata strings (``conversation_id``, ``model``, ``language``, ``source.file``) are scanned too,
for the kinds an id cannot be mistaken for (secrets, credential URLs, e-mails, IPs): a key pasted
into a model name or an IP in an id would otherwise reach the shards, manifest, card, report and
explorer. Those replacements are counted in ``pii.counts`` as well. A scrubbed id gets a keyed hash
of the original (HMAC with the user-id secret) so that two ids that differ only in the removed value
stay two conversations (snapshot dedup runs after this stage and keys on the id).
"""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa

from chatsift.pipeline.stage import BatchStage, set_column
from chatsift.privacy.redactor import Redactor
from chatsift.privacy.scrub import redact_value
from chatsift.privacy.settings import PiiConfig, ner_models, validate_pii
from chatsift.privacy.spans import BatchNameFinder
from chatsift.schema import CONVERSATION_TYPE, PII_COUNTS_TYPE, PII_SPANS_TYPE, TOOL_EVENT_TYPE


def make_redactor(config: PiiConfig, ner: dict[str, str] | None = None) -> Redactor:
    """The redactor of a validated ``pii`` section (``privacy.settings.validate_pii``); ``ner``: its NER
    models, as ``ner_models`` read them."""
    kinds = frozenset(config.kinds)
    if config.backend == "presidio":
        from chatsift.privacy.presidio_backend import PresidioNameFinder

        return Redactor(kinds, config.time_budget_s,
                        name_finder=PresidioNameFinder(config.presidio_model) if "name" in kinds else None)
    from chatsift.privacy.name_tagger import LearnedNameFinder
    from chatsift.privacy.ner import CascadeNameFinder

    models = ner_models(config) if ner is None else ner
    finder = None
    if "name" in kinds:
        finder = LearnedNameFinder(config.name_model)
        finder = CascadeNameFinder(models, finder) if models else finder
    return Redactor(kinds, config.time_budget_s, name_finder=finder)


class PiiStage(BatchStage):
    name = "pii"
    worker_resources = ("_redactor",)
    metadata = ("conversation_id", "model", "language", "source.file")
    inputs = ("conversation", "system_prompt", "tools.events", "redacted", "quality.reasons", "language_code",
              *metadata)
    outputs = ("conversation", "system_prompt", "tools.events", "redacted", "pii.counts", "pii.preexisting",
               "pii.spans",
               "quality.reasons", *metadata)

    def __init__(self, config: PiiConfig, id_secret: bytes = b"chatsift") -> None:
        validate_pii(config)  # a stage built without load_config is checked all the same
        self.config = config
        self._id_secret = id_secret
        self._redactor: Redactor | None = None
        self._ner = ner_models(config)

    def describe(self) -> str:
        ner = ", ".join(f"{lang}: {package}" for lang, package in self._ner.items())
        tagger = f"name tagger {self.config.name_model or 'bundled'}" if self.config.backend == "builtin" else ""
        return (f"{self.config.backend} detector{f' ({tagger})' if tagger else ''}"
                f"{f' with NER ({ner})' if ner else ''}; kinds: "
                f"{', '.join(self.config.kinds)}; {self.config.time_budget_s:g} s budget per message")

    def setup(self) -> None:
        self._redactor = make_redactor(self.config, self._ner)

    def process_batch(self, batch: pa.Table) -> pa.Table:
        if self._redactor is None:
            self.setup()
        redact = self._redactor.redact  # type: ignore[union-attr]
        convs = batch.column("conversation").to_pylist()
        systems = batch.column("system_prompt").to_pylist()
        events_col = batch.column("tools.events").to_pylist()
        already = batch.column("redacted").to_pylist()
        reasons_col = batch.column("quality.reasons").to_pylist()
        codes = batch.column("language_code").to_pylist()
        names = self._redactor.names
        if isinstance(names, BatchNameFinder):  # a spaCy model reads the batch at once
            names.prefetch((text, code) for messages, system, events, code in zip(convs, systems, events_col, codes)
                     for text in [system, *(m["content"] for m in messages or []),
                                  *(e["content"] for e in events or [])])
        out_convs, out_systems, out_redacted, counts, spans, reasons, preexisting = [], [], [], [], [], [], []
        for k, (messages, system, events, was, why, code) in enumerate(
                zip(convs, systems, events_col, already, reasons_col, codes)):
            messages = messages or []
            # One call for the whole conversation, tool events included: a name keeps its number across them.
            result = redact([system, *(m["content"] for m in messages), *(e["content"] for e in events or [])],
                            language=code)
            texts = result.texts
            out_systems.append(texts[0])
            out_convs.append([{"content": t, "role": m["role"]} for t, m in zip(texts[1:], messages)])
            if events:
                events_col[k] = [dict(e, content=t) for e, t in zip(events, texts[1 + len(messages):])]
            out_redacted.append(bool(was) or result.changed)
            counts.append(result.counts)
            preexisting.append(result.preexisting)
            # Message numbers in the spans: -1 for the system prompt, then 0.. for the conversation.
            spans.append([dict(s, message=s["message"] - 1) for s in result.spans] if self.config.keep_spans else None)
            why = list(why or [])
            if result.timed_out and "pii_timeout" not in why:
                why.append("pii_timeout")
            reasons.append(why)
        for column in self.metadata:
            batch = self._scrub_metadata(batch, column, counts, out_redacted,
                                         self._id_secret if column == "conversation_id" else None)
        batch = set_column(batch, "conversation", pa.array(out_convs, CONVERSATION_TYPE))
        batch = set_column(batch, "system_prompt", pa.array(out_systems, pa.string()))
        if any(events_col):
            batch = set_column(batch, "tools.events", pa.array(events_col, pa.list_(TOOL_EVENT_TYPE)))
        batch = set_column(batch, "redacted", pa.array(out_redacted, pa.bool_()))
        batch = set_column(batch, "pii.counts", pa.array(counts, PII_COUNTS_TYPE))
        batch = set_column(batch, "pii.preexisting", pa.array(preexisting, PII_COUNTS_TYPE))
        batch = set_column(batch, "pii.spans", pa.array(spans, PII_SPANS_TYPE))
        return set_column(batch, "quality.reasons", pa.array(reasons, pa.list_(pa.string())))

    def public_id(self, value: str) -> str:
        """A conversation id as this stage writes it."""
        return _scrubbed(value, self._id_secret)[0]

    @staticmethod
    def _scrub_metadata(batch: pa.Table, column: str, counts: list[dict], redacted: list[bool],
                        unique_with: bytes | None = None) -> pa.Table:
        values = batch.column(column).to_pylist()
        seen: dict[str, tuple[str, dict[str, int]]] = {}  # model and language repeat: scan each value once
        changed = False
        for i, value in enumerate(values):
            if not value:
                continue
            if value not in seen:
                seen[value] = _scrubbed(value, unique_with)
            new, found = seen[value]
            if found:
                changed = True
                values[i] = new
                redacted[i] = True
                for kind, n in found.items():
                    counts[i][kind] = counts[i].get(kind, 0) + n
        return set_column(batch, column, pa.array(values, pa.string())) if changed else batch


def _scrubbed(value: str, unique_with: bytes | None) -> tuple[str, dict[str, int]]:
    """``value`` with what ``redact_value`` finds replaced; with a key, a keyed digest of the original is
    appended, so that two ids that differ only in the removed value stay apart."""
    new, found = redact_value(value)
    if found and unique_with is not None:
        digest = hmac.new(unique_with, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        new += "~" + digest.hexdigest()[:12]
    return new, found
