"""Putting backend results into ``openai_moderation`` columns: shared by the curate stage and ``chatsift moderate``.

Tags the source already carries are kept unless ``recompute``; a result list whose length no
longer matches the conversation is treated as absent (and reported), because a misaligned label is
worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatsift.moderation.backends import Backend
from chatsift.moderation.categories import results_to_arrow
from chatsift.schema import MODERATION_TYPE


@dataclass
class Tagged:
    moderation: pa.Array  # the new openai_moderation column
    backend: list[str | None]  # per row: "source", the backend's name, or None (no tags)
    unparsed: list[int | None]  # per row: messages the backend gave no result for
    misaligned: np.ndarray  # rows whose source tags did not line up with the messages
    answered: int = 0  # messages the backend gave a result for
    kept_after_failure: int = 0  # rows whose old tags stayed because the backend failed on them


def conversation_texts(conversations: pa.ListArray) -> tuple[list[str], np.ndarray]:
    """Every message's content (None as '') and the offsets that delimit each conversation."""
    flat = pc.list_flatten(conversations)
    contents = pc.fill_null(flat.field("content") if len(flat) else pa.array([], pa.string()), "")
    lengths = pc.fill_null(pc.list_value_length(conversations), 0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    return contents.to_pylist(), offsets


def moderate_conversations(backend: Backend, conversations: pa.ListArray) -> tuple[pa.ListArray, np.ndarray]:
    """``openai_moderation`` for each conversation, and how many of its messages got no result."""
    texts, offsets = conversation_texts(conversations)
    out = backend.moderate(texts)
    invalid = np.concatenate([(~out.valid).astype(np.int64), [0]])
    unparsed = np.add.reduceat(invalid, offsets[:-1]) if len(conversations) else np.zeros(0, np.int64)
    unparsed[offsets[:-1] == offsets[1:]] = 0  # reduceat repeats the next value for empty conversations
    return results_to_arrow(out.scores, out.decisions, out.flagged, offsets, valid=out.valid), unparsed


def tag(conversations: pa.Array | pa.ChunkedArray, moderation: pa.Array | pa.ChunkedArray,
        backend: Backend | None, recompute: bool = False) -> Tagged:
    conv = conversations.combine_chunks() if isinstance(conversations, pa.ChunkedArray) else conversations
    mod = moderation.combine_chunks() if isinstance(moderation, pa.ChunkedArray) else moderation
    mod = mod if mod.type == MODERATION_TYPE else mod.cast(MODERATION_TYPE)
    n = len(conv)
    n_msgs = pc.fill_null(pc.list_value_length(conv), 0).to_numpy(zero_copy_only=False)
    has = pc.is_valid(mod).to_numpy(zero_copy_only=False)
    aligned = has & (pc.fill_null(pc.list_value_length(mod), -1).to_numpy(zero_copy_only=False) == n_msgs)
    keep = aligned & (not recompute)
    who = np.where(keep, "source", None).astype(object)
    unparsed = np.zeros(n, np.int64)
    column = pc.if_else(pa.array(keep), mod, pa.nulls(n, MODERATION_TYPE)) if n else mod
    need = np.flatnonzero(~keep) if backend is not None else np.zeros(0, np.int64)
    if len(need):
        computed, missing = moderate_conversations(backend, conv.take(pa.array(need)))
        index = np.arange(n)
        index[need] = n + np.arange(len(need))
        column = pa.concat_arrays([column, computed]).take(pa.array(index))
        who[need] = backend.name
        unparsed[need] = missing
    answered = int(n_msgs[need].sum() - unparsed[need].sum()) if len(need) else 0
    # A recompute that failed on a conversation keeps the tags it had: a broken endpoint never erases them.
    fallback = aligned & (unparsed > 0)
    if fallback.any():
        column = pc.if_else(pa.array(fallback), mod, column)
        who[fallback] = "source"
        unparsed[fallback] = 0
    return Tagged(column, who.tolist(), [None if w is None else int(u) for w, u in zip(who, unparsed)],
                  has & ~aligned, answered, int(fallback.sum()))
