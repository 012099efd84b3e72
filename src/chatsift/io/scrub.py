"""Mask private values in text that chatsift itself writes outside the release columns.

Quarantine excerpts and log messages can carry raw input (a FastChat log line holds the client IP),
so every such excerpt goes through the PII redactor and then ``scrub`` before it reaches disk.
"""

from __future__ import annotations

import re
from functools import lru_cache

_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])")
# Full and compressed IPv6 forms; at least three colons so times like 12:30 are left alone.
_IPV6 = re.compile(
    r"(?<![\w:])(?=[0-9a-fA-F:]*:[0-9a-fA-F:]*:[0-9a-fA-F:]*:)[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])"
)
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")


@lru_cache(maxsize=1)
def _redactor():
    from chatsift.stages.pii.redactor import Redactor

    return Redactor()


def redact_excerpt(text: str) -> str:
    """Every PII kind chatsift knows, replaced; then any IP or e-mail left (say, a local one) masked too."""
    redacted = _redactor().redact([text]).texts[0] or ""
    return scrub(redacted)


def scrub(text: str) -> str:
    """Replace IP addresses and e-mail addresses with placeholders."""
    text = _IPV4.sub("<IP>", text)
    text = _IPV6.sub("<IP>", text)
    return _EMAIL.sub("<EMAIL>", text)


def excerpt(raw: bytes | str | None, limit: int) -> str:
    """A clipped, scrubbed, printable excerpt of a raw record.

    The text is scrubbed before it is clipped, so a value straddling the cut is still masked.
    """
    if raw is None:
        return ""
    window = raw[: limit * 4 + 256]
    if isinstance(window, bytes):
        text = window.decode("utf-8", errors="backslashreplace")
    else:
        text = window.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace")
    out = redact_excerpt(text)
    truncated = len(out) > limit or len(raw) > len(window)
    return out[:limit] + ("…" if truncated else "")
