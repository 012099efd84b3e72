"""OpenAI chat messages as JSON lines: ``{"messages": [{"role", "content"}], "model"?, "id"?, "user"?}``."""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    conversation_row,
    optional_text,
    require_dict,
    role_content_messages,
    to_tstamp,
)

_ID_KEYS = ("conversation_id", "id", "conv_id", "uuid")
_USER_KEYS = ("user", "user_id", "ip", "hashed_ip")
_TIME_KEYS = ("tstamp", "timestamp", "created", "created_at", "time")


def first_present(obj: dict, keys: tuple[str, ...]) -> object:
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    return None


class OpenAIMessagesReader(Reader):
    name = "openai_messages"
    description = "OpenAI chat format, one conversation per line"
    expects = ('{"messages" (or "conversation"): [{"role": "user"|"assistant"|"system", "content": str | parts}], '
               'optional "model", "id"/"conversation_id", "user", "tstamp"/"created"}')

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict):
            return False
        msgs = obj.get("messages", obj.get("conversation"))
        return isinstance(msgs, list) and (not msgs or (isinstance(msgs[0], dict) and "role" in msgs[0]))

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        key = "messages" if "messages" in rec else "conversation"
        messages = role_content_messages(rec.get(key), ctx)
        conv_id = optional_text(first_present(rec, _ID_KEYS), "id") or ctx.derived_id(self.name)
        user = first_present(rec, _USER_KEYS)
        yield conversation_row(
            ctx,
            self.name,
            conv_id,
            messages,
            model=optional_text(rec.get("model"), "model"),
            tstamp=to_tstamp(first_present(rec, _TIME_KEYS)),
            user_key=None if user is None else str(user),
        )
