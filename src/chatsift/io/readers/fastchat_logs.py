"""FastChat web-server logs (``{LOGDIR}/YYYY-MM-DD-conv.json``, one JSON object per line).

Follows the paper's extraction (FastChat ``clean_chat_data.py``; reference/paper.md section 4, Step 1):
``state.messages[offset:]`` with roles by alternation (even: user, odd: assistant; the logged role
strings are ignored), model-name normalisation, and the IP as the user key. Every chat record is one
snapshot; the snapshot stage keeps the latest per ``conv_id``. Unfinished turns (``None`` text) and
the network-error text are left in place for the format filter, which excludes them with a reason.
Vote records become vote events on the conversations they refer to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from chatsift.errors import AdaptError
from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    VoteEvent,
    clean_text,
    conversation_row,
    require_dict,
    require_key,
    to_tstamp,
)

CHAT_TYPES = frozenset({"chat"})
SINGLE_VOTES = {"upvote": "up", "downvote": "down", "flag": "flag"}
ARENA_VOTES = {"leftvote": ("win", "loss"), "rightvote": ("loss", "win"), "tievote": ("tie", "tie"),
               "bothbad_vote": ("tie", "tie")}
OTHER_EVENTS = frozenset({"share", "regenerate", "clear_history"})
ALL_TYPES = CHAT_TYPES | set(SINGLE_VOTES) | set(ARENA_VOTES) | OTHER_EVENTS

# The released names for models the logs call otherwise (paper section 4, Step 1.3).
MODEL_RENAMES = {
    "bard": "palm-2",
    "claude-v1": "claude-1",
    "claude-instant-v1": "claude-instant-1",
    "oasst-sft-1-pythia-12b": "oasst-pythia-12b",
}
GPT4_DATE_CUTOFF = 1687849200  # later FastChat code: after this tstamp gpt-4 means the 0613 snapshot
_HTML_NAME = re.compile(r"<[^>]+>")


def normalize_model_name(model: str, tstamp: float | None, date_suffix: bool) -> str:
    model = MODEL_RENAMES.get(model, model)
    if date_suffix and model in {"gpt-4", "gpt-3.5-turbo"}:
        model += "-0613" if (tstamp or 0) > GPT4_DATE_CUTOFF else "-0314"
    return model


class FastChatLogReader(Reader):
    name = "fastchat_logs"
    description = "FastChat web-server logs (*-conv.json): chat snapshots and vote records"
    expects = ('one JSON object per line: {"type": "chat", "tstamp", "model", "state": {"messages": [[role, text]], '
               '"offset", "conv_id", ...}, "ip"} or a vote {"type": "upvote"|"leftvote"|..., "state"/"states"}')

    def sniff(self, obj: object) -> bool:
        return isinstance(obj, dict) and obj.get("type") in ALL_TYPES and ("state" in obj or "states" in obj)

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict | VoteEvent]:
        rec = require_dict(obj)
        kind = require_key(rec, "type", str)
        tstamp = to_tstamp(rec.get("tstamp"))
        if kind in CHAT_TYPES:
            yield self._chat(rec, ctx, tstamp)
        elif kind in SINGLE_VOTES:
            state = require_key(rec, "state", dict)
            yield VoteEvent(_conv_id(state), SINGLE_VOTES[kind], tstamp)
        elif kind in ARENA_VOTES:
            states = require_key(rec, "states", list)
            if len(states) != 2 or not all(isinstance(s, dict) for s in states):
                raise AdaptError("wrong_type", "an arena vote needs two states")
            for state, outcome in zip(states, ARENA_VOTES[kind]):
                yield VoteEvent(_conv_id(state), outcome, tstamp)
        elif kind in OTHER_EVENTS:
            return  # nothing to keep; the executor counts the record as an event
        else:
            raise AdaptError("unknown_event", f"log record of type {kind!r}")

    def _chat(self, rec: dict, ctx: RecordContext, tstamp: float | None) -> dict:
        state = require_key(rec, "state", dict)
        conv_id = _conv_id(state)
        model = rec.get("model", state.get("model_name"))
        if not isinstance(model, str):
            raise AdaptError("bad_model", f"model should be text, got {type(model).__name__}")
        model = normalize_model_name(_HTML_NAME.sub("", model).strip(), tstamp, ctx.config.fastchat_date_suffix)
        raw_messages = require_key(state, "messages", list)
        offset = state.get("offset", 0)
        if not isinstance(offset, int) or offset < 0:
            raise AdaptError("wrong_type", f"offset should be a non-negative integer, got {offset!r}")
        messages = []
        for i, item in enumerate(raw_messages[offset:]):
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise AdaptError("wrong_type", f"message {i} should be a [role, text] pair")
            text = item[1]
            if text is not None and not isinstance(text, str):
                # Multimodal logs store (text, images); keep the text, as the paper's text-only release did.
                if isinstance(text, (list, tuple)) and text and isinstance(text[0], str):
                    text = text[0]
                    ctx.issues.append("dropped_images")
                else:
                    raise AdaptError("non_text_content", f"message {i} text is {type(text).__name__}")
            messages.append({"role": "user" if i % 2 == 0 else "assistant",
                             "content": None if text is None else clean_text(text, ctx)})
        system = state.get("system_message", state.get("system"))
        ip = rec.get("ip")
        return conversation_row(
            ctx,
            self.name,
            conv_id,
            messages,
            model=model,
            tstamp=tstamp,
            user_key=None if ip is None else str(ip),
            system_prompt=system if isinstance(system, str) and system.strip() else None,
        )


def _conv_id(state: dict) -> str:
    conv_id = state.get("conv_id")
    if not isinstance(conv_id, str) or not conv_id:
        raise AdaptError("invalid_conv_id", "state has no conv_id (the paper's ct_invalid_conv_id)")
    return conv_id
