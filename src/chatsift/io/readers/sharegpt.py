"""ShareGPT / FastChat training data: ``{"id", "conversations": [{"from": "human"|"gpt", "value"}]}``."""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    conversation_row,
    optional_text,
    require_dict,
    require_key,
    role_content_messages,
)


class ShareGPTReader(Reader):
    name = "sharegpt"
    description = "ShareGPT / FastChat training JSON (a JSON array or JSON lines)"
    expects = '{"id": str, "conversations": [{"from": "human"|"gpt"|"system", "value": str}], optional "model"}'

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict):
            return False
        convs = obj.get("conversations")
        return isinstance(convs, list) and bool(convs) and isinstance(convs[0], dict) and "from" in convs[0]

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        items = require_key(rec, "conversations", list)
        messages = role_content_messages(items, ctx, role_key="from", content_key="value")
        system = rec.get("system")
        if isinstance(system, str) and system.strip():
            messages.insert(0, {"role": "system", "content": system})
        yield conversation_row(
            ctx,
            self.name,
            optional_text(rec.get("id"), "id") or ctx.derived_id(self.name),
            messages,
            model=optional_text(rec.get("model"), "model"),
        )
