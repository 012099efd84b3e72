"""Keys for comparing texts: case-folded word tokens (CJK, kana and hangul one word per character), 64-bit
hashes, word n-gram shingles, and the template key of a prompt (its first and last words, digits masked).

Ground floor: the duplicate stage, the topic map and the instruction-tuning selection all use them.
"""

from __future__ import annotations

import hashlib
import re

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+")


def hash64(text: str) -> int:
    value = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
    return value or 1  # 0 is reserved for "no key"


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def shingles(toks: list[str], n: int) -> list[str]:
    if len(toks) <= n:
        return [" ".join(toks)]
    return [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def template_key(toks: list[str], prefix: int, suffix: int) -> int:
    if len(toks) < prefix + suffix + 1:
        return 0
    masked = ["0" if t.isdigit() else t for t in toks]
    return hash64(" ".join(masked[:prefix]) + "\x1f" + " ".join(masked[-suffix:]))
