"""LMSYS-Chat-1M records (the Hugging Face dataset's Parquet files, or the same fields as JSON lines)."""

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


class LmsysReader(Reader):
    name = "lmsys"
    description = "LMSYS-Chat-1M (Parquet from the Hub, or JSON lines with the same fields)"
    expects = ('{"conversation_id", "model", "conversation": [{"content", "role"}], "turn", "language", '
               '"openai_moderation": [...], "redacted"}; language, openai_moderation and redacted pass through')

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict) or not isinstance(obj.get("conversation"), list):
            return False
        return "conversation_id" in obj and ("openai_moderation" in obj or ("turn" in obj and "language" in obj))

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        conv_id = optional_text(require_key(rec, "conversation_id"), "conversation_id") or ctx.derived_id(self.name)
        messages = role_content_messages(require_key(rec, "conversation", list), ctx)
        user = rec.get("user_id")
        yield conversation_row(
            ctx,
            self.name,
            conv_id,
            messages,
            model=optional_text(rec.get("model"), "model"),
            language=optional_text(rec.get("language"), "language"),
            redacted=rec.get("redacted"),
            openai_moderation=moderation_entries(rec.get("openai_moderation")),
            tstamp=to_tstamp(rec.get("tstamp")),
            user_key=None if user is None else str(user),
        )
