"""OpenAI chat messages as JSON lines: ``{"messages": [{"role", "content"}], "model"?, "id"?, "user"?}``.

Chat Completions tool use is kept: an assistant message's ``tool_calls`` (and the older
``function_call``) become ``call`` events of ``tools.events``, ``tool`` / ``function`` messages
``result`` events; the user and assistant text stays the conversation.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.errors import AdaptError
from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    canonical_role,
    conversation_row,
    optional_text,
    require_dict,
    text_of,
    to_tstamp,
)
from chatsift.io.readers.turns import Turns

_ID_KEYS = ("conversation_id", "id", "conv_id", "uuid")
_USER_KEYS = ("user", "user_id", "ip", "hashed_ip")
_TIME_KEYS = ("tstamp", "timestamp", "created", "created_at", "time")
_TOOL_ROLES = frozenset({"tool", "function", "ipython"})


def first_present(obj: dict, keys: tuple[str, ...]) -> object:
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    return None


def chat_completion_turns(items: object, ctx: RecordContext) -> Turns:
    """Chat Completions messages, tool calls and results included, as ``Turns``."""
    if not isinstance(items, list):
        raise AdaptError("wrong_type", f"messages should be a list, got {type(items).__name__}")
    turns = Turns(ctx)
    names: dict[str, str] = {}  # tool_call_id -> function name, for results that do not repeat it
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise AdaptError("wrong_type", f"message {i} is not an object")
        if "role" not in item:
            raise AdaptError("missing_key", f"message {i} has no 'role'; keys: {sorted(item)[:8]}")
        raw_role = item["role"]
        if isinstance(raw_role, str) and raw_role.strip().lower() in _TOOL_ROLES:
            call_id = item.get("tool_call_id")
            turns.event("result", text_of(item.get("content"), ctx), name=item.get("name") or names.get(call_id),
                        call_id=call_id)
            continue
        role = canonical_role(raw_role)
        calls = item.get("tool_calls") or ([{"function": item["function_call"]}] if item.get("function_call") else [])
        content = text_of(item.get("content"), ctx)
        if not calls or (content or "").strip():
            # Empty or missing text is kept (normalize notes it); only a tool-call-only step adds no message.
            turns.messages.append({"role": role, "content": content})
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                raise AdaptError("wrong_type", f"message {i}: a tool call has no function object")
            if call.get("id") and function.get("name"):
                names[call["id"]] = function["name"]
            turns.event("call", function.get("arguments"), name=function.get("name"), call_id=call.get("id"))
    return turns


class OpenAIMessagesReader(Reader):
    name = "openai_messages"
    description = "OpenAI chat format, one conversation per line (tool calls and tool messages kept apart)"
    expects = ('{"messages" (or "conversation"): [{"role": "user"|"assistant"|"system"|"tool", '
               '"content": str | parts, "tool_calls"?}], optional "model", "id"/"conversation_id", "user", '
               '"tstamp"/"created"}')

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict):
            return False
        msgs = obj.get("messages", obj.get("conversation"))
        return isinstance(msgs, list) and (not msgs or (isinstance(msgs[0], dict) and "role" in msgs[0]))

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        key = "messages" if "messages" in rec else "conversation"
        turns = chat_completion_turns(rec.get(key), ctx)
        events = turns.events or None
        conv_id = optional_text(first_present(rec, _ID_KEYS), "id") or ctx.derived_id(self.name)
        user = first_present(rec, _USER_KEYS)
        yield conversation_row(
            ctx,
            self.name,
            conv_id,
            turns.messages,
            model=optional_text(rec.get("model"), "model"),
            tstamp=to_tstamp(first_present(rec, _TIME_KEYS)),
            user_key=None if user is None else str(user),
            extras={"tools.events": events},
        )
