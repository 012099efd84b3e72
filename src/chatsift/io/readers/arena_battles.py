"""Chatbot Arena battle dumps: ``lmsys/chatbot_arena_conversations`` and FastChat's ``clean_battle_*.json``
with conversations (``question_id``, ``model_a``, ``model_b``, ``winner``, ``conversation_a``,
``conversation_b``, ``turn``, ``anony``, ``language``, ``tstamp``, ``openai_moderation``).

A battle is two conversations, one per side (ids ``QUESTION_ID-a`` and ``-b``, each with its own model),
and a vote on each: ``win`` / ``loss`` / ``tie`` folded onto the side by the snapshot stage, as for
FastChat's vote logs. The published ``openai_moderation`` is one result for the whole battle, which cannot
stand for each message of the schema's per-message list: it is left out, and the moderation stage tags
the messages. ``judge`` (the dump's pseudonymous user) is the user field, keyed like every other. A
battle without its conversations (a plain vote row) gives only the votes; ``chatsift leaderboard
--votes`` reads both shapes, as JSON lines or as one JSON array.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.errors import AdaptError
from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    VoteEvent,
    conversation_row,
    optional_text,
    require_dict,
    role_content_messages,
    to_tstamp,
)

_OUTCOMES = {"model_a": ("win", "loss"), "model_b": ("loss", "win"), "tie": ("tie", "tie"),
             "tie (bothbad)": ("tie", "tie")}


class ArenaBattleReader(Reader):
    name = "arena_battles"
    description = "Chatbot Arena battles (chatbot_arena_conversations, FastChat clean_battle): two sides and a vote"
    expects = ('{"question_id", "model_a", "model_b", "winner": "model_a"|"model_b"|"tie"|"tie (bothbad)", '
               '"conversation_a": [{"role", "content"}], "conversation_b": [...], "anony", "language", "tstamp"}')

    def sniff(self, obj: object) -> bool:
        return isinstance(obj, dict) and "model_a" in obj and "model_b" in obj and "winner" in obj

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict | VoteEvent]:
        rec = require_dict(obj)
        winner = str(rec.get("winner") or "").strip().lower()
        if winner not in _OUTCOMES:
            raise AdaptError("unknown_winner", f"winner {str(rec.get('winner'))[:40]!r}")
        base = optional_text(rec.get("question_id"), "question_id") or ctx.derived_id(self.name)
        tstamp = to_tstamp(rec.get("tstamp"))
        for side, outcome in zip("ab", _OUTCOMES[winner]):
            model = optional_text(rec.get(f"model_{side}"), f"model_{side}")
            if not model:
                raise AdaptError("missing_key", f"model_{side} is empty")
            conv_id = f"{base}-{side}"
            messages = rec.get(f"conversation_{side}")
            if messages is not None:
                yield conversation_row(ctx, self.name, conv_id, role_content_messages(messages, ctx), model=model,
                                       tstamp=tstamp, language=optional_text(rec.get("language"), "language"),
                                       user_key=optional_text(rec.get("judge"), "judge"))
            yield VoteEvent(conv_id, outcome, tstamp)
