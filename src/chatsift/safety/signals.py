"""Per-conversation jailbreak signals from a release's ``openai_moderation`` tags, shard by shard.

The paper's definitions (``reference/paper.md`` §9.1): a conversation is a jailbreak **attempt** when
at least one user message is flagged, and a **success** when it is an attempt and at least one
assistant message is flagged. A conversation whose tags do not line up with its messages (or that
has none) is *untagged* and never counted as either. Only the role, flag and category columns are
read (nested column projection), so message texts stay on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatsift.errors import ReleaseError
from chatsift.schema import MODERATION_CATEGORIES

SIGNAL_COLUMNS = ["model", "conversation.list.element.role", "openai_moderation.list.element.flagged",
                  "openai_moderation.list.element.categories", "openai_moderation.list.element.category_scores"]


def release_shards(release: str | Path) -> list[Path]:
    files = sorted((Path(release) / "data").glob("*.parquet"))
    if not files:
        raise ReleaseError(f"{release} has no data/*.parquet shards (is it a chatsift release folder?)")
    return files


@dataclass
class Signals:
    """One shard's conversations. Category arrays are (conversations, 11) in ``MODERATION_CATEGORIES`` order."""

    row: np.ndarray  # row number within the shard
    model_code: np.ndarray  # index into ``model_names``
    model_names: list[str]
    tagged: np.ndarray
    attempt: np.ndarray
    assistant_flagged: np.ndarray
    user_categories: np.ndarray  # a user message carries the category
    assistant_categories: np.ndarray
    user_score: np.ndarray  # highest category score over the user messages
    assistant_score: np.ndarray

    @property
    def success(self) -> np.ndarray:
        return self.attempt & self.assistant_flagged

    @property
    def model(self) -> list[str]:
        return [self.model_names[c] for c in self.model_code]

    def by_model(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (conversations, ...) per model code."""
        out = np.zeros((len(self.model_names), *values.shape[1:]), np.int64)
        np.add.at(out, self.model_code, values.astype(np.int64))
        return out


def _any_per_conversation(mask: np.ndarray, parent: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(parent[mask], minlength=n) > 0


def _max_per_conversation(values: np.ndarray, mask: np.ndarray, parent: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    np.maximum.at(out, parent[mask], values[mask])
    return out


def shard_signals(table: pa.Table) -> Signals:
    n = table.num_rows
    conv, mod = table["conversation"].combine_chunks(), table["openai_moderation"].combine_chunks()
    n_msgs = pc.fill_null(pc.list_value_length(conv), 0).to_numpy(zero_copy_only=False)
    n_tags = pc.fill_null(pc.list_value_length(mod), -1).to_numpy(zero_copy_only=False)
    tagged = n_tags == n_msgs
    encoded = pc.dictionary_encode(pc.fill_null(table["model"], "(none)")).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    k = len(MODERATION_CATEGORIES)
    empty = np.zeros(n, bool)
    out = Signals(np.arange(n), codes, encoded.dictionary.to_pylist(), tagged, empty.copy(), empty.copy(),
                  np.zeros((n, k), bool),
                  np.zeros((n, k), bool), np.zeros(n), np.zeros(n))
    rows = np.flatnonzero(tagged)
    if not len(rows):
        return out
    conv_t, mod_t = conv.take(pa.array(rows)), mod.take(pa.array(rows))
    parent = pc.list_parent_indices(conv_t).to_numpy(zero_copy_only=False)
    roles = pc.list_flatten(conv_t).field("role")
    results = pc.list_flatten(mod_t)
    is_user = pc.fill_null(pc.equal(roles, "user"), False).to_numpy(zero_copy_only=False)
    is_assistant = pc.fill_null(pc.equal(roles, "assistant"), False).to_numpy(zero_copy_only=False)
    # A null result (the backend gave no answer) counts as not flagged, never as flagged.
    flagged = pc.fill_null(results.field("flagged"), False).to_numpy(zero_copy_only=False)
    cats = results.field("categories")
    scores = results.field("category_scores")
    m = len(rows)
    out.attempt[rows] = _any_per_conversation(is_user & flagged, parent, m)
    out.assistant_flagged[rows] = _any_per_conversation(is_assistant & flagged, parent, m)
    best = np.zeros(len(flagged))
    for j, c in enumerate(MODERATION_CATEGORIES):
        on = pc.fill_null(cats.field(c), False).to_numpy(zero_copy_only=False)
        out.user_categories[rows, j] = _any_per_conversation(is_user & on, parent, m)
        out.assistant_categories[rows, j] = _any_per_conversation(is_assistant & on, parent, m)
        best = np.maximum(best, pc.fill_null(scores.field(c), 0.0).to_numpy(zero_copy_only=False))
    out.user_score[rows] = _max_per_conversation(best, is_user, parent, m)
    out.assistant_score[rows] = _max_per_conversation(best, is_assistant, parent, m)
    return out


def iter_signals(release: str | Path) -> Iterator[tuple[Path, Signals]]:
    for path in release_shards(release):
        schema = pq.read_schema(path)
        missing = {"model", "conversation", "openai_moderation"} - set(schema.names)
        if missing:
            raise ReleaseError(f"{path} has no {', '.join(sorted(missing))} column")
        yield path, shard_signals(pq.ParquetFile(path).read(columns=SIGNAL_COLUMNS))
