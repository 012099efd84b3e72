"""The reader contract and the helpers every format adapter shares.

A reader turns one parsed input record into zero or more conversation rows (dicts in the working
schema) and vote events, or raises ``AdaptError`` so the record goes to quarantine with a reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from chatsift.errors import AdaptError
from chatsift.io.settings import ReadConfig
from chatsift.schema import MODERATION_CATEGORIES

_NAMESPACE = uuid.UUID("6f1c4d0e-5b7a-4c1e-9a53-2f7e0c4b8d11")

USER_ROLES = frozenset({"user", "human", "prompter", "customer"})
ASSISTANT_ROLES = frozenset({"assistant", "gpt", "bot", "chatgpt", "model", "ai", "chatbot", "bard", "claude", "llm",
                             "bing", "copilot", "gemini"})
SYSTEM_ROLES = frozenset({"system", "developer"})


@dataclass(slots=True)
class VoteEvent:
    """A vote about one conversation, aggregated onto it by the snapshot stage."""

    conversation_id: str
    kind: str  # up | down | flag | win | loss | tie
    tstamp: float | None = None


@dataclass
class RecordContext:
    """Where a record comes from, for ids, provenance and error messages."""

    file_label: str
    record: int
    config: ReadConfig
    path: str = ""
    issues: list[str] = field(default_factory=list)

    def derived_id(self, *parts: object) -> str:
        """An id for records that carry none: the same file, record and parts give the same id."""
        return stable_id(self.file_label, self.record, *parts)


def stable_id(*parts: object) -> str:
    """A 32-hex id (like LMSYS conversation ids) derived from ``parts``."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join(map(str, parts))).hex


class Reader:
    """A format adapter. Subclasses set the class fields and implement ``sniff`` and ``adapt``."""

    name: str = ""
    description: str = ""
    expects: str = ""
    example: str = ""

    def sniff(self, obj: object) -> bool:
        """True when ``obj`` looks like a record of this format."""
        raise NotImplementedError

    def open_unit(self, path: str) -> None:
        """Called once before the records of a unit; a reader may load sibling files here."""

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict | VoteEvent]:
        """Yield conversation rows and vote events for one record, or raise ``AdaptError``."""
        raise NotImplementedError


def require_dict(obj: object) -> dict:
    if not isinstance(obj, dict):
        raise AdaptError("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def require_key(obj: dict, key: str, kind: type | tuple[type, ...] | None = None) -> object:
    if key not in obj:
        shown = ", ".join(sorted(map(str, obj))[:12])
        raise AdaptError("missing_key", f"no {key!r} key; the record has: {shown}")
    value = obj[key]
    if kind is not None and not isinstance(value, kind):
        raise AdaptError("wrong_type", f"{key!r} should be {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def canonical_role(raw: object) -> str:
    """Map the many role spellings to user / assistant / system; anything else is an error."""
    if not isinstance(raw, str):
        raise AdaptError("unknown_role", f"role should be text, got {type(raw).__name__}")
    role = raw.strip().strip(":#* ").lower()
    if role in USER_ROLES:
        return "user"
    if role in ASSISTANT_ROLES:
        return "assistant"
    if role in SYSTEM_ROLES:
        return "system"
    if role in {"tool", "function", "ipython"}:
        raise AdaptError("unsupported_role", f"role {raw!r}: tool messages are not part of the LMSYS schema")
    raise AdaptError("unknown_role", f"role {raw[:40]!r} is not a user, assistant or system role")


def clean_text(text: str, ctx: RecordContext) -> str:
    """Make text safe for Arrow (valid UTF-8, no NUL) and enforce the message size limit."""
    if len(text) > ctx.config.max_message_chars:
        raise AdaptError(
            "message_too_large",
            f"a message has {len(text):,} characters; the limit is read.max_message_chars="
            f"{ctx.config.max_message_chars:,}",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. a JSON "\ud800" escape): pair what pairs, replace the rest.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        _note(ctx, "repaired_surrogates")
    if "\x00" in text:
        text = text.replace("\x00", "")
        _note(ctx, "removed_nul")
    return text


def _note(ctx: RecordContext, issue: str) -> None:
    if issue not in ctx.issues:
        ctx.issues.append(issue)


def text_of(content: object, ctx: RecordContext) -> str | None:
    """The text of a message's content: a string, a list of text parts, or an answer object."""
    if content is None:
        return None
    if isinstance(content, str):
        return clean_text(content, ctx)
    if isinstance(content, list):
        texts = []
        dropped = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") not in (None, "text"):
                _note(ctx, f"dropped_{part.get('type')}_part")
                dropped.append(str(part.get("type")))
            else:
                raise AdaptError("non_text_content", "a content part has no text")
        if dropped and not any(t.strip() for t in texts):
            # An image-only turn released as "" would change what the user said; the record goes to quarantine.
            raise AdaptError("non_text_message", f"a message holds only {', '.join(sorted(set(dropped)))} parts "
                             "and no text")
        return clean_text("\n".join(texts), ctx)
    if isinstance(content, dict):
        for key in ("answer", "text", "content", "value"):
            if isinstance(content.get(key), str):
                return clean_text(content[key], ctx)
        raise AdaptError("non_text_content", f"content object without text; keys: {sorted(content)[:8]}")
    if isinstance(content, (int, float)) and not isinstance(content, bool):
        _note(ctx, "number_content")
        return str(content)
    raise AdaptError("non_text_content", f"content of type {type(content).__name__}")


def to_tstamp(value: object) -> float | None:
    """Unix seconds from seconds, milliseconds, ISO text or a datetime; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise AdaptError("bad_timestamp", f"timestamp {value!r}")
    if isinstance(value, (int, float)):
        v = float(value)
        return v / 1000.0 if v > 1e11 else v  # milliseconds since 1973 are > 1e11
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_tstamp(float(text))
        except ValueError:
            pass
        try:
            return to_tstamp(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            raise AdaptError("bad_timestamp", f"cannot read timestamp {text[:40]!r}") from None
    raise AdaptError("bad_timestamp", f"timestamp of type {type(value).__name__}")


def optional_text(value: object, what: str, ctx: RecordContext | None = None) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise AdaptError("wrong_type", f"{what} should be text, got {type(value).__name__}")
    return value


def moderation_entries(value: object) -> list[dict] | None:
    """OpenAI moderation results reduced to the 11 categories of moderation 006; None when absent."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise AdaptError("wrong_type", "openai_moderation should be a list with one result per message")
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise AdaptError("wrong_type", "an openai_moderation entry is not an object")
        cats = item.get("categories") or {}
        scores = item.get("category_scores") or {}
        out.append(
            {
                "categories": {c: _bool_or_none(cats.get(c)) for c in MODERATION_CATEGORIES},
                "category_scores": {c: _float_or_none(scores.get(c)) for c in MODERATION_CATEGORIES},
                "flagged": _bool_or_none(item.get("flagged")),
            }
        )
    return out


def _bool_or_none(v: object) -> bool | None:
    return None if v is None else bool(v)


def _float_or_none(v: object) -> float | None:
    return None if v is None or isinstance(v, bool) else float(v)  # type: ignore[arg-type]


def conversation_row(
    ctx: RecordContext,
    reader: str,
    conversation_id: str,
    messages: list[dict],
    *,
    model: str | None = None,
    tstamp: float | None = None,
    user_key: str | None = None,
    system_prompt: str | None = None,
    language: str | None = None,
    redacted: bool | None = None,
    openai_moderation: list[dict] | None = None,
    extras: dict | None = None,
) -> dict:
    """A row in the working schema (``turn`` and annotations are filled in by the stages)."""
    row = {
        "conversation_id": conversation_id,
        "model": model,
        "conversation": messages,
        "turn": None,
        "language": language,
        "openai_moderation": openai_moderation,
        "redacted": bool(redacted) if redacted is not None else False,
        "tstamp": tstamp,
        "system_prompt": system_prompt,
        "source.format": reader,
        "source.file": ctx.file_label,
        "source.record": ctx.record,
        "normalize.issues": list(ctx.issues),
        "_raw_user": user_key,
    }
    if extras:
        row.update(extras)
    return row


def role_content_messages(items: object, ctx: RecordContext, role_key: str = "role",
                          content_key: str = "content") -> list[dict]:
    """``[{role, content}]`` (any role spelling, any content shape) to canonical messages."""
    if not isinstance(items, list):
        raise AdaptError("wrong_type", f"messages should be a list, got {type(items).__name__}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise AdaptError("wrong_type", f"message {i} is not an object")
        if role_key not in item:
            raise AdaptError("missing_key", f"message {i} has no {role_key!r}; keys: {sorted(item)[:8]}")
        role = canonical_role(item[role_key])
        out.append({"role": role, "content": text_of(item.get(content_key), ctx)})
    return out
