"""Mask private values in text that chatsift itself writes outside the release columns.

Quarantine excerpts and log messages can carry raw input (a FastChat log line holds the client IP),
so every such excerpt goes through the PII redactor and then ``scrub`` before it reaches disk.
A raw record is mostly JSON, whose escapes hide the boundaries detectors need ("Hi\\nJohn Smith",
"\\u0041KIA..."): excerpts are redacted on the decoded text, then clipped.
"""

from __future__ import annotations

import re
from functools import lru_cache

_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|[01]?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d?\d)(?![\d.])")
# Full and compressed IPv6 forms; at least three colons so times like 12:30 are left alone.
_IPV6 = re.compile(
    r"(?<![\w:])(?=[0-9a-fA-F:]*:[0-9a-fA-F:]*:[0-9a-fA-F:]*:)[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])"
)
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")


@lru_cache(maxsize=1)
def _redactor():
    from chatsift.privacy.redactor import Redactor

    return Redactor()


def redact_excerpt(text: str) -> str:
    """Every PII kind chatsift knows, replaced; then any IP or e-mail left (say, a local one) masked too.
    Also what warnings and log messages that may quote input go through."""
    redacted = _redactor().redact([decode_escapes(text)]).texts[0] or ""
    return scrub(redacted)


# Kinds looked for in metadata (ids, model names, file names): the ones that cannot be mistaken for an
# ordinary id. Phones, cards and SSNs are left out: numeric ids would match them.
METADATA_KINDS = frozenset({"secret", "url", "email", "ip_address"})


@lru_cache(maxsize=1)
def _metadata_redactor():
    from chatsift.privacy.redactor import Redactor

    return Redactor(METADATA_KINDS)


def redact_value(value: str) -> tuple[str, dict[str, int]]:
    """A metadata value with secrets, credential URLs, e-mails and personal IPs (leading zeros too)
    replaced by their bare kind ("IP_ADDRESS": no number, as the value is no conversation's text); the
    counts per kind. Only validated findings count (private and documentation ranges, "v1.2.3.4"
    versions stay); four bare numbers that form a public address are masked, privacy first."""
    spans = _metadata_redactor().find(value)
    if not spans:
        return value, {}
    from chatsift.privacy.spans import PLACEHOLDER

    pieces, last, counts = [], 0, {}
    for span in spans:
        pieces += [value[last : span.start], PLACEHOLDER[span.kind]]
        last = span.end
        counts[span.kind] = counts.get(span.kind, 0) + 1
    pieces.append(value[last:])
    return "".join(pieces), counts


def scrub(text: str) -> str:
    """Replace IP addresses and e-mail addresses with placeholders."""
    text = _IPV4.sub("<IP>", text)
    text = _IPV6.sub("<IP>", text)
    return _EMAIL.sub("<EMAIL>", text)


_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def decode_escapes(text: str) -> str:
    """JSON string escapes turned into the characters they stand for (lone surrogates become U+FFFD)."""
    if "\\" not in text:
        return text

    def one(m: re.Match) -> str:
        if m.group(2):
            return _SIMPLE[m.group(2)]
        return chr(int(m.group(1), 16))

    decoded = _JSON_ESCAPE.sub(one, text)
    # \ud83d\ude00 pairs decode to two surrogates: join them, and replace any left alone.
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def excerpt(raw: bytes | str | None, limit: int) -> str:
    """A clipped, redacted, printable excerpt of a raw record.

    JSON escapes are decoded first and the text is redacted before it is clipped, so neither an escape
    in front of a value nor a value straddling the cut lets it through.
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


_FILE_SUFFIX = re.compile(r"\.(?:jsonl|json|ndjson|parquet|csv|tsv|txt|log|zip|tar)(?:\.(?:gz|bz2|xz|zst|zstd))?$",
                          re.IGNORECASE)


@lru_cache(maxsize=65536)
def public_label(label: str) -> str:
    """An input file's name as outputs show it (manifest, card, quarantine, exclusions, the work folder's
    plan): an e-mail, token or credential in any part of the path replaced, as in the release's
    ``source.file`` column. Each part is redacted without its extension (``.jsonl.gz``), which an e-mail's
    domain would otherwise swallow, and any e-mail the validated detectors left (one glued to the next
    word by a hyphen) is masked all the same."""
    parts = []
    for part in label.split("/"):
        suffix = _FILE_SUFFIX.search(part)
        stem, ext = (part[: suffix.start()], suffix.group()) if suffix and suffix.start() else (part, "")
        parts.append(_EMAIL.sub("EMAIL", redact_value(stem)[0]) + ext)
    return "/".join(parts)
