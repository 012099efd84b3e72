"""Building one conversation from a source that interleaves text with tool calls, results and reasoning.

Chat-app exports and agent traces hold more than user and assistant text. ``Turns`` collects the text
in order (the normalize stage then moves system text apart and merges consecutive messages of one role,
as for every reader) and everything else into ``tools.events``, each event placed by how many messages
precede it, so that the two can be read back in their original order; normalize keeps the places true.
"""

from __future__ import annotations

import json

from chatsift.errors import AdaptError
from chatsift.io.readers.base import RecordContext, clean_text
from chatsift.schema import TOOL_EVENT_KINDS


class Turns:
    def __init__(self, ctx: RecordContext) -> None:
        self.ctx = ctx
        self.messages: list[dict] = []
        self.events: list[dict] = []

    def say(self, role: str, text: str | None) -> None:
        """A user, assistant or system message; empty text adds nothing (a tool-only assistant step)."""
        if text is not None and text.strip():
            self.messages.append({"role": role, "content": clean_text(text, self.ctx)})

    def event(self, kind: str, content: object = None, name: object = None, call_id: object = None) -> None:
        if kind not in TOOL_EVENT_KINDS:
            raise ValueError(kind)
        if content is not None and not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False, sort_keys=True)  # arguments, structured results
        self.events.append({"after": len(self.messages), "kind": kind,
                            "name": None if name is None else str(name)[:200],
                            "call_id": None if call_id is None else str(call_id)[:200],
                            "content": None if content is None else clean_text(content, self.ctx)})

    def finish(self) -> tuple[list[dict], list[dict] | None]:
        """``(messages, tools.events)``; a conversation with no text at all is an error."""
        if not any(m["role"] != "system" for m in self.messages):
            what = f" (only {len(self.events)} tool events)" if self.events else ""
            raise AdaptError("empty_conversation", f"no user or assistant text{what}")
        return self.messages, self.events or None
