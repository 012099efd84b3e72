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
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        if "conversation_hash" in obj or "hashed_ip" in obj or "conversation_hash" in meta:
            return True
        first = obj["conversation"][0] if obj["conversation"] else None
        return isinstance(first, dict) and "turn_identifier" in first

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        # Some exports move the record's fields under "metadata"; the top level wins where both have one.
        meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}

        def field(key: str) -> object:
            return rec.get(key) if rec.get(key) is not None else meta.get(key)

        conv_id = optional_text(field("conversation_hash") or field("conversation_id"), "conversation_hash")
        messages = role_content_messages(require_key(rec, "conversation", list), ctx)
        user = field("hashed_ip")
        yield conversation_row(
            ctx,
            self.name,
            conv_id or ctx.derived_id(self.name),
            messages,
            model=optional_text(field("model"), "model"),
            tstamp=to_tstamp(field("timestamp")),
            language=optional_text(field("language"), "language"),
            redacted=rec.get("redacted"),
            openai_moderation=moderation_entries(rec.get("openai_moderation")),
            user_key=None if user is None else str(user),
        )
