"""Text features for the local moderator: word 1-2-grams and character 2-5-grams, TF-IDF, per batch in Arrow.

Texts are cut to ``max_chars``, lower-cased and split on anything that is not a letter, digit or
apostrophe (Arrow's RE2 kernels). Word unigrams and bigrams are looked up in the vocabulary with
``index_in``. Character n-grams of each word padded with spaces (scikit-learn's ``char_wb``) are
computed once per distinct word of the batch, not per occurrence, and reach the texts through a
sparse (texts x words) product. No Python loop runs per token, which is what keeps the moderator
above 20,000 messages a second. Each block is sublinear TF-IDF with unit length per text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp

from chatsift.errors import ConfigError

SPLIT = r"[^\p{L}\p{N}']+"
CHAR_SIZES = (2, 3, 4, 5)
MAX_WORD_CHARS = 24  # longer words (hashes, base64) contribute their first characters only
LS = pa.large_string()


@dataclass
class Tokens:
    """The words of ``n`` texts, flattened: ``words[i]`` belongs to text ``doc[i]``."""

    n: int
    words: pa.Array
    doc: np.ndarray


def tokenize(texts: list[str | None] | pa.Array, max_chars: int) -> Tokens:
    arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.fill_null(arr.cast(LS), "")
    arr = pc.utf8_lower(pc.utf8_slice_codeunits(arr, 0, max_chars))
    ascii_text = pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
    if ascii_text.all():
        words, doc = _split_ascii(arr)
        return Tokens(len(arr), words, doc)
    if not ascii_text.any():
        words, doc = _split_regex(arr)
        return Tokens(len(arr), words, doc)
    # Each text goes one way; a stable sort by text puts the words back in their order.
    ascii_rows, other_rows = np.flatnonzero(ascii_text), np.flatnonzero(~ascii_text)
    a_words, a_doc = _split_ascii(arr.take(pa.array(ascii_rows)))
    o_words, o_doc = _split_regex(arr.take(pa.array(other_rows)))
    doc = np.concatenate([ascii_rows[a_doc], other_rows[o_doc]])
    order = np.argsort(doc, kind="stable")
    return Tokens(len(arr), pa.concat_arrays([a_words, o_words]).take(pa.array(order)), doc[order])


def _split_regex(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    lists = pc.split_pattern_regex(arr, SPLIT)
    flat = pc.list_flatten(lists)
    doc = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    keep = pc.not_equal(flat, "")
    return pc.filter(flat, keep), doc[keep.to_numpy(zero_copy_only=False)].astype(np.int64)


# SPLIT's word characters among ASCII bytes, after lower-casing: a-z, 0-9 and the apostrophe.
_ASCII_WORD = np.zeros(256, dtype=bool)
_ASCII_WORD[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789'", dtype=np.uint8)] = True


def _split_ascii(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """SPLIT's words of ASCII texts from their bytes with numpy (the regex kernel reads ~36 MB/s).

    A word's bytes are the maximal runs of word bytes within one text, so the words' data is the word
    bytes of the whole buffer in order, and only their offsets need computing."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    word = _ASCII_WORD[data]
    text_start = np.zeros(len(data) + 1, dtype=bool)
    text_start[offsets] = True
    starts = np.flatnonzero(word & (text_start[:-1] | ~np.concatenate(([False], word[:-1]))))
    ends = np.flatnonzero(word & (text_start[1:] | ~np.concatenate((word[1:], [False])))) + 1
    word_offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=word_offsets[1:])
    words = pa.Array.from_buffers(LS, len(starts), [None, pa.py_buffer(word_offsets), pa.py_buffer(data[word])])
    return words, np.searchsorted(offsets, starts, side="right").astype(np.int64) - 1


def word_terms(tok: Tokens) -> tuple[pa.Array, np.ndarray]:
    """Unigrams and within-text bigrams with the text each belongs to."""
    terms, docs = [tok.words], [tok.doc]
    if len(tok.words) > 1:
        same = tok.doc[:-1] == tok.doc[1:]
        if same.any():
            mask = pa.array(same)
            left = pc.filter(tok.words.slice(0, len(tok.words) - 1), mask)
            right = pc.filter(tok.words.slice(1), mask)
            terms.append(pc.binary_join_element_wise(left, right, pa.scalar(" ", LS)))
            docs.append(tok.doc[:-1][same])
    return pa.concat_arrays([t.cast(LS) for t in terms]), np.concatenate(docs)


def char_terms(words: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Character n-grams of each (distinct) word, padded with spaces; with the word's index."""
    space = pa.scalar(" ", LS)
    padded = pc.binary_join_element_wise(space, pc.utf8_slice_codeunits(words, 0, MAX_WORD_CHARS), space,
                                         pa.scalar("", LS))
    lengths = pc.utf8_length(padded).to_numpy(zero_copy_only=False)
    index = np.arange(len(words), dtype=np.int64)
    grams, owners = [], []
    for n in CHAR_SIZES:
        for start in range(MAX_WORD_CHARS + 2 - n + 1):
            fits = lengths >= start + n
            if not fits.any():
                break
            grams.append(pc.utf8_slice_codeunits(pc.filter(padded, pa.array(fits)), start, start + n))
            owners.append(index[fits])
    if not grams:
        return pa.array([], LS), np.zeros(0, np.int64)
    return pa.concat_arrays(grams), np.concatenate(owners)


def _lookup(terms: pa.Array, vocabulary: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    ids = pc.index_in(terms, value_set=vocabulary)
    valid = pc.is_valid(ids).to_numpy(zero_copy_only=False)
    return valid, pc.filter(ids, valid).to_numpy(zero_copy_only=False).astype(np.int64)


def _counts(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Occurrence counts as CSR without sorting (repeated pairs add up in products)."""
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((np.ones(len(rows), np.float32), cols[order], indptr), shape=shape)


def _presence(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Binary (row, col) presence as canonical CSR, built from one sort of int64 keys."""
    keys = np.sort(rows.astype(np.int64) * shape[1] + cols)  # numpy's SIMD sort beats its hash-based unique
    if len(keys):
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    rows, cols = np.divmod(keys, shape[1])
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((np.ones(len(keys), np.float32), cols, indptr), shape=shape)


def _document_frequency(terms: pa.Array, docs: np.ndarray) -> pa.Table:
    pairs = pa.table({"term": terms, "doc": docs}).group_by(["term", "doc"]).aggregate([])
    return pairs.group_by("term").aggregate([("doc", "count")])


def _select(df: pa.Table, n_docs: int, min_df: int, max_terms: int) -> tuple[pa.Array, np.ndarray]:
    df = df.filter(pc.greater_equal(df["doc_count"], min_df))
    df = df.sort_by([("doc_count", "descending"), ("term", "ascending")]).slice(0, max_terms)
    counts = df["doc_count"].to_numpy().astype(np.float64)
    return df["term"].combine_chunks().cast(LS), np.log((1 + n_docs) / (1 + counts)) + 1.0


@dataclass
class Featurizer:
    """Fitted vocabularies and IDF weights.

    A text's features are two blocks. Words (1-2-grams): presence times idf, unit length. Characters:
    for each n-gram, the number of the text's distinct words holding it, times idf, divided by
    ``sqrt(sum(count * idf**2))``. Both normalisers are sums, so a linear model's score is a chain of
    sparse products with dense weights (``project``) that never materialises the (texts x n-grams)
    matrix; ``matrix`` gives the same features explicitly for training.
    """

    word_vocab: pa.Array
    word_idf: np.ndarray
    char_vocab: pa.Array
    char_idf: np.ndarray
    max_chars: int = 4000

    @property
    def size(self) -> int:
        return len(self.word_vocab) + len(self.char_vocab)

    @classmethod
    def fit(cls, texts: list[str], min_df: int = 2, max_terms: int = 200_000, max_chars: int = 4000) -> Featurizer:
        tok = tokenize(texts, max_chars)
        terms, docs = word_terms(tok)
        word_vocab, word_idf = _select(_document_frequency(terms, docs), tok.n, min_df, max_terms)
        # Character n-grams per text: each distinct (text, word) pair contributes its word's n-grams.
        pairs = pa.table({"word": tok.words, "doc": tok.doc}).group_by(["word", "doc"]).aggregate([])
        encoded = pc.dictionary_encode(pairs["word"]).combine_chunks()
        grams, owner = char_terms(encoded.dictionary.cast(LS))
        gram_table = pa.table({"w": owner, "term": grams})
        pair_table = pa.table({"w": encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                               "doc": pairs["doc"].to_numpy()})
        joined = pair_table.join(gram_table, "w", join_type="inner")
        char_vocab, char_idf = _select(_document_frequency(joined["term"].combine_chunks(),
                                                           joined["doc"].to_numpy()), tok.n, min_df, max_terms)
        return cls(word_vocab, word_idf, char_vocab, char_idf, max_chars)

    def occurrences(self, texts: list[str | None] | pa.Array) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
        """Presence of (texts x word vocab), (texts x distinct words), (distinct words x char vocab)."""
        tok = tokenize(texts, self.max_chars)
        terms, docs = word_terms(tok)
        valid, ids = _lookup(terms, self.word_vocab)
        words = _presence(docs[valid], ids, (tok.n, len(self.word_vocab)))
        # Distinct words in sorted order, so that each text's sums run in the same order whatever else
        # is in the batch: scores must not depend on batching (the Ray and local releases are equal).
        encoded = pc.dictionary_encode(tok.words)
        order = pc.sort_indices(encoded.dictionary).to_numpy()
        distinct = encoded.dictionary.take(pa.array(order)).cast(LS)
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        grams, owner = char_terms(distinct)
        valid, ids = _lookup(grams, self.char_vocab)
        per_word = _counts(owner[valid], ids, (len(distinct), len(self.char_vocab)))
        seen = _presence(tok.doc, rank[encoded.indices.to_numpy(zero_copy_only=False)], (tok.n, len(distinct)))
        return words, seen, per_word

    def project(self, texts: list[str | None] | pa.Array, word_weights: np.ndarray,
                char_weights: np.ndarray) -> np.ndarray:
        """``features @ weights`` for (vocab x k) weight blocks, without building the features.

        Chat repeats itself ("hi", the same prompt again: about half the messages of a batch of 2,000
        LMSYS-shaped conversations), so each distinct text is scored once; a text's score does not
        depend on what else is in the batch, so this changes nothing but the time."""
        arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.string())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        encoded = pc.dictionary_encode(pc.fill_null(arr.cast(LS), ""))
        if len(encoded.dictionary) < len(arr):
            distinct = self._project(encoded.dictionary, word_weights, char_weights)
            return distinct[encoded.indices.to_numpy(zero_copy_only=False)]
        return self._project(arr, word_weights, char_weights)

    def _project(self, texts: pa.Array, word_weights: np.ndarray, char_weights: np.ndarray) -> np.ndarray:
        words, seen, per_word = self.occurrences(texts)
        wide_w = np.hstack([word_weights * self.word_idf[:, None], (self.word_idf ** 2)[:, None]]).astype(np.float32)
        wide_c = np.hstack([char_weights * self.char_idf[:, None], (self.char_idf ** 2)[:, None]]).astype(np.float32)
        w = words @ wide_w
        c = seen @ (per_word @ wide_c)  # n-grams per distinct word first: the cheap order
        return w[:, :-1] / _norm(w[:, -1])[:, None] + c[:, :-1] / _norm(c[:, -1])[:, None]

    def matrix(self, texts: list[str | None] | pa.Array) -> sp.csr_matrix:
        words, seen, per_word = self.occurrences(texts)
        return sp.hstack([_scale(words, self.word_idf), _scale(seen @ per_word, self.char_idf)], format="csr")


def save_featurizer(folder: Path, f: Featurizer, **arrays: np.ndarray) -> None:
    """``vocabulary.parquet`` and ``weights.npz`` (the IDF weights plus a model's ``arrays``)."""
    terms = pa.concat_arrays([f.word_vocab, f.char_vocab])
    blocks = ["w"] * len(f.word_vocab) + ["c"] * len(f.char_vocab)
    pq.write_table(pa.table({"term": terms, "block": pa.array(blocks)}), folder / "vocabulary.parquet",
                   compression="zstd")
    np.savez_compressed(folder / "weights.npz", word_idf=f.word_idf.astype(np.float32),
                        char_idf=f.char_idf.astype(np.float32), **arrays)


def read_model_meta(folder: Path, what: str, train_hint: str) -> dict:
    """``model.json`` of a model folder, or a ConfigError that says how to make one."""
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise ConfigError(f"{folder} is not a {what} folder (no model.json); train one with `{train_hint}`")
    return json.loads(meta_path.read_text(encoding="utf-8"))


def load_featurizer(folder: Path, max_chars: int) -> tuple[Featurizer, dict[str, np.ndarray]]:
    vocab = pq.read_table(folder / "vocabulary.parquet")
    block = vocab.column("block").to_numpy(zero_copy_only=False)
    terms = vocab.column("term").combine_chunks().cast(LS)
    with np.load(folder / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    featurizer = Featurizer(terms.filter(pa.array(block == "w")), arrays["word_idf"].astype(np.float64),
                            terms.filter(pa.array(block == "c")), arrays["char_idf"].astype(np.float64), max_chars)
    return featurizer, arrays


def _norm(squares: np.ndarray) -> np.ndarray:
    out = np.sqrt(np.maximum(squares, 0.0))
    out[out == 0] = 1.0
    return out


def _scale(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    norms = _norm(counts @ (idf ** 2))
    scaled = sp.diags(1.0 / norms) @ counts @ sp.diags(idf)
    return sp.csr_matrix(scaled, dtype=np.float32)
