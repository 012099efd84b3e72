"""Decontamination: find conversations whose user turns overlap benchmark questions.

Three matchers, cheapest first; a conversation is reported under the first that matches, with the
benchmark item it matched:

- ``exact``: a user turn equals a benchmark turn after normalisation (case folded, every run of
  non-word characters one space);
- ``ngram``: a user turn shares a word 13-gram with a benchmark turn (the GPT-3 / Llama-2 rule);
  a benchmark turn shorter than 13 words must appear whole, as a contiguous word sequence;
- ``embedding``: cosine similarity of the static embeddings (``analysis.topics.embed``) of a user
  turn and a benchmark turn of at least ``threshold`` (catches reworded questions).

The n-gram matcher is vectorised: words are mapped to ids of the benchmark vocabulary (a word no
benchmark has can never be in a matching n-gram, so it becomes 0), and every window of ``n`` ids gets
a polynomial hash in numpy; hashes are looked up in the benchmark's set, and a hit is confirmed on
the id sequence itself, so a hash collision cannot remove a conversation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatsift.bench.layout import read_questions
from chatsift.errors import ConfigError, InputError

METHODS = ("exact", "ngram", "embedding")
PLANTED_EDITS = ("case", "punctuation", "reworded clause")
_NON_WORD = r"[^\p{L}\p{N}]+"
_PRIME = np.uint64(1_000_003)


@dataclass
class Item:
    benchmark: str
    item_id: str
    turn: int
    text: str


def read_benchmark(path: str | Path) -> list[Item]:
    """Benchmark turns from question files (MT-bench, Arena-Hard v0.1/v2, chatsift's benches) or a prompt CSV."""
    path = Path(path)
    if path.is_dir():
        path = path / "question.jsonl"
    # question.jsonl files are named by their folders (arena-hard-auto/v0.1, mt_bench)
    name = f"{path.parent.parent.name}/{path.parent.name}" if path.name == "question.jsonl" else path.stem
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if path.suffix == ".csv":
        from chatsift.safety.detector import read_texts

        return [Item(name, str(i), 0, t) for i, t in enumerate(read_texts(path), 1)]
    try:
        questions = read_questions(path)
    except ConfigError as exc:
        raise InputError(f"benchmark {path}: {exc}") from None
    return [Item(name, q.qid, k, t) for q in questions for k, t in enumerate(q.turns)]


def normalise(texts: pa.Array) -> pa.Array:
    lowered = pc.utf8_lower(pc.fill_null(texts, "").cast(pa.large_string()))
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(lowered, _NON_WORD, " "))


def _words(normalised: pa.Array) -> tuple[pa.Array, np.ndarray]:
    lists = pc.split_pattern(normalised, " ")
    flat = pc.list_flatten(lists)
    owner = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    keep = pc.not_equal(flat, "")
    return pc.filter(flat, keep), owner[keep.to_numpy(zero_copy_only=False)]


def _window_hashes(ids: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hash, start) of every window of ``n`` ids that lies in one text and holds no 0."""
    m = len(ids) - n + 1
    if m <= 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    h = np.zeros(m, np.uint64)
    ok = owner[:m] == owner[n - 1:]
    with np.errstate(over="ignore"):
        for k in range(n):
            part = ids[k:k + m]
            ok &= part != 0
            h = h * _PRIME + part.astype(np.uint64)
    starts = np.flatnonzero(ok)
    return h[starts], starts


@dataclass
class Match:
    method: str
    benchmark: str
    item_id: str
    turn: int
    score: float | None = None

    def to_dict(self) -> dict:
        return self.__dict__.copy()


class Decontaminator:
    def __init__(self, items: list[Item], methods: tuple[str, ...] = METHODS, n: int = 13,
                 threshold: float = 0.9, embedder: str = "static") -> None:
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ConfigError(f"unknown decontamination method(s) {', '.join(unknown)}; use {', '.join(METHODS)}")
        self.items = [it for it in items if it.text.strip()]
        if not self.items:
            raise ConfigError("the benchmark files hold no question text to decontaminate against")
        self.methods, self.n, self.threshold = methods, n, threshold
        norm = normalise(pa.array([it.text for it in self.items], pa.string()))
        self.exact = {t: i for i, t in enumerate(norm.to_pylist())}
        words, owner = _words(norm)
        self.vocab = pc.unique(words)
        ids = self._ids(words)
        self.grams: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        lengths = np.bincount(owner, minlength=len(self.items))
        starts = np.concatenate(([0], np.cumsum(lengths)))
        # Items shorter than n contribute their whole word sequence as one "gram" of their own length.
        self.short: dict[int, dict[int, list[tuple[int, tuple[int, ...]]]]] = {}
        for i in range(len(self.items)):
            seq = ids[starts[i]:starts[i + 1]]
            size = min(n, len(seq))
            if size == 0:
                continue
            hashes, pos = _window_hashes(seq, np.zeros(len(seq), np.int64), size)
            table = self.grams if size == n else self.short.setdefault(size, {})
            for h, p in zip(hashes.tolist(), pos.tolist()):
                table.setdefault(h, []).append((i, tuple(seq[p:p + size].tolist())))
        self._embedder_spec = embedder
        self._item_vectors = None

    def _ids(self, words: pa.Array) -> np.ndarray:
        """1-based ids in the benchmark vocabulary; 0 for a word no benchmark turn has."""
        found = pc.fill_null(pc.index_in(words, value_set=self.vocab), -1)
        return found.to_numpy(zero_copy_only=False).astype(np.int64) + 1

    def _embed(self, texts: list[str]) -> np.ndarray:
        from chatsift.analysis.topics.embed import get_embedder

        if not hasattr(self, "_embedder"):
            self._embedder = get_embedder(self._embedder_spec)
            self._item_vectors = self._embedder.embed([it.text for it in self.items])
        return self._embedder.embed(texts)

    def match(self, texts: list[str | None], owners: np.ndarray, n_conversations: int) -> list[Match | None]:
        """The first match of each conversation; ``owners[k]`` is the conversation of ``texts[k]``."""
        out: list[Match | None] = [None] * n_conversations
        arr = pa.array([t or "" for t in texts], pa.string())
        norm = normalise(arr)
        if "exact" in self.methods:
            for k, t in enumerate(norm.to_pylist()):
                i = self.exact.get(t)
                if i is not None and out[owners[k]] is None:
                    out[owners[k]] = self._match("exact", i)
        if "ngram" in self.methods:
            self._ngrams(norm, owners, out)
        if "embedding" in self.methods:
            todo = [k for k in range(len(texts)) if out[owners[k]] is None and (texts[k] or "").strip()]
            for chunk in range(0, len(todo), 4096):
                part = todo[chunk:chunk + 4096]
                vectors = self._embed([texts[k] for k in part])
                sims = vectors @ self._item_vectors.T
                best = sims.argmax(axis=1)
                for k, i, s in zip(part, best, sims[np.arange(len(part)), best]):
                    if s >= self.threshold and out[owners[k]] is None:
                        out[owners[k]] = self._match("embedding", int(i), round(float(s), 4))
        return out

    def _ngrams(self, norm: pa.Array, owners: np.ndarray, out: list[Match | None]) -> None:
        words, text_of = _words(norm)
        if not len(words):
            return
        ids = self._ids(words)
        for size, table in [(self.n, self.grams), *sorted(self.short.items(), reverse=True)]:
            if not table:
                continue
            hashes, starts = _window_hashes(ids, text_of, size)
            keys = np.fromiter(table.keys(), np.uint64, len(table))
            for p in starts[np.isin(hashes, keys)].tolist():
                conversation = owners[text_of[p]]
                if out[conversation] is not None:
                    continue
                seq = tuple(ids[p:p + size].tolist())
                h = int(hashes[np.searchsorted(starts, p)])
                hit = next((i for i, s in table.get(h, []) if s == seq), None)
                if hit is not None:
                    out[conversation] = self._match("ngram", hit)

    def _match(self, method: str, i: int, score: float | None = None) -> Match:
        it = self.items[i]
        return Match(method, it.benchmark, it.item_id, it.turn, score)


def plant(edit: str, text: str, rng: random.Random) -> str:
    """A benchmark question with a small edit, as contamination arrives in real logs; the recall figures
    (tests, ``benchmarks/bench_safety.py``) plant these. ``reworded clause``: a question under 12 words
    gets a new opening clause, a longer one has three of its words rewritten."""
    if edit == "case":
        return text.upper() if rng.random() < 0.5 else text.lower()
    if edit == "punctuation":
        return text.replace(",", "").replace(".", " .").rstrip("?") + "!!"
    if edit != "reworded clause":
        raise ValueError(f"unknown edit {edit!r}; use {', '.join(PLANTED_EDITS)}")
    words = text.split()
    if len(words) < 12:
        return "Quick question, could you tell me: " + text
    i = rng.randrange(0, len(words) - 3)
    return " ".join([*words[:i], "put another way", *words[i + 3:]])
