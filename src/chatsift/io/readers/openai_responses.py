"""OpenAI Responses API logs: one response per record, its ``input`` items and ``output`` items in order.

``message`` items (typed content parts ``input_text`` / ``output_text`` / ``refusal``, or a plain string)
are the conversation; ``function_call``, ``custom_tool_call``, the built-in tool calls (web search, file
search, code interpreter, MCP, computer use) and their outputs go to ``tools.events`` with ``reasoning``
summaries; ``instructions`` is the system prompt. An item of a type this reader does not know sends the
record to quarantine (``unknown_item``) rather than drop part of a conversation silently.
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

_CALLS = {"function_call": "arguments", "custom_tool_call": "input", "web_search_call": "action",
          "file_search_call": "queries", "computer_call": "action", "code_interpreter_call": "code",
          "image_generation_call": None, "local_shell_call": "action", "mcp_call": "arguments",
          "mcp_list_tools": None, "mcp_approval_request": "arguments"}
_OUTPUTS = {"function_call_output": "output", "custom_tool_call_output": "output",
            "computer_call_output": "output", "local_shell_call_output": "output",
            "mcp_approval_response": "approve"}
_INLINE_OUTPUT = ("mcp_call", "code_interpreter_call")
_PART_TEXT = ("text", "refusal")


class OpenAIResponsesReader(Reader):
    name = "openai_responses"
    description = "OpenAI Responses API logs: input and output items, tool calls and reasoning kept apart"
    expects = ('{"id", "model", "created_at", "instructions"?, "input": str | [ITEM], "output": [ITEM], "user"?, '
               '"conversation"?}; ITEM: {"type": "message", "role", "content": [{"type": "input_text"|"output_text", '
               '"text"}]} | {"type": "function_call", "name", "arguments", "call_id"} | {"type": '
               '"function_call_output", "call_id", "output"} | {"type": "reasoning", "summary"} | built-in tool calls')

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict):
            return False
        if obj.get("object") == "response":
            return True
        items = obj.get("output")
        return (isinstance(items, list) and bool(items) and isinstance(items[0], dict) and "type" in items[0]
                and "input" in obj)

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        turns = Turns(ctx)
        if isinstance(rec.get("instructions"), str):
            turns.say("system", rec["instructions"])
        items = rec.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        for where, group in (("input", items or []), ("output", rec.get("output") or [])):
            if not isinstance(group, list):
                raise AdaptError("wrong_type", f"{where} should be a list of items")
            names: dict[str, str] = {}
            for i, item in enumerate(group):
                if not isinstance(item, dict):
                    raise AdaptError("wrong_type", f"{where} item {i} is not an object")
                self._item(turns, item, names, ctx, f"{where} item {i}")
        messages, events = turns.finish()
        conversation = rec.get("conversation")
        conv_id = conversation.get("id") if isinstance(conversation, dict) else conversation
        user = rec.get("user") or rec.get("safety_identifier")
        yield conversation_row(
            ctx, self.name, optional_text(conv_id or rec.get("id"), "id") or ctx.derived_id(self.name), messages,
            model=optional_text(rec.get("model"), "model"), tstamp=to_tstamp(rec.get("created_at")),
            user_key=None if user is None else str(user), extras={"tools.events": events},
        )

    @staticmethod
    def _item(turns: Turns, item: dict, names: dict[str, str], ctx: RecordContext, where: str) -> None:
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            content = item.get("content")
            if isinstance(content, list):
                parts = [p for p in content if isinstance(p, dict)]
                for p in parts:
                    if p.get("type") in ("input_image", "input_file", "input_audio"):
                        turns.event("attachment", name=p.get("filename") or p.get("type"))
                texts = (next((p[k] for k in _PART_TEXT if isinstance(p.get(k), str)), None) for p in parts)
                text = "\n".join(t for t in texts if t is not None)
            else:
                text = text_of(content, ctx)
            turns.say(canonical_role(item.get("role", "assistant")), text)
        elif kind == "reasoning":
            summary = item.get("summary") or item.get("content") or []
            text = "\n\n".join(s["text"] for s in summary if isinstance(s, dict) and isinstance(s.get("text"), str))
            turns.event("reasoning", text or None)
        elif kind in _CALLS:
            name = item.get("name") or item.get("server_label") or kind.removesuffix("_call")
            if item.get("call_id"):
                names[item["call_id"]] = name
            key = _CALLS[kind]
            turns.event("call", item.get(key) if key else None, name=name,
                        call_id=item.get("call_id") or item.get("id"))
            output = item.get("output" if kind == "mcp_call" else "outputs") if kind in _INLINE_OUTPUT else None
            if output:  # these calls carry their own result
                turns.event("result", output, name=name, call_id=item.get("id"))
        elif kind in _OUTPUTS:
            call_id = item.get("call_id")
            turns.event("result", item.get(_OUTPUTS[kind]), name=names.get(call_id), call_id=call_id)
        else:
            raise AdaptError("unknown_item", f"{where} has type {str(kind)[:40]!r}, which this reader does not know")
