"""Where chatsift keeps what it can make again: ground floor, read by every package that caches."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Where chatsift keeps what it can make again (models, embeddings, LLM answers, word lists):
    ``$CHATSIFT_CACHE``, else ``~/.cache/chatsift``."""
    return Path(os.environ.get("CHATSIFT_CACHE", Path.home() / ".cache" / "chatsift"))
