"""Per-record duplicate keys: exact hash, MinHash-LSH band hashes and a template frame hash.

All three read only user turns, normalised (case-folded, punctuation and spacing removed), because
the same prompt sent to different models is the duplicate that matters (the paper's blind spot: the
community clean-up found exact dedup alone halves LMSYS-Chat-1M). Keys are internal ``_`` columns
that the duplicate-group stage reduces; 0 means "no key".

- exact: 64-bit BLAKE2b of all user turns.
- near: MinHash (rensa) over word 3-grams (CJK, kana and hangul count as one word per character),
  split into bands; two records sharing any band hash are near-duplicate candidates.
- template: the first ``prefix_tokens`` and last ``suffix_tokens`` words of the first user message,
  digits masked. Script-generated prompts share that frame while the slot in between changes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from chatsift.common.repeats import RepeatCache
from chatsift.common.text_keys import hash64, shingles, template_key, tokens
from chatsift.pipeline.stage import BatchStage, set_column
from chatsift.stages.settings import DuplicatesConfig

EXACT = "_exact_hash"
TEMPLATE = "_template_hash"

_MASK64 = (1 << 64) - 1


def band_column(i: int) -> str:
    return f"_band_{i}"


class DuplicateSignatures(BatchStage):
    name = "duplicate_signatures"
    inputs = ("conversation",)

    def __init__(self, config: DuplicatesConfig) -> None:
        self.config = config
        near = config.near
        outs = [EXACT, TEMPLATE]
        if near.enabled:
            outs.extend(band_column(i) for i in range(near.bands))
        self.outputs = tuple(outs)
        # Odd multipliers mix the rows of a band into one 64-bit value (wrapping arithmetic).
        rng = np.random.default_rng(near.seed)
        rows = near.num_perm // near.bands
        self._mix = (rng.integers(1, 2**62, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1))
        # Conversations whose user turns were seen before (the same prompt asked again) reuse their signatures.
        self._seen = RepeatCache(max_chars=8_192, max_entries=100_000)

    def describe(self) -> str:
        n, t = self.config.near, self.config.template
        parts = ["exact hash of normalised user turns"]
        if n.enabled:
            parts.append(f"MinHash {n.num_perm} perms, {n.bands} bands, word {n.shingle}-grams")
        if t.enabled:
            parts.append(f"template frame {t.prefix_tokens}+{t.suffix_tokens} words")
        return "; ".join(parts)

    def process_batch(self, batch: pa.Table) -> pa.Table:
        cfg = self.config
        convs = batch.column("conversation").to_pylist()
        exact, template, docs, keys = [], [], [], []
        repeats: dict[int, np.ndarray | None] = {}  # row -> its bands, known from an earlier conversation
        for row, messages in enumerate(convs):
            users = [m["content"] for m in messages or [] if m["role"] == "user" and m["content"]]
            key = self._seen.key("\x1f".join(users)) if users else None
            known = self._seen.get(key)
            keys.append(key)
            if known is not None:  # the same user turns: the same signatures
                exact.append(known[0])
                template.append(known[1])
                docs.append(None)
                repeats[row] = known[2]
                continue
            user_toks = [tokens(text) for text in users]
            flat = [t for toks in user_toks for t in toks]
            exact.append(hash64("\x1f".join(" ".join(t) for t in user_toks)) if flat and cfg.exact else 0)
            template.append(
                template_key(user_toks[0], cfg.template.prefix_tokens, cfg.template.suffix_tokens)
                if user_toks and cfg.template.enabled else 0
            )
            docs.append(shingles(flat[: cfg.near.max_tokens], cfg.near.shingle) if flat else None)
        batch = set_column(batch, EXACT, pa.array(exact, pa.uint64()))
        batch = set_column(batch, TEMPLATE, pa.array(template, pa.uint64()))
        bands = self._bands(docs) if cfg.near.enabled else None
        for row, key in enumerate(keys):
            if row in repeats:
                if bands is not None:
                    bands[row] = repeats[row]
            else:
                self._seen.put(key, (exact[row], template[row], None if bands is None else bands[row].copy()))
        if bands is not None:
            for i in range(cfg.near.bands):
                batch = set_column(batch, band_column(i), pa.array(bands[:, i], pa.uint64()))
        return batch

    def _bands(self, docs: list[list[str] | None]) -> np.ndarray:
        from rensa import RMinHash

        near = self.config.near
        out = np.zeros((len(docs), near.bands), dtype=np.uint64)
        present = [i for i, d in enumerate(docs) if d]
        if not present:
            return out
        matrix = RMinHash.digest_matrix_from_token_sets([docs[i] for i in present], num_perm=near.num_perm,
                                                        seed=near.seed)
        digests = np.array(matrix.to_rows(), dtype=np.uint64).reshape(len(present), near.bands, -1)
        with np.errstate(over="ignore"):
            mixed = (digests * self._mix).sum(axis=2, dtype=np.uint64)
            mixed ^= np.arange(1, near.bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        mixed[mixed == 0] = 1
        out[present] = mixed
        return out
