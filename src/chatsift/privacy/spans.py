"""PII kinds, found spans, and how overlapping findings are resolved."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from chatsift.schema import PII_KINDS

# Placeholder stems, in the order used when two findings overlap (higher wins): a secret inside a
# URL is a secret; an e-mail is not also a name; a card number is not also a phone number.
KINDS: tuple[str, ...] = PII_KINDS
PLACEHOLDER = {
    "secret": "SECRET",
    "url": "URL",
    "email": "EMAIL",
    "iban": "IBAN",
    "credit_card": "CREDIT_CARD",
    "ssn": "SSN",
    "ip_address": "IP_ADDRESS",
    "phone": "PHONE",
    "address": "ADDRESS",
    "name": "NAME",
}
PRIORITY = {kind: len(KINDS) - i for i, kind in enumerate(KINDS)}


class ScanTimeout(Exception):
    """A message took longer than its time budget to scan."""


@dataclass(slots=True)
class Span:
    start: int
    end: int
    kind: str
    value: str

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


class IntervalSet:
    """Disjoint intervals kept sorted by start; overlap checks and inserts by bisection."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start)
        if i > 0 and self.ends[i - 1] > start:
            return True
        return i < len(self.starts) and self.starts[i] < end

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans: higher priority first, then longer, then earlier (n log n)."""
    taken = IntervalSet()
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (-PRIORITY[s.kind], -(s.end - s.start), s.start)):
        if span.end > span.start and not taken.overlaps(span.start, span.end):
            taken.add(span.start, span.end)
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


@runtime_checkable
class NameFinder(Protocol):
    """What the redactor asks of a person-name finder (the trained tagger, the spaCy cascade, Presidio)."""

    def prepare(self, language: str | None) -> None:
        """Load what ``language`` needs before any message's time budget starts."""

    def find(self, text: str, deadline: float | None = None, language: str | None = None) -> Iterator[Span]:
        """The ``name`` spans of ``text``; raises ``ScanTimeout`` past ``deadline``."""

    def name_part_ok(self, word: str) -> bool:
        """Whether one word of a found full name may be replaced wherever it recurs in the conversation."""


@runtime_checkable
class BatchNameFinder(NameFinder, Protocol):
    """A finder that reads a whole batch's texts at once before ``find`` is asked per text (spaCy)."""

    def prefetch(self, texts: Iterable[tuple[str | None, str | None]]) -> None:
        """Read ``(text, language)`` pairs ahead; ``find`` then answers from what was read."""
