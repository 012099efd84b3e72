"""``sft select``: instruction-tuning subsets of a release (paper §4.3), with rules the paper lacked.

Subsets:

- ``highquality``: conversations answered by the strong models (the paper's five: gpt-4,
  gpt-3.5-turbo, claude-1, claude-2, claude-instant-1; ``models`` replaces them, shell patterns allowed);
- ``upvote``: conversations of open models (any model not matching ``PROPRIETARY``) that a user
  upvoted or that won an arena battle (``votes.up`` / ``votes.win``), as FastChat's ``clean_chat_data``
  extraction did;
- ``custom``: every conversation; only the rules apply.

Rules, applied in this order; a conversation is left out for the first rule it fails, and every
reason is counted, so considered = selected + the sum of the reasons:
``language``, ``min_turns``/``max_turns``, ``exclude_flagged`` (any message flagged by moderation),
``max_jailbreak_score`` (``safety.jailbreak_score``), ``min_response_chars`` (every assistant
answer at least that long; empty answers always fail), ``exact_dedup`` (one per ``dedup.exact_group``,
the first in release order), ``near_cap`` (at most N per ``dedup.near_cluster``), then decontamination
against benchmark files (``decontam.py``). A rule whose column the release lacks is an error, not
a silent pass.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatsift.errors import ConfigError
from chatsift.safety.signals import release_shards
from chatsift.sft.decontam import Decontaminator

SUBSETS = ("highquality", "upvote", "custom")
HIGHQUALITY_MODELS = ("gpt-4", "gpt-3.5-turbo", "claude-1", "claude-2", "claude-instant-1")
PROPRIETARY = ("gpt-*", "gpt4*", "chatgpt*", "claude*", "palm*", "bard*", "gemini*", "*-bison*", "command*", "o1*",
               "o3*", "o4*", "grok*", "reka*", "mistral-large*", "mistral-medium*", "yi-large*", "glm-4*", "qwen-max*")


@dataclass
class SftRules:
    subset: str = "highquality"
    models: list[str] | None = None
    languages: list[str] | None = None
    min_turns: int = 1
    max_turns: int | None = None
    exclude_flagged: bool = True
    max_jailbreak_score: float | None = None
    min_response_chars: int = 1
    exact_dedup: bool = True
    near_cap: int | None = None


@dataclass
class SftSelection:
    """Selected conversations as ids and as row numbers in release order (ids need not be unique)."""

    ids: list[str]
    considered: int
    reasons: Counter = field(default_factory=Counter)
    contaminated: list[dict] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def _matches(model: str | None, patterns: tuple[str, ...] | list[str]) -> bool:
    name = (model or "").lower()
    return any(fnmatch.fnmatchcase(name, p.lower()) for p in patterns)


def _columns(release: Path) -> set[str]:
    return set(pq.read_schema(release_shards(release)[0]).names)


def _need(cols: set[str], column: str, rule: str) -> None:
    if column not in cols:
        hint = "; votes come from FastChat logs or a source with votes" if column.startswith("votes") else ""
        raise ConfigError(f"{rule} needs the {column} column, which this release lacks (curate with --schema full"
                          f"{hint})")


def _facts(release: Path, cols: set[str]) -> pa.Table:
    """One row per conversation with what the rules read, in release order."""
    con = duckdb.connect()
    # Paths go in as values (never SQL text); rows come back in release order, which row numbers rely on.
    con.read_parquet([str(p) for p in release_shards(release)], filename=True, file_row_number=True) \
        .create_view("t")
    opt = {c: ('"' + c + '"' if c in cols else "NULL") for c in (
        "votes.up", "votes.win", "dedup.exact_group", "dedup.near_cluster", "safety.jailbreak_score",
        "language_code")}
    sql = f"""
        SELECT conversation_id, model, language, {opt['language_code']} AS language_code, turn,
          coalesce(list_bool_or(list_transform(openai_moderation, lambda m: coalesce(m.flagged, false))), false)
            AS flagged,
          coalesce(list_min(list_transform(list_filter(conversation, lambda m: m.role = 'assistant'),
                                           lambda m: length(coalesce(m.content, '')))), 0) AS min_answer,
          len(list_filter(conversation, lambda m: m.role = 'assistant')) AS answers,
          coalesce({opt['votes.up']}, 0) AS up, coalesce({opt['votes.win']}, 0) AS win,
          {opt['dedup.exact_group']} AS exact_group, {opt['dedup.near_cluster']} AS near_cluster,
          {opt['safety.jailbreak_score']} AS jailbreak
        FROM t ORDER BY filename, file_row_number"""
    return con.sql(sql).to_arrow_table()


def _exact_keys(release: Path) -> list[int | None]:
    """The curate stage's exact-duplicate key (the hash of the normalised user turns) per conversation."""
    from chatsift.common.text_keys import hash64, tokens

    keys: list[int | None] = []
    for shard in release_shards(release):
        for batch in pq.ParquetFile(shard).iter_batches(columns=["conversation"]):
            for messages in batch.column(0).to_pylist():
                user_toks = [tokens(m["content"]) for m in messages or [] if m["role"] == "user" and m["content"]]
                keys.append(hash64("\x1f".join(" ".join(t) for t in user_toks)) if any(user_toks) else None)
    return keys


def select_subset(release: str | Path, rules: SftRules, decontaminator: Decontaminator | None = None) -> SftSelection:
    release = Path(release)
    if rules.subset not in SUBSETS:
        raise ConfigError(f"unknown subset {rules.subset!r}; use {', '.join(SUBSETS)}")
    cols = _columns(release)
    if rules.subset == "upvote":
        _need(cols, "votes.up", "--subset upvote")
    if rules.max_jailbreak_score is not None:
        _need(cols, "safety.jailbreak_score", "--max-jailbreak-score")
    if rules.near_cap is not None:
        _need(cols, "dedup.near_cluster", "--near-cap")
    facts = _facts(release, cols)
    n = facts.num_rows
    keep = np.ones(n, bool)
    reasons: Counter = Counter()

    def drop(mask: np.ndarray, reason: str) -> None:
        hit = keep & mask
        reasons[reason] += int(hit.sum())
        keep[hit] = False

    models = facts["model"].to_pylist()
    if rules.subset == "highquality":
        patterns = rules.models or list(HIGHQUALITY_MODELS)
        drop(np.array([not _matches(m, patterns) for m in models], bool), "not a HighQuality model")
    elif rules.subset == "upvote":
        patterns = rules.models or []
        drop(np.array([_matches(m, PROPRIETARY) or (bool(patterns) and not _matches(m, patterns)) for m in models],
                      bool), "not an open model")
        up = facts["up"].to_numpy() > 0
        win = facts["win"].to_numpy() > 0
        drop(~(up | win), "no upvote or arena win")
    elif rules.models:
        drop(np.array([not _matches(m, rules.models) for m in models], bool), "model not listed")
    if rules.languages:
        wanted = {x.lower() for x in rules.languages}
        lang = [(a or "").lower() in wanted or (b or "").lower() in wanted
                for a, b in zip(facts["language"].to_pylist(), facts["language_code"].to_pylist())]
        drop(~np.array(lang, bool), "language not selected")
    turns = pc.fill_null(facts["turn"], 0).to_numpy()
    drop(turns < rules.min_turns, f"fewer than {rules.min_turns} turns")
    if rules.max_turns is not None:
        drop(turns > rules.max_turns, f"more than {rules.max_turns} turns")
    if rules.exclude_flagged:
        drop(facts["flagged"].to_numpy(zero_copy_only=False), "flagged by moderation")
    if rules.max_jailbreak_score is not None:
        score = pc.fill_null(facts["jailbreak"], 0.0).to_numpy()
        drop(score >= rules.max_jailbreak_score, "jailbreak prompt")
    answers = facts["answers"].to_numpy()
    drop((answers == 0) | (facts["min_answer"].to_numpy() < max(1, rules.min_response_chars)),
         f"an answer shorter than {max(1, rules.min_response_chars)} characters")
    if rules.exact_dedup:
        # A release in the LMSYS schema has no dedup.exact_group: the same key is computed from its user turns.
        groups = facts["exact_group"].to_pylist() if "dedup.exact_group" in cols else _exact_keys(release)
        seen: set = set()
        dup = np.zeros(n, bool)
        for i in np.flatnonzero(keep):
            g = groups[i]
            if g is not None and g in seen:
                dup[i] = True
            seen.add(g)
        drop(dup, "exact duplicate of a selected conversation")
    if rules.near_cap is not None:
        clusters = facts["near_cluster"].to_pylist()
        taken: Counter = Counter()
        over = np.zeros(n, bool)
        for i in np.flatnonzero(keep):
            c = clusters[i]
            if c is None:
                continue
            taken[c] += 1
            over[i] = taken[c] > rules.near_cap
        drop(over, f"beyond {rules.near_cap} per near-duplicate cluster")
    ids = facts["conversation_id"].to_pylist()
    selection = SftSelection([], n, reasons)
    if decontaminator is not None and keep.any():
        rows = np.flatnonzero(keep)
        matches = _decontaminate(release, rows, decontaminator)
        hit = np.zeros(n, bool)
        for i, m in zip(rows, matches):
            if m is not None:
                hit[i] = True
                selection.contaminated.append({"conversation_id": ids[i], **m.to_dict()})
        for method in ("exact", "ngram", "embedding"):
            count = sum(1 for c in selection.contaminated if c["method"] == method)
            if count:
                reasons[f"contaminated ({method} match)"] += count
        keep[hit] = False
    selection.rows = [int(i) for i in np.flatnonzero(keep)]
    selection.ids = [ids[i] for i in selection.rows]
    return selection


def _shard_rows(release: Path, rows: list[int]):
    """(shard, its rows among ``rows`` as local numbers, their positions in ``rows``), shard by shard."""
    wanted = np.asarray(rows, np.int64)
    start = 0
    for path in release_shards(release):
        n = pq.ParquetFile(path).metadata.num_rows
        lo, hi = np.searchsorted(wanted, [start, start + n])
        if hi > lo:
            yield path, wanted[lo:hi] - start, np.arange(lo, hi)
        start += n


def _decontaminate(release: Path, rows: list[int], decontaminator: Decontaminator) -> list:
    """Match the user turns of the conversations at release rows ``rows`` (sorted) against the benchmarks."""
    texts: list[str] = []
    owners: list[np.ndarray] = []
    for path, local, positions in _shard_rows(release, rows):
        conv = pq.ParquetFile(path).read(columns=["conversation"])["conversation"].combine_chunks()
        conv = conv.take(pa.array(local))
        flat = pc.list_flatten(conv)
        if not len(flat):
            continue
        parent = pc.list_parent_indices(conv).to_numpy(zero_copy_only=False)
        user = pc.fill_null(pc.equal(flat.field("role"), "user"), False)
        texts += pc.filter(flat.field("content"), user).to_pylist()
        owners.append(positions[parent[user.to_numpy(zero_copy_only=False)]])
    owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    return decontaminator.match(texts, owner, len(rows))


def write_subset(release: str | Path, selection: SftSelection, out: str | Path) -> list[Path]:
    """The selected conversations as Parquet shards in the release's schema (``OUT/data``)."""
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    written = []
    for k, (path, local, _) in enumerate(_shard_rows(release, selection.rows)):
        table = pq.read_table(path).take(pa.array(local))
        if table.num_rows:
            target = out / "data" / f"train-{k:05d}.parquet"
            tmp = target.with_suffix(".parquet.tmp")
            pq.write_table(table, tmp, compression="zstd")
            tmp.replace(target)
            written.append(target)
    return written
