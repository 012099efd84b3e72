"""Quarantine: every input record that could not be read or adapted, with where and why."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from chatsift.privacy.scrub import excerpt, public_label


@dataclass(slots=True)
class QuarantineEntry:
    file: str
    record: int  # 1-based line, element or row number
    reason: str  # machine-readable code, counted in the manifest
    detail: str
    raw: str  # clipped and scrubbed

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"file": self.file, "record": self.record, "reason": self.reason, "detail": self.detail, "raw": self.raw}
        )


def make_entry(file: str, record: int, reason: str, detail: str, raw: bytes | str | None,
               raw_chars: int = 300) -> QuarantineEntry:
    return QuarantineEntry(public_label(file), record, reason, excerpt(detail, 500), excerpt(raw, raw_chars))
