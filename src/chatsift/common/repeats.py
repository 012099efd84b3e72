"""A per-process memory of what a stage found in texts it has already read.

Chat logs repeat themselves ("hi", templated prompts, the same question asked again), so a stage
that reads one text at a time (the PII scan, language ID, dedup signatures) keeps its answer for a
short text and answers a repeat with a dictionary lookup. Keys are a 128-bit digest of the text, not
the text, which the cache would otherwise keep alive; the cache is emptied when full, which bounds
its memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from typing import Any


class RepeatCache:
    def __init__(self, max_chars: int, max_entries: int) -> None:
        self.max_chars = max_chars
        self.max_entries = max_entries
        self._answers: dict[tuple, Any] = {}

    def key(self, text: str, *context: Hashable) -> tuple | None:
        """The key of ``text`` read in ``context`` (a language, say); None for a text too long to keep."""
        if len(text) > self.max_chars:
            return None
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest(), *context

    def get(self, key: tuple | None) -> Any:
        return None if key is None else self._answers.get(key)

    def put(self, key: tuple | None, answer: Any) -> None:
        if key is None:
            return
        if len(self._answers) >= self.max_entries:
            self._answers.clear()
        self._answers[key] = answer

    def __len__(self) -> int:
        return len(self._answers)
