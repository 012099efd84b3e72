"""Redact one conversation: find spans in every message, number them, replace them.

Placeholders follow LMSYS-Chat-1M: ``NAME_1``, ``NAME_2``, ... numbered per conversation in order
of first appearance, the same value always the same number; other kinds get ``EMAIL_1``,
``PHONE_1``, ... the same way. A name found once is also replaced where it recurs in the
conversation, and a first name or surname on its own takes the number of the full name it belongs
to. Every message has a time budget; a message that exceeds it is withheld and the conversation
gets the ``pii_timeout`` reason, so unscanned text never passes silently.

Placeholders already in the input (LMSYS-Chat-1M's own ``NAME_1``, or a release curated again) are
kept as they are and counted apart (``preexisting``); new numbers of a kind start after the highest
one present, so that a new person never takes the number of one redacted before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from chatsift.common.repeats import RepeatCache
from chatsift.privacy.address import find_addresses
from chatsift.privacy.name_tagger import LearnedNameFinder
from chatsift.privacy.secrets import find_secrets
from chatsift.privacy.spans import (
    KINDS,
    PLACEHOLDER,
    IntervalSet,
    NameFinder,
    ScanTimeout,
    Span,
    resolve_overlaps,
)
from chatsift.privacy.structured import find_structured

WITHHELD = "[message withheld: the PII scan did not finish in its time budget]"
MAX_PROPAGATED_NAMES = 500
# Case and possessive endings a recurring name may take (German/English genitive, Slavic cases).
INFLECTIONS = ("'s", "’s", "s", "a", "u", "e", "om", "em", "ovi", "ou", "i", "y", "ho", "mu", "ym", "ом", "ем", "а",
               "у", "е", "ы", "ой", "ым", "ою")
WINDOW, OVERLAP = 65_536, 8_192  # long texts are scanned in windows (see Redactor.find)
# The repeat cache: texts up to 8k characters, keyed by a 128-bit digest (not the text, which it would keep
# alive), about 250 bytes an entry; emptied when full.
SEEN_MAX_CHARS, SEEN_MAX_TEXTS = 8_192, 250_000
# A whole token only: "USER_NAME_1" in code is an identifier, not a placeholder.
_PLACEHOLDER_TOKEN = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(PLACEHOLDER.values(), key=len, reverse=True))
                                + r")_(\d{1,9})(?![A-Za-z0-9_])")
_KIND_OF = {stem: kind for kind, stem in PLACEHOLDER.items()}


@dataclass
class RedactionResult:
    texts: list[str | None]
    counts: dict[str, int]
    spans: list[dict] = field(default_factory=list)  # {message, start, end, kind, placeholder}
    timed_out: bool = False
    preexisting: dict[str, int] = field(default_factory=dict)  # placeholders that were in the input, per kind

    @property
    def changed(self) -> bool:
        return any(self.counts.values()) or self.timed_out or any(self.preexisting.values())


def existing_placeholders(texts: list[str | None]) -> tuple[dict[str, int], dict[str, int]]:
    """(count, highest number) per kind of the placeholders already in the texts."""
    counts = dict.fromkeys(KINDS, 0)
    highest = dict.fromkeys(KINDS, 0)
    for text in texts:
        if text and "_" in text:
            for m in _PLACEHOLDER_TOKEN.finditer(text):
                kind = _KIND_OF[m.group(1)]
                counts[kind] += 1
                highest[kind] = max(highest[kind], int(m.group(2)))
    return counts, highest


def _key(span: Span) -> str:
    v = span.value
    if span.kind in {"phone", "credit_card", "ssn"}:
        return "".join(c for c in v if c.isdigit())
    if span.kind == "iban":
        return v.replace(" ", "").upper()
    return " ".join(v.lower().split())


class Redactor:
    """The default, offline PII detector: validated patterns, secrets, addresses and names (the trained
    name tagger unless ``name_finder`` gives another)."""

    def __init__(self, kinds: frozenset[str] | None = None, time_budget_s: float = 2.0,
                 name_finder: NameFinder | None = None) -> None:
        self.kinds = frozenset(KINDS) if kinds is None else kinds
        self.time_budget_s = time_budget_s
        self.names = name_finder if name_finder is not None else (
            LearnedNameFinder() if "name" in self.kinds else None)
        # The spans of a short text already scanned, per language (chat logs repeat themselves).
        self._seen = RepeatCache(SEEN_MAX_CHARS, SEEN_MAX_TEXTS)

    def find(self, text: str, deadline: float | None = None, language: str | None = None) -> list[Span]:
        """Resolved, non-overlapping spans in ``text``.

        A long text is scanned in overlapping windows with the deadline checked between them, so the
        time budget holds inside every detector, not only between detectors. The overlap is longer
        than any value a detector matches (a PEM key included), so a value cut by one window's edge is
        whole in the next.
        """
        if len(text) <= WINDOW:
            return self._find(text, deadline, language)
        spans: list[Span] = []
        for start in range(0, len(text), WINDOW - OVERLAP):
            _check(deadline)
            for span in self._find(text[start : start + WINDOW], deadline, language):
                spans.append(Span(span.start + start, span.end + start, span.kind, span.value))
            if start + WINDOW >= len(text):
                break
        return resolve_overlaps(spans)

    def _find(self, text: str, deadline: float | None = None, language: str | None = None) -> list[Span]:
        spans = list(find_secrets(text, self.kinds))
        _check(deadline)
        spans.extend(find_structured(text, self.kinds))
        _check(deadline)
        if "address" in self.kinds:
            spans.extend(find_addresses(text))
            _check(deadline)
        if self.names is not None:
            spans.extend(self.names.find(text, deadline, language))
            _check(deadline)
        # Text that is already a placeholder (a re-run over a release) is left alone.
        if "_" in text:  # a placeholder inside a finding wins: the value is already gone
            held = IntervalSet()
            for m in _PLACEHOLDER_TOKEN.finditer(text):
                held.add(m.start(), m.end())
            if held.starts:
                spans = [s for s in spans if not held.overlaps(s.start, s.end)]
        return resolve_overlaps(spans)

    def redact(self, texts: list[str | None], language: str | None = None) -> RedactionResult:
        """Redact the texts of one conversation (messages in order; None stays None).

        ``language``: the conversation's ISO 639-1 code, when known: its common words are words, not
        names, even capitalised ("Im Januar", "Les", "Описание")."""
        found: list[list[Span]] = []
        timeouts: set[int] = set()
        if self.names is not None:
            self.names.prepare(language)  # one-time loading never counts against a message's budget
        for i, text in enumerate(texts):
            if not text:
                found.append([])
                continue
            key = self._seen.key(text, language)
            seen = self._seen.get(key)
            if seen is not None:
                found.append([Span(*s) for s in seen])
                continue
            deadline = time.perf_counter() + self.time_budget_s
            try:
                spans = self.find(text, deadline, language)
                found.append(spans)
                self._seen.put(key, tuple((s.start, s.end, s.kind, s.value) for s in spans))
            except ScanTimeout:
                found.append([])
                timeouts.add(i)
        if self.names is not None:
            found = self._propagate_names(texts, found)
        result = self._replace(texts, found)
        if timeouts:
            result.texts = [WITHHELD if i in timeouts else t for i, t in enumerate(result.texts)]
            result.timed_out = True
        return result

    def _propagate_names(self, texts: list[str | None], found: list[list[Span]]) -> list[list[Span]]:
        surfaces: set[str] = set()
        for spans in found:
            for s in spans:
                if s.kind == "name":
                    surfaces.add(s.value)
                    parts = s.value.split()
                    if len(parts) > 1:
                        # A part recurs as the same person only when it cannot be an ordinary word.
                        surfaces.update(p for p in parts if len(p) > 2 and p[:1].isupper() and not p.endswith(".")
                                        and self.names.name_part_ok(p))
        if not surfaces:
            return found
        # Every name is looked for in every message (longest first, so "Ana Lima" beats "Ana"). A name of
        # four letters or more also recurs inflected ("Bismarcks", "Markovića", "Петрова") and keeps its
        # number: the span covers the inflected word, its value is the name as found.
        ordered = sorted(surfaces, key=len, reverse=True)[:MAX_PROPAGATED_NAMES]
        out = []
        for text, spans in zip(texts, found):
            if not text:
                out.append(spans)
                continue
            taken = IntervalSet()
            for s in spans:
                taken.add(s.start, s.end)
            extra = []
            for pos, end, base in _recurrences(text, ordered):
                bounded = (pos == 0 or not text[pos - 1].isalnum()) and (end == len(text) or not text[end].isalnum())
                if bounded and not taken.overlaps(pos, end):
                    extra.append(Span(pos, end, "name", base))
            out.append(resolve_overlaps(spans + extra) if extra else spans)
        return out

    def _replace(self, texts: list[str | None], found: list[list[Span]]) -> RedactionResult:
        numbers: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        preexisting, issued = existing_placeholders(texts)
        name_parts: dict[str, int] = {}
        counts = dict.fromkeys(KINDS, 0)
        records: list[dict] = []
        out: list[str | None] = []
        for i, (text, spans) in enumerate(zip(texts, found)):
            if text is None:
                out.append(None)
                continue
            placeholders = []
            for span in spans:
                table = numbers[span.kind]
                key = _key(span)
                if key not in table:
                    part = _name_part_of(key, name_parts) if span.kind == "name" and " " not in key else None
                    if part is not None:
                        table[key] = name_parts[part]
                    else:
                        issued[span.kind] += 1
                        table[key] = issued[span.kind]
                    if span.kind == "name":
                        for part in key.split():
                            name_parts.setdefault(part, table[key])
                placeholder = f"{PLACEHOLDER[span.kind]}_{table[key]}"
                placeholders.append(placeholder)
                counts[span.kind] += 1
                records.append({"message": i, "start": span.start, "end": span.end, "kind": span.kind,
                                "placeholder": placeholder})
            pieces, last = [], 0
            for span, placeholder in zip(spans, placeholders):
                pieces.append(text[last : span.start])
                pieces.append(placeholder)
                last = span.end
            pieces.append(text[last:])
            out.append("".join(pieces))
        return RedactionResult(out, counts, records, preexisting=preexisting)


def _recurrences(text: str, ordered: list[str]) -> Iterator[tuple[int, int, str]]:
    """Where the names recur, as one left-to-right scan for any of them would find them: at each place the
    first name of ``ordered`` (longest first) that starts there, with the first of ``INFLECTIONS`` that
    follows it, the scan going on after both. ``str.find`` per name: a compiled alternation costs more
    than the scan for the few names a conversation has."""
    starts = []
    for rank, name in enumerate(ordered):
        pos = text.find(name)
        while pos >= 0:
            starts.append((pos, rank))
            pos = text.find(name, pos + 1)
    scanned = 0
    for pos, rank in sorted(starts):
        if pos < scanned:
            continue
        base = ordered[rank]
        end = pos + len(base)
        ending = next((e for e in INFLECTIONS if text.startswith(e, end)), "")
        scanned = end + len(ending)
        # "Ana" + "s" is no inflection worth the risk: only names of four letters or more recur inflected.
        yield pos, (end + len(ending) if len(base) >= 4 else end), base


def _name_part_of(word: str, name_parts: dict[str, int]) -> str | None:
    """The part of a full name already numbered that ``word`` is, as it is or inflected ("петрова" after
    "Иван Петров", "bismarcks" after "Otto von Bismarck"; four letters or more, as in ``_recurrences``)."""
    if word in name_parts:
        return word
    for ending in INFLECTIONS:
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 4 and stem in name_parts:
            return stem
    return None


def _check(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise ScanTimeout
