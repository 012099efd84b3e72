"""WildChat (allenai/WildChat-1M and its relatives), from Parquet or JSON lines."""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    conversation_row,
    moderation_entries,
    optional_text,
    require_dict,
    require_key,
    role_content_messages,
    to_tstamp,
)


class WildChatReader(Reader):
    name = "wildchat"
    description = "WildChat conversations (Hugging Face schema)"
    expects = ('{"conversation_hash", "model", "timestamp", "conversation": [{"role", "content", "turn_identifier", '
               '...}], "language", "openai_moderation", "toxic", "redacted", "hashed_ip", "country"}')

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict) or not isinstance(obj.get("conversation"), list):
            return False
        if "conversation_hash" in obj or "hashed_ip" in obj:
            return True
        first = obj["conversation"][0] if obj["conversation"] else None
        return isinstance(first, dict) and "turn_identifier" in first

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        conv_id = optional_text(rec.get("conversation_hash") or rec.get("conversation_id"), "conversation_hash")
        messages = role_content_messages(require_key(rec, "conversation", list), ctx)
        user = rec.get("hashed_ip")
        yield conversation_row(
            ctx,
            self.name,
            conv_id or ctx.derived_id(self.name),
            messages,
            model=optional_text(rec.get("model"), "model"),
            tstamp=to_tstamp(rec.get("timestamp")),
            language=optional_text(rec.get("language"), "language"),
            redacted=rec.get("redacted"),
            openai_moderation=moderation_entries(rec.get("openai_moderation")),
            user_key=None if user is None else str(user),
        )
