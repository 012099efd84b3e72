"""Anthropic HH-RLHF transcripts: ``{"chosen": str, "rejected": str}`` with Human/Assistant markers.

Each record gives two conversations, ``chosen`` (``votes.preferred`` true) and ``rejected`` (false),
with ids derived from the file and line (the data has none). Turns are split on the blank-line
markers only, so an inline ``Human:`` inside a turn stays text, as the data's caveats require.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from chatsift.errors import AdaptError
from chatsift.io.readers.base import Reader, RecordContext, clean_text, conversation_row, require_dict, require_key

_MARKER = re.compile(r"\n\n(Human|Assistant): ?")


def parse_transcript(text: str) -> list[dict]:
    parts = _MARKER.split("\n\n" + text.lstrip("\n") if not text.startswith("\n\n") else text)
    if parts[0].strip():
        raise AdaptError("bad_transcript", "text before the first Human:/Assistant: marker")
    messages = []
    for role, content in zip(parts[1::2], parts[2::2]):
        messages.append({"role": "user" if role == "Human" else "assistant", "content": content})
    if not messages:
        raise AdaptError("bad_transcript", "no Human:/Assistant: markers found")
    return messages


class AnthropicHHReader(Reader):
    name = "hh"
    description = "Anthropic HH-RLHF preference pairs (chosen and rejected transcripts)"
    expects = '{"chosen": "\\n\\nHuman: ...\\n\\nAssistant: ...", "rejected": "..."}'

    def sniff(self, obj: object) -> bool:
        return (isinstance(obj, dict) and isinstance(obj.get("chosen"), str) and isinstance(obj.get("rejected"), str)
                and "Human:" in obj["chosen"])

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        for side, preferred in (("chosen", True), ("rejected", False)):
            text = clean_text(require_key(rec, side, str), ctx)
            messages = parse_transcript(text)
            yield conversation_row(
                ctx, self.name, ctx.derived_id(self.name, side), messages, extras={"votes.preferred": preferred}
            )
