"""The data contract: the LMSYS-Chat-1M release schema and chatsift's namespaced extra columns.

The core columns are exactly the features of the public LMSYS-Chat-1M card (in its order); every
other column is nullable and namespaced. Columns whose name starts with ``_`` are internal to a run
(keys for global stages) and never reach a release.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

# OpenAI moderation 006 categories, in the order of the LMSYS-Chat-1M card.
MODERATION_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

# FastChat's answer when a model server fails (``server_error_msg``); the paper drops conversations holding it
# (``network_error``). The chat service writes it, the demo plants it and the filter finds it lower-cased.
NETWORK_ERROR_MSG = "**NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.**"
NETWORK_ERROR_TEXT = NETWORK_ERROR_MSG.strip("*").lower()

MESSAGE_TYPE = pa.struct([("content", pa.string()), ("role", pa.string())])
CONVERSATION_TYPE = pa.list_(MESSAGE_TYPE)
MODERATION_RESULT_TYPE = pa.struct(
    [
        ("categories", pa.struct([(c, pa.bool_()) for c in MODERATION_CATEGORIES])),
        ("category_scores", pa.struct([(c, pa.float64()) for c in MODERATION_CATEGORIES])),
        ("flagged", pa.bool_()),
    ]
)
MODERATION_TYPE = pa.list_(MODERATION_RESULT_TYPE)

LMSYS_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("model", pa.string()),
        ("conversation", CONVERSATION_TYPE),
        ("turn", pa.int64()),
        ("language", pa.string()),
        ("openai_moderation", MODERATION_TYPE),
        ("redacted", pa.bool_()),
    ]
)
LMSYS_COLUMNS: tuple[str, ...] = tuple(LMSYS_SCHEMA.names)

PII_KINDS: tuple[str, ...] = ("secret", "url", "email", "iban", "credit_card", "ssn", "ip_address", "phone", "address",
                              "name")
# What an agent conversation holds beside its user and assistant text: tool calls and their results, the
# model's reasoning, attachments. ``after``: how many conversation messages come before the event.
TOOL_EVENT_TYPE = pa.struct([("after", pa.int32()), ("kind", pa.string()), ("name", pa.string()),
                             ("call_id", pa.string()), ("content", pa.string())])
TOOL_EVENT_KINDS: tuple[str, ...] = ("call", "result", "reasoning", "attachment")

PII_COUNTS_TYPE = pa.struct([(k, pa.int32()) for k in PII_KINDS])
PII_SPANS_TYPE = pa.list_(
    pa.struct([("message", pa.int32()), ("start", pa.int32()), ("end", pa.int32()), ("kind", pa.string()),
               ("placeholder", pa.string())])
)


@dataclass(frozen=True)
class ExtraColumn:
    """A namespaced column beyond the LMSYS core.

    Args:
        private: dropped from a public release unless the user keeps private columns explicitly.
    """

    name: str
    type: pa.DataType
    doc: str
    private: bool = False


EXTRA_COLUMNS: tuple[ExtraColumn, ...] = (
    ExtraColumn("user_id", pa.string(), "keyed hash (HMAC-SHA256) of the IP or user field", private=True),
    ExtraColumn("tstamp", pa.float64(), "Unix time of the conversation's last record", private=True),
    ExtraColumn("language_code", pa.string(), "ISO 639 code detected from the first user message"),
    ExtraColumn("system_prompt", pa.string(), "system messages, kept apart from the conversation"),
    ExtraColumn("source.format", pa.string(), "reader that produced the record"),
    ExtraColumn("source.file", pa.string(), "input file, relative to the input argument"),
    ExtraColumn("source.record", pa.int64(), "1-based line or row number in the input file"),
    ExtraColumn("tools.events", pa.list_(TOOL_EVENT_TYPE),
                "tool calls (kind 'call', arguments as text), tool results ('result'), reasoning ('reasoning') and "
                "attachments ('attachment', file name and extracted text), in order; 'after' = conversation "
                "messages before the event; redacted like the messages; null when the source has none"),
    ExtraColumn("normalize.issues", pa.list_(pa.string()), "what normalisation repaired"),
    ExtraColumn("quality.reasons", pa.list_(pa.string()), "filter reasons that apply to the record"),
    ExtraColumn("pii.counts", PII_COUNTS_TYPE, "replacements made by the PII stage, per kind"),
    ExtraColumn("pii.preexisting", PII_COUNTS_TYPE,
                "placeholders (NAME_1, EMAIL_2, ...) already in the input, kept as they were, per kind"),
    ExtraColumn("pii.spans", PII_SPANS_TYPE,
                "where replacements were made: message (-1 = system prompt, 0.. the conversation, then tools.events "
                "contents in order), offsets in the original text, kind, "
                "placeholder; never the values"),
    ExtraColumn("moderation.backend", pa.string(),
                "who wrote openai_moderation: 'source' (kept from the input) or the backend and model"),
    ExtraColumn("moderation.unparsed", pa.int32(), "messages the backend gave no usable answer for (null result)"),
    ExtraColumn("safety.jailbreak_score", pa.float64(),
                "highest jailbreak-prompt score (0-1) over the user messages (bundled detector unless configured)"),
    ExtraColumn("dedup.exact_group", pa.string(), "hash of the normalised user turns"),
    ExtraColumn("dedup.exact_size", pa.int64(), "conversations in the exact group"),
    ExtraColumn("dedup.near_cluster", pa.string(), "conversation_id of the near-duplicate cluster's first member"),
    ExtraColumn("dedup.near_size", pa.int64(), "conversations in the near-duplicate cluster"),
    ExtraColumn("dedup.template_group", pa.string(), "id of the prompt template (fixed frame with slots)"),
    ExtraColumn("dedup.template_size", pa.int64(), "conversations sharing the template"),
    ExtraColumn("votes.up", pa.int32(), "upvotes on the conversation (FastChat logs)"),
    ExtraColumn("votes.down", pa.int32(), "downvotes"),
    ExtraColumn("votes.flag", pa.int32(), "flags"),
    ExtraColumn("votes.win", pa.int32(), "arena battles this side won"),
    ExtraColumn("votes.loss", pa.int32(), "arena battles this side lost"),
    ExtraColumn("votes.tie", pa.int32(), "arena ties (including both-bad)"),
    ExtraColumn("votes.preferred", pa.bool_(), "chosen (true) or rejected (false) in a preference pair"),
)
EXTRAS_BY_NAME: dict[str, ExtraColumn] = {c.name: c for c in EXTRA_COLUMNS}
VOTE_COLUMNS: tuple[str, ...] = ("votes.up", "votes.down", "votes.flag", "votes.win", "votes.loss", "votes.tie")


def working_schema() -> pa.Schema:
    """The schema readers produce: LMSYS core plus every extra column (all nullable)."""
    return pa.schema(list(LMSYS_SCHEMA) + [pa.field(c.name, c.type) for c in EXTRA_COLUMNS])


def release_schema(mode: str, keep_private: bool = False) -> pa.Schema:
    """The schema of a release in ``mode`` ("lmsys" or "full")."""
    if mode == "lmsys":
        return LMSYS_SCHEMA
    if mode != "full":
        raise ValueError(f"unknown schema mode {mode!r}; use 'lmsys' or 'full'")
    extras = [pa.field(c.name, c.type) for c in EXTRA_COLUMNS if keep_private or not c.private]
    return pa.schema(list(LMSYS_SCHEMA) + extras)


@dataclass(slots=True)
class Message:
    """One message for authoring records in code and tests."""

    role: str
    content: str | None


@dataclass(slots=True)
class Conversation:
    """One conversation for authoring records in code and tests; ``to_row`` gives the Arrow row."""

    conversation_id: str
    messages: list[Message]
    model: str | None = None
    language: str | None = None
    redacted: bool = False
    openai_moderation: list[dict] | None = None
    extras: dict[str, object] = field(default_factory=dict)

    def to_row(self) -> dict[str, object]:
        row: dict[str, object] = {
            "conversation_id": self.conversation_id,
            "model": self.model,
            "conversation": [{"content": m.content, "role": m.role} for m in self.messages],
            "turn": len(self.messages) // 2,
            "language": self.language,
            "openai_moderation": self.openai_moderation,
            "redacted": self.redacted,
        }
        row.update(self.extras)
        return row
