"""Normalise conversations: Unicode form, system prompts apart, alternating roles, ``turn``.

Readers already map role spellings to user/assistant/system and repair broken surrogates (Arrow
needs valid UTF-8). This stage makes the structure canonical and notes every repair in
``normalize.issues``; it never drops a conversation (empty ones get ``bad_format`` later).
Normalising twice gives the same result as normalising once.
"""

from __future__ import annotations

import unicodedata

import pyarrow as pa

from chatsift.pipeline.stage import BatchStage, set_column
from chatsift.schema import CONVERSATION_TYPE, TOOL_EVENT_TYPE
from chatsift.stages.settings import NormalizeConfig


def normalize_messages(messages: list[dict], system: str | None, form: str | None, merge: bool,
                       issues: list[str], positions: list[int] | None = None) -> tuple[list[dict], str | None]:
    """The canonical form of one conversation; appends what it changed to ``issues``, and to ``positions``
    (when given) how many canonical messages there are after each input message."""

    def note(issue: str) -> None:
        if issue not in issues:
            issues.append(issue)

    def norm(text: str | None) -> str | None:
        if text is None or form is None or unicodedata.is_normalized(form, text):
            return text
        note("unicode_normalized")
        return unicodedata.normalize(form, text)

    out: list[dict] = []
    system_parts = [norm(system)] if system else []
    for m in messages:
        role, content = m["role"], norm(m["content"])
        if role == "system":
            if content:
                system_parts.append(content)
            note("system_moved")
        elif merge and out and out[-1]["role"] == role and content is not None and out[-1]["content"] is not None:
            out[-1] = {"content": out[-1]["content"] + "\n\n" + content, "role": role}
            note(f"merged_consecutive_{role}")
        else:
            out.append({"content": content, "role": role})
        if positions is not None:
            positions.append(len(out))
    if out and out[0]["role"] == "assistant":
        note("starts_with_assistant")
    if any(m["content"] is not None and not m["content"].strip() for m in out):
        note("empty_message")
    if any(m["content"] is None for m in out):
        note("missing_content")
    joined = "\n\n".join(p for p in system_parts if p)
    return out, (joined or None)


class NormalizeStage(BatchStage):
    name = "normalize"
    inputs = ("conversation", "system_prompt", "normalize.issues", "tools.events")
    outputs = ("conversation", "system_prompt", "turn", "normalize.issues", "tools.events")

    def __init__(self, config: NormalizeConfig) -> None:
        self.config = config
        self.form = None if config.unicode_form == "none" else config.unicode_form

    def describe(self) -> str:
        return (f"Unicode {self.config.unicode_form}; system prompts kept apart; consecutive same-role messages "
                f"{'merged' if self.config.merge_consecutive else 'kept'}; turn = number of user-assistant pairs")

    def process_batch(self, batch: pa.Table) -> pa.Table:
        convs = batch.column("conversation").to_pylist()
        systems = batch.column("system_prompt").to_pylist()
        issues_col = batch.column("normalize.issues").to_pylist()
        events_col = batch.column("tools.events").to_pylist()
        new_convs, new_systems, turns, new_issues = [], [], [], []
        for k, (messages, system, issues, events) in enumerate(zip(convs, systems, issues_col, events_col)):
            issues = list(issues or [])
            positions: list[int] = []
            msgs, system = normalize_messages(messages or [], system, self.form, self.config.merge_consecutive, issues,
                                              positions)
            if events:  # an event after N input messages comes after what those N became
                events_col[k] = [dict(e, after=positions[e["after"] - 1] if e["after"] > 0 else 0) for e in events]
            new_convs.append(msgs)
            new_systems.append(system)
            turns.append(len(msgs) // 2)
            new_issues.append(issues)
        batch = set_column(batch, "conversation", pa.array(new_convs, CONVERSATION_TYPE))
        batch = set_column(batch, "system_prompt", pa.array(new_systems, pa.string()))
        batch = set_column(batch, "turn", pa.array(turns, pa.int64()))
        if any(events_col):
            batch = set_column(batch, "tools.events", pa.array(events_col, pa.list_(TOOL_EVENT_TYPE)))
        return set_column(batch, "normalize.issues", pa.array(new_issues, pa.list_(pa.string())))
