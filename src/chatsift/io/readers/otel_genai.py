"""OpenTelemetry GenAI traces: the spans of LLM calls, as exported by OTLP/JSON file exporters, Langfuse,
Arize Phoenix, OpenLLMetry and the OpenAI / Anthropic SDK instrumentations.

A record is an OTLP export (``{"resourceSpans": [{"scopeSpans": [{"spans": [...]}]}]}``) or one span
(``{"name", "attributes", "events", "trace_id" / "context", ...}``, attributes as an OTLP key-value list
or a plain object). Every span that carries messages gives one conversation row:

- messages from the semantic conventions' attributes ``gen_ai.system_instructions``,
  ``gen_ai.input.messages`` and ``gen_ai.output.messages`` (a list, or that list as a JSON string;
  messages of ``parts``: text, tool_call, tool_call_response, reasoning, ...), from the earlier span
  events (``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.assistant.message``,
  ``gen_ai.tool.message``, ``gen_ai.choice``), or from OpenLLMetry's indexed attributes
  (``gen_ai.prompt.0.role`` / ``.content``, ``gen_ai.completion.0.*``);
- the conversation id from ``gen_ai.conversation.id``, else ``session.id`` (Langfuse's too), else the
  trace id; the user from ``enduser.id`` (or ``user.id``), keyed like every user field; the model from
  ``gen_ai.response.model``, else ``gen_ai.request.model``; the time from the span's end.

An LLM call sends the whole conversation so far, so the spans of one conversation are snapshots of it:
the snapshot stage keeps the latest per conversation id (across files, as for FastChat logs) and the
earlier ones are counted as superseded. Tool calls, tool results and reasoning go to ``tools.events``.
Spans with no messages (HTTP, tool execution, agent steps) give no row; a record with none of them is
counted as ``no_conversation``. Parents are not needed, so a span whose parent is missing reads as any.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from chatsift.errors import AdaptError
from chatsift.io.readers.base import Reader, RecordContext, canonical_role, conversation_row, to_tstamp
from chatsift.io.readers.turns import Turns

_CONVERSATION_KEYS = ("gen_ai.conversation.id", "session.id", "langfuse.session.id", "conversation.id")
_USER_KEYS = ("enduser.id", "user.id", "langfuse.user.id")
_EVENT_ROLES = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}


def _value(v: object) -> object:
    """An OTLP AnyValue (``{"stringValue": ...}``, arrays, key-value lists) as plain JSON."""
    if not isinstance(v, dict):
        return v
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_value(x) for x in (v["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in v:
        return _attributes((v["kvlistValue"] or {}).get("values") or [])
    return v


def _attributes(raw: object) -> dict:
    """Span or event attributes, from an OTLP key-value list or a plain object."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, list):
        return {a["key"]: _value(a.get("value")) for a in raw if isinstance(a, dict) and "key" in a}
    return {}


def _json(value: object, what: str) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise AdaptError("bad_json_attribute", f"{what} is a string but not JSON") from None
    return value


def _spans(record: dict) -> Iterator[dict]:
    if "resourceSpans" in record or "resource_spans" in record:
        for resource in record.get("resourceSpans") or record.get("resource_spans") or []:
            for scope in resource.get("scopeSpans") or resource.get("scope_spans") or []:
                yield from scope.get("spans") or []
    else:
        yield record


class OtelGenAIReader(Reader):
    name = "otel_genai"
    description = "OpenTelemetry GenAI spans (OTLP/JSON exports or one span per line): one snapshot per LLM call"
    expects = ('{"resourceSpans": [{"scopeSpans": [{"spans": [SPAN]}]}]} or SPAN; SPAN: {"traceId"/"context", "name", '
               '"endTimeUnixNano"/"end_time", "attributes": {"gen_ai.input.messages", "gen_ai.output.messages", '
               '"gen_ai.system_instructions", "gen_ai.conversation.id"/"session.id", "enduser.id", '
               '"gen_ai.request.model", ...}, "events": [{"name": "gen_ai.user.message", ...}]}')

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict):
            return False
        if "resourceSpans" in obj or "resource_spans" in obj:
            return True
        attrs = _attributes(obj.get("attributes"))
        return ("traceId" in obj or "trace_id" in obj or "context" in obj) and any(
            k.startswith(("gen_ai.", "llm.")) for k in attrs)

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        if not isinstance(obj, dict):
            raise AdaptError("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
        for i, span in enumerate(_spans(obj)):
            if not isinstance(span, dict):
                raise AdaptError("wrong_type", f"span {i} is not an object")
            row = self._span(span, ctx, i)
            if row is not None:
                yield row

    def _span(self, span: dict, ctx: RecordContext, index: int) -> dict | None:
        attrs = _attributes(span.get("attributes"))
        turns = Turns(ctx)
        for part in _parts_list(_json(attrs.get("gen_ai.system_instructions"), "gen_ai.system_instructions")):
            turns.say("system", part.get("content") if isinstance(part, dict) else str(part))
        found = False
        for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
            if attrs.get(key) is not None:
                found = True
                for message in _parts_list(_json(attrs[key], key)):
                    _message(turns, message)
        if not found:
            found = _events(turns, span.get("events") or []) or _indexed(turns, attrs)
        if not found:
            return None
        if not any(m["role"] != "system" for m in turns.messages):
            return None  # tool results or instructions alone: no conversation in this span
        messages, events = turns.finish()
        context = span.get("context") if isinstance(span.get("context"), dict) else {}
        trace = span.get("traceId") or span.get("trace_id") or context.get("trace_id")
        conv = next((attrs[k] for k in _CONVERSATION_KEYS if attrs.get(k)), None) or trace
        user = next((attrs[k] for k in _USER_KEYS if attrs.get(k)), None)
        end = span.get("endTimeUnixNano") or span.get("end_time_unix_nano")
        tstamp = int(end) / 1e9 if end not in (None, "", 0, "0") else to_tstamp(span.get("end_time"))
        return conversation_row(
            ctx, self.name, str(conv) if conv else ctx.derived_id(self.name, index), messages,
            model=_text(attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")),
            tstamp=tstamp, user_key=None if user is None else str(user), extras={"tools.events": events})


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _parts_list(value: object) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise AdaptError("wrong_type", f"expected a list of messages or parts, got {type(value).__name__}")
    return value


def _message(turns: Turns, message: object) -> None:
    """One semantic-conventions message: ``{"role", "parts": [{"type": "text", "content"}, ...]}``."""
    if not isinstance(message, dict):
        raise AdaptError("wrong_type", "a gen_ai message is not an object")
    role = message.get("role")
    parts = message.get("parts")
    if parts is None and "content" in message:  # a plain {role, content} message
        parts = [{"type": "text", "content": message["content"]}]
    texts = []
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("content") or ""))
        elif kind == "tool_call":
            turns.event("call", part.get("arguments"), name=part.get("name"), call_id=part.get("id"))
        elif kind == "tool_call_response":
            turns.event("result", part.get("response", part.get("result")), call_id=part.get("id"))
        elif kind == "reasoning":
            turns.event("reasoning", part.get("content"))
        else:  # blob, uri, file and newer kinds: named, not read
            turns.event("attachment", name=part.get("mime_type") or part.get("modality") or kind)
    if role == "tool":
        if texts:
            turns.event("result", "\n".join(texts))
        return
    turns.say(canonical_role(role), "\n".join(texts) or None)


def _events(turns: Turns, events: list) -> bool:
    """The earlier convention: one span event per message, ``gen_ai.choice`` for the answer."""
    found = False
    for event in events:
        if not isinstance(event, dict):
            continue
        name = event.get("name")
        attrs = _attributes(event.get("attributes"))
        if name in ("gen_ai.client.inference.operation.details",):
            for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
                for message in _parts_list(_json(attrs.get(key), key)):
                    _message(turns, message)
                    found = True
            continue
        if name not in _EVENT_ROLES and name != "gen_ai.choice":
            continue
        found = True
        body = _json(attrs.get("message"), "message") if name == "gen_ai.choice" else attrs
        body = body if isinstance(body, dict) else {}
        content = body.get("content")
        if isinstance(content, str) and content.startswith("["):  # content parts, serialised
            with contextlib.suppress(ValueError):
                content = json.loads(content)
        if isinstance(content, list):
            content = "\n".join(str(p.get("text") or p.get("content") or "") for p in content if isinstance(p, dict))
        role = _EVENT_ROLES.get(name, "assistant")
        if role == "tool":
            turns.event("result", content, call_id=body.get("id"))
            continue
        turns.say(role, None if content is None else str(content))
        for call in _json(body.get("tool_calls"), "tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                turns.event("call", function.get("arguments"), name=function.get("name"), call_id=call.get("id"))
    return found


def _indexed(turns: Turns, attrs: dict) -> bool:
    """OpenLLMetry's flat attributes: ``gen_ai.prompt.{i}.role/content``, ``gen_ai.completion.{i}.*``."""
    found = False
    for prefix in ("gen_ai.prompt", "gen_ai.completion"):
        i = 0
        while f"{prefix}.{i}.role" in attrs or f"{prefix}.{i}.content" in attrs:
            found = True
            role = attrs.get(f"{prefix}.{i}.role") or ("user" if prefix == "gen_ai.prompt" else "assistant")
            content = attrs.get(f"{prefix}.{i}.content")
            if role == "tool":
                turns.event("result", content, call_id=attrs.get(f"{prefix}.{i}.tool_call_id"))
            else:
                turns.say(canonical_role(role), None if content is None else str(content))
            j = 0
            while f"{prefix}.{i}.tool_calls.{j}.name" in attrs:
                turns.event("call", attrs.get(f"{prefix}.{i}.tool_calls.{j}.arguments"),
                            name=attrs[f"{prefix}.{i}.tool_calls.{j}.name"],
                            call_id=attrs.get(f"{prefix}.{i}.tool_calls.{j}.id"))
                j += 1
            i += 1
    return found
