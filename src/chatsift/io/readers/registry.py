"""The readers, in detection order (most specific first), and format detection for a file."""

from __future__ import annotations

from chatsift.errors import InputError
from chatsift.io.readers.arena_battles import ArenaBattleReader
from chatsift.io.readers.base import Reader
from chatsift.io.readers.benchmarks import ArenaHardReader, MTBenchReader
from chatsift.io.readers.chat_exports import ChatGPTExportReader, ClaudeExportReader
from chatsift.io.readers.fastchat_logs import FastChatLogReader
from chatsift.io.readers.hh import AnthropicHHReader
from chatsift.io.readers.lmsys import LmsysReader
from chatsift.io.readers.oasst import OasstTreeReader
from chatsift.io.readers.openai_messages import OpenAIMessagesReader
from chatsift.io.readers.openai_responses import OpenAIResponsesReader
from chatsift.io.readers.otel_genai import OtelGenAIReader
from chatsift.io.readers.sharegpt import ShareGPTReader
from chatsift.io.readers.wildchat import WildChatReader

READER_CLASSES: tuple[type[Reader], ...] = (
    FastChatLogReader,
    ChatGPTExportReader,
    ClaudeExportReader,
    OpenAIResponsesReader,
    OtelGenAIReader,
    ArenaBattleReader,
    WildChatReader,
    LmsysReader,
    OasstTreeReader,
    AnthropicHHReader,
    ArenaHardReader,
    MTBenchReader,
    ShareGPTReader,
    OpenAIMessagesReader,
)
READER_NAMES: tuple[str, ...] = tuple(c.name for c in READER_CLASSES)


def get_reader(name: str) -> Reader:
    for cls in READER_CLASSES:
        if cls.name == name:
            return cls()
    raise InputError(f"unknown format {name!r}; available: {', '.join(READER_NAMES)}")


def detect_format(samples: list[object], label: str) -> tuple[str | None, str]:
    """The most specific reader that matches nearly every sampled record.

    A few stray records (at most 20% of the sample) do not stop detection: they are quarantined one
    by one when the chosen reader cannot adapt them. Returns ``(name, "")`` on success, or
    ``(None, message)`` naming the formats the file looked like.
    """
    if not samples:
        return None, f"{label}: no records to detect a format from"
    readers = [cls() for cls in READER_CLASSES]
    hits = {r.name: sum(1 for s in samples if r.sniff(s)) for r in readers}
    needed = max(1, -(-4 * len(samples) // 5))
    for r in readers:
        if hits[r.name] >= needed:
            return r.name, ""
    partial = sorted(((n, h) for n, h in hits.items() if h), key=lambda x: -x[1])
    if partial:
        looks = ", ".join(f"{n} ({h} of {len(samples)} sampled records)" for n, h in partial)
        return None, f"{label}: mixed or unknown format; it looked like {looks}. Use --format to force one."
    keys = sorted({k for s in samples if isinstance(s, dict) for k in s})[:15]
    shown = f"keys seen: {', '.join(map(str, keys))}" if keys else f"records are {type(samples[0]).__name__}"
    return None, f"{label}: unknown format ({shown}); `chatsift formats` lists what each reader expects."
