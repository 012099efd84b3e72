"""The paper's filters and length bounds. Each adds reasons to ``quality.reasons``; ``select`` removes.

From FastChat's extraction (reference/paper.md section 4, Step 1) and ``filter_bad_conv.py`` (Step 3):
- ``bad_format``: no messages, a message whose content is not text (an unfinished turn), no user turn;
- ``network_error``: the serving error text anywhere in the conversation (lower-cased);
- ``anonymized`` / ``redacted_marker``: ``<anonymized>`` / ``<redacted>`` tags left by an earlier PII tool;
- ``blocked_word``: a word from a list file, matched after lower-casing and Traditional-to-Simplified
  Chinese conversion of both the text and the list (OpenCC ``t2s``), as the paper did.
Length bounds (user characters, turns) are off unless configured.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from chatsift.pipeline.stage import BatchStage, set_column
from chatsift.schema import NETWORK_ERROR_TEXT
from chatsift.stages.settings import FilterConfig

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _add(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)


class FormatFilter(BatchStage):
    """Reasons that make a record unusable; the snapshot stage looks at them before picking snapshots."""

    name = "format_filter"
    inputs = ("conversation", "quality.reasons")
    outputs = ("quality.reasons",)

    def __init__(self, config: FilterConfig) -> None:
        self.config = config

    def describe(self) -> str:
        on = [n for n, flag in (("bad_format", self.config.bad_format), ("network_error", self.config.network_error))
              if flag]
        return "reasons: " + (", ".join(on) or "none")

    def process_batch(self, batch: pa.Table) -> pa.Table:
        convs = batch.column("conversation").to_pylist()
        out = []
        for messages, reasons in zip(convs, batch.column("quality.reasons").to_pylist()):
            reasons = list(reasons or [])
            if self.config.bad_format and (
                not messages
                or any(m["content"] is None for m in messages)
                or not any(m["role"] == "user" for m in messages)
            ):
                _add(reasons, "bad_format")
            if self.config.network_error and any(
                m["content"] and NETWORK_ERROR_TEXT in m["content"].lower() for m in messages or []
            ):
                _add(reasons, "network_error")
            out.append(reasons)
        return set_column(batch, "quality.reasons", pa.array(out, pa.list_(pa.string())))


class ContentFilter(BatchStage):
    name = "content_filter"
    worker_resources = ("_automaton", "_converter")
    inputs = ("conversation", "turn", "quality.reasons")
    outputs = ("quality.reasons",)

    def __init__(self, config: FilterConfig) -> None:
        self.config = config
        self._automaton = None
        self._converter = None

    def describe(self) -> str:
        parts = []
        if self.config.anonymized:
            parts.append("anonymized")
        if self.config.redacted_marker:
            parts.append("redacted_marker")
        if self.config.blocked_words_file:
            parts.append(f"blocked_word ({self.config.blocked_words_file})")
        c = self.config
        bounds = {"min_user_chars": c.min_user_chars, "max_user_chars": c.max_user_chars,
                  "min_turns": c.min_turns, "max_turns": c.max_turns}
        parts.extend(f"{k}={v}" for k, v in bounds.items() if v is not None)
        return "reasons: " + (", ".join(parts) or "none")

    def setup(self) -> None:
        if not self.config.blocked_words_file:
            return
        import ahocorasick
        import opencc

        self._converter = opencc.OpenCC("t2s")
        words = Path(self.config.blocked_words_file).read_text(encoding="utf-8").splitlines()
        automaton = ahocorasick.Automaton()
        for word in words:
            word = self._converter.convert(word.strip().lower())
            if word and not word.startswith("#"):
                automaton.add_word(word, word)
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton

    def _blocked(self, text: str) -> bool:
        lowered = text.lower()
        if _HAN.search(lowered):
            lowered = self._converter.convert(lowered)
        return next(self._automaton.iter(lowered), None) is not None

    def process_batch(self, batch: pa.Table) -> pa.Table:
        c = self.config
        convs = batch.column("conversation").to_pylist()
        turns = batch.column("turn").to_pylist()
        out = []
        for messages, turn, reasons in zip(convs, turns, batch.column("quality.reasons").to_pylist()):
            reasons = list(reasons or [])
            texts = [m["content"] for m in messages or [] if m["content"]]
            if c.anonymized or c.redacted_marker:
                lowered = [t.lower() for t in texts if "<" in t]
                if c.anonymized and any("<anonymized>" in t for t in lowered):
                    _add(reasons, "anonymized")
                if c.redacted_marker and any("<redacted>" in t for t in lowered):
                    _add(reasons, "redacted_marker")
            if self._automaton is not None and any(self._blocked(t) for t in texts):
                _add(reasons, "blocked_word")
            if c.min_user_chars is not None or c.max_user_chars is not None:
                user_chars = sum(len(m["content"] or "") for m in messages or [] if m["role"] == "user")
                if c.min_user_chars is not None and user_chars < c.min_user_chars:
                    _add(reasons, "too_short")
                if c.max_user_chars is not None and user_chars > c.max_user_chars:
                    _add(reasons, "too_long")
            if c.min_turns is not None and (turn or 0) < c.min_turns:
                _add(reasons, "too_few_turns")
            if c.max_turns is not None and (turn or 0) > c.max_turns:
                _add(reasons, "too_many_turns")
            out.append(reasons)
        return set_column(batch, "quality.reasons", pa.array(out, pa.list_(pa.string())))
