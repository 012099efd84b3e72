"""Audit a finished release for PII that is still there, at high recall.

Two passes over every message: the release detectors themselves (anything they find now is a
residual the release missed or kept), and loose detectors that trade precision for recall: any
e-mail-like token, any run of 7+ digits, Luhn-valid numbers whatever their prefix, any IPv4-like
quad, long high-entropy tokens, and capitalised given names from the gazetteer. Placeholders
(``NAME_1``, ``EMAIL_2``, ...) are skipped. The report counts candidates per kind and per 10,000
messages and shows masked excerpts, so a team can decide before publishing.

Beyond the messages, the system prompts, the metadata strings (ids, model, language, source file)
and the quarantine's excerpts and details are scanned too (``by_location``), since all of them are
published with a release.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import re2

from chatsift.privacy.redactor import _PLACEHOLDER_TOKEN, Redactor
from chatsift.privacy.scrub import METADATA_KINDS
from chatsift.privacy.structured import _OPTS, gend, gstart
from chatsift.privacy.wordlists import gazetteers

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
    by_location: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    other_texts: int = 0  # system prompts, metadata values and quarantine fields scanned

    def per_10k(self) -> dict[str, float]:
        return {k: round(v / max(self.messages, 1) * 10_000, 2) for k, v in sorted(self.counts.items())}

    def to_dict(self) -> dict:
        return {"messages": self.messages, "conversations": self.conversations, "other_texts": self.other_texts,
                "counts": dict(sorted(self.counts.items())),
                "by_location": {k: dict(sorted(v.items())) for k, v in sorted(self.by_location.items())},
                "per_10k_messages": self.per_10k(), "examples": {k: v for k, v in sorted(self.examples.items())}}


class Auditor:
    def __init__(self, examples_per_kind: int = 5) -> None:
        self.redactor = Redactor()
        self.metadata_redactor = Redactor(METADATA_KINDS)
        self.examples_per_kind = examples_per_kind
        self.g = gazetteers()

    def candidates(self, text: str, redactor: Redactor | None = None, loose: tuple[str, ...] = tuple(_LOOSE),
                   language: str | None = None) -> Iterator[tuple[str, int, int]]:
        held = [(m.start(), m.end()) for m in _PLACEHOLDER_TOKEN.finditer(text)] if "_" in text else []

        def free(s: int, e: int) -> bool:
            return not any(s < he and hs < e for hs, he in held)

        for span in (redactor or self.redactor).find(text, language=language):
            if free(span.start, span.end):
                yield f"residual_{span.kind}", span.start, span.end
        for kind in loose:
            pattern = _LOOSE[kind]
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
            return self.g.given.get(w, 0) >= 5 and w not in self.g.dictionary
        return True

    METADATA = ("conversation_id", "model", "language", "source.file")
    _METADATA_LOOSE = ("email_like", "ip_like", "secret_like")

    def _scan(self, report: AuditReport, text: str, location: str, metadata: bool = False,
              language: str | None = None) -> None:
        # ids are numbers and model names are names: metadata is held to the kinds an id cannot look like
        # Messages are read in their conversation's language, as curate redacted them ("una" is no name
        # in Spanish).
        found = list(self.candidates(text, self.metadata_redactor if metadata else self.redactor,
                                     self._METADATA_LOOSE if metadata else tuple(_LOOSE), language))
        for kind, s, e in found:
            report.counts[kind] += 1
            report.by_location[location][kind] += 1
            if len(report.examples[kind]) < self.examples_per_kind:
                report.examples[kind].append(f"({location}) " + self._excerpt(text, s, e, found))

    @staticmethod
    def _codes(data: dict) -> list[str | None]:
        """Each conversation's ISO code: the full schema's ``language_code``, else the LMSYS ``language``
        name ("Spanish") mapped back."""
        if "language_code" in data:
            return data["language_code"]
        if "language" in data:
            from chatsift.common.language import language_names

            codes = {name: code for code, name in language_names().items()}
            return [codes.get(name) for name in data["language"]]
        return [None] * len(data["conversation"])

    def audit(self, release: Path) -> AuditReport:
        report = AuditReport()
        shards = sorted((release / "data").glob("*.parquet"))
        for shard in shards:
            pf = pq.ParquetFile(shard)
            names = set(pf.schema_arrow.names)
            extra = [c for c in ("system_prompt", *self.METADATA) if c in names]
            code_column = ["language_code"] if "language_code" in names else []
            tools = ["tools.events"] if "tools.events" in names else []
            for batch in pf.iter_batches(batch_size=2000, columns=["conversation", *extra, *code_column, *tools]):
                data = batch.to_pydict()
                events = data["tools.events"] if tools else [None] * batch.num_rows
                for conv, language, conv_events in zip(data["conversation"], self._codes(data), events):
                    report.conversations += 1
                    for msg in conv or []:
                        report.messages += 1
                        self._scan(report, msg["content"] or "", "messages", language=language)
                    for event in conv_events or []:
                        report.other_texts += 1
                        self._scan(report, event["content"] or "", "tools.events", language=language)
                for column in extra:
                    seen: set[str] = set()
                    for value in data[column]:
                        if value and value not in seen:  # a model name is scanned once, not per row
                            seen.add(value)
                            report.other_texts += 1
                            self._scan(report, value, column, metadata=column != "system_prompt")
        quarantine = release / "quarantine.jsonl"
        if quarantine.exists():
            with quarantine.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    for key in ("raw", "detail", "file"):
                        if entry.get(key):
                            report.other_texts += 1
                            self._scan(report, str(entry[key]), f"quarantine.{key}")
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
