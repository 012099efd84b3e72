"""The prompts a topic map is built from, selected as the paper did (reference/paper.md, section 7).

A seeded sample of conversations (100k English ones by default), every user prompt of 32 to 1,536
characters, stripped, then deduplicated on a bag-of-words key (punctuation removed, lower-cased,
words sorted), keeping the first occurrence. The language filter is the conversation's language
(the paper re-detected each prompt; the first-prompt language is what the release stores).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from chatsift.analysis.stats import _columns, release_view

_PUNCT = str.maketrans("", "", string.punctuation)


@dataclass
class PromptSet:
    table: pa.Table  # conversation_id, message (index in the conversation), prompt, user_id?, template?
    sampled_conversations: int
    candidates: int  # prompts within the length bounds, before dedup

    @property
    def texts(self) -> list[str]:
        return self.table.column("prompt").to_pylist()


def bow_key(text: str) -> str:
    return " ".join(sorted(text.translate(_PUNCT).lower().split()))


def select_prompts(release: Path, sample: int | None = 100_000, language: str | None = "English", seed: int = 42,
                   min_chars: int = 32, max_chars: int = 1536, dedup: bool = True) -> PromptSet:
    cols = _columns(release)
    con = duckdb.connect()
    release_view(con, release)
    where = "WHERE language = $lang" if language else ""
    params: dict = {"lang": language} if language else {}
    limit = f"LIMIT {int(sample)}" if sample else ""
    extra = ", user_id" if "user_id" in cols else ", NULL::VARCHAR AS user_id"
    has_template = "dedup.template_group" in cols
    extra += ', "dedup.template_group" AS template' if has_template else ", NULL::VARCHAR AS template"
    # A seeded order by hash gives the same sample for the same seed, whatever the shard layout.
    con.execute(
        f"CREATE TEMP TABLE sampled AS SELECT conversation_id, conversation{extra} FROM t {where} "
        f"ORDER BY hash(conversation_id || '{int(seed)}') {limit}", params)
    n_sampled = con.execute("SELECT count(*) FROM sampled").fetchall()[0][0]
    table = con.sql(
        f"""
        SELECT conversation_id, message, prompt, user_id, template FROM (
            SELECT conversation_id, user_id, template, i - 1 AS message, trim(conversation[i].content) AS prompt
            FROM (SELECT *, generate_series(1, len(conversation)) AS idx FROM sampled), unnest(idx) AS u(i)
            WHERE conversation[i].role = 'user'
        ) WHERE length(prompt) BETWEEN {int(min_chars)} AND {int(max_chars)}
        ORDER BY hash(conversation_id || '{int(seed)}'), message
        """
    ).to_arrow_table()
    candidates = table.num_rows
    if not dedup:
        return PromptSet(table, n_sampled, candidates)
    seen: set[str] = set()
    keep = []
    for i, text in enumerate(table.column("prompt").to_pylist()):
        key = bow_key(text)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return PromptSet(table.take(pa.array(keep, pa.int64())), n_sampled, candidates)
