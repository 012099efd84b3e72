"""Audit a finished release for PII that is still there, at high recall.

Two passes over every message: the release detectors themselves (anything they find now is a
residual the release missed or kept), and loose detectors that trade precision for recall: any
e-mail-like token, any run of 7+ digits, Luhn-valid numbers whatever their prefix, any IPv4-like
quad, long high-entropy tokens, and capitalised given names from the gazetteer. Placeholders
(``NAME_1``, ``EMAIL_2``, ...) are skipped. The report counts candidates per kind and per 10,000
messages and shows masked excerpts, so a team can decide before publishing.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import re2

from chatsift.stages.pii.names import gazetteers
from chatsift.stages.pii.redactor import _PLACEHOLDER_TOKEN, Redactor
from chatsift.stages.pii.structured import _OPTS, gend, gstart

_LOOSE = {
    "email_like": re2.compile(r"(?P<v>[^\s@<>()\[\]\"']{1,64}@[^\s@<>()\[\]\"']{1,253}\.[A-Za-z]{2,24})", _OPTS),
    "number_sequence": re2.compile(r"(?P<v>\+?\d(?:[ .()/-]{0,2}\d){6,18})", _OPTS),
    "ip_like": re2.compile(r"(?P<v>(?:\d{1,3}\.){3}\d{1,3})", _OPTS),
    "secret_like": re2.compile(r"(?P<v>[A-Za-z0-9_\-+/=]{24,256})", _OPTS),
    "name_like": re2.compile(r"(?P<v>\p{Lu}\p{Ll}{2,20})", _OPTS),
}


def shannon_entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(c / len(token) * math.log2(c / len(token)) for c in counts.values())


def mask(value: str) -> str:
    """Enough of a value to recognise its shape, not enough to read it (at most a fifth shows)."""
    keep = min(2, len(value) // 10)
    if keep == 0:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


@dataclass
class AuditReport:
    messages: int = 0
    conversations: int = 0
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def per_10k(self) -> dict[str, float]:
        return {k: round(v / max(self.messages, 1) * 10_000, 2) for k, v in sorted(self.counts.items())}

    def to_dict(self) -> dict:
        return {"messages": self.messages, "conversations": self.conversations,
                "counts": dict(sorted(self.counts.items())),
                "per_10k_messages": self.per_10k(), "examples": {k: v for k, v in sorted(self.examples.items())}}


class Auditor:
    def __init__(self, examples_per_kind: int = 5) -> None:
        self.redactor = Redactor()
        self.examples_per_kind = examples_per_kind
        self.g = gazetteers()

    def candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        held = [(m.start(), m.end()) for m in _PLACEHOLDER_TOKEN.finditer(text)] if "_" in text else []

        def free(s: int, e: int) -> bool:
            return not any(s < he and hs < e for hs, he in held)

        for span in self.redactor.find(text):
            if free(span.start, span.end):
                yield f"residual_{span.kind}", span.start, span.end
        for kind, pattern in _LOOSE.items():
            if kind == "email_like" and "@" not in text:
                continue
            for m in pattern.finditer(text):
                s, e, value = gstart(m, "v"), gend(m, "v"), m.group("v")
                if not free(s, e) or not self._keep(kind, value):
                    continue
                yield kind, s, e

    def _keep(self, kind: str, value: str) -> bool:
        if kind == "number_sequence":
            digits = "".join(c for c in value if c.isdigit())
            return len(set(digits)) > 2
        if kind == "secret_like":
            classes = sum(any(f(c) for c in value) for f in (str.islower, str.isupper, str.isdigit))
            return classes >= 3 and shannon_entropy(value) >= 4.0
        if kind == "name_like":
            w = value.lower()
            return self.g.given.get(w, 0) >= 5 and w not in self.g.dictionary and w not in self.g.not_names
        return True

    def audit(self, release: Path) -> AuditReport:
        report = AuditReport()
        shards = sorted((release / "data").glob("*.parquet"))
        for shard in shards:
            pf = pq.ParquetFile(shard)
            for batch in pf.iter_batches(batch_size=2000, columns=["conversation"]):
                for conv in batch.column(0).to_pylist():
                    report.conversations += 1
                    for msg in conv or []:
                        text = msg["content"] or ""
                        report.messages += 1
                        found = list(self.candidates(text))
                        for kind, s, e in found:
                            report.counts[kind] += 1
                            if len(report.examples[kind]) < self.examples_per_kind:
                                report.examples[kind].append(self._excerpt(text, s, e, found))
        return report

    @staticmethod
    def _excerpt(text: str, start: int, end: int, found: list[tuple[str, int, int]]) -> str:
        """Context around one candidate with every candidate in it masked; the one shown is bracketed."""
        lo, hi = max(0, start - 40), min(len(text), end + 40)
        pieces, pos = [], lo
        for s, e in sorted({(s, e) for _, s, e in found if s < hi and e > lo} | {(start, end)}):
            s, e = max(s, pos), min(e, hi)
            if s < pos or s >= e:
                continue
            pieces.append(text[pos:s])
            pieces.append(f"[{mask(text[s:e])}]" if (s, e) == (start, end) else mask(text[s:e]))
            pos = e
        pieces.append(text[pos:hi])
        return "…" + "".join(pieces).replace("\n", " ") + "…"
