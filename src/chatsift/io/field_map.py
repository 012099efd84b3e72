"""``read.map`` / ``--map``: where a conversation's fields live in records of an unusual shape.

``--map model=metadata.model --map id=conversation_hash --map messages=data.turns`` names, for each
target, a dotted path into the record (a number picks a list item: ``turns.0.text``). ``messages`` is
applied before the reader (the list is put where the reader looks for it; ``openai_messages`` reads any
``[{role, content}]`` list); the others override what the reader found, after it. Every path must exist
in at least one sampled record of the run's inputs, checked before any work (a misspelt path would
otherwise give a release with no models, silently).
"""

from __future__ import annotations

from collections.abc import Iterable

from chatsift.errors import AdaptError, ConfigError
from chatsift.io.readers.base import optional_text, to_tstamp

# target -> the working-schema column it fills (messages: the reader's input)
TARGETS = {"id": "conversation_id", "model": "model", "user": "_raw_user", "timestamp": "tstamp",
           "language": "language", "system": "system_prompt", "messages": None}
MISSING = object()


def parse_map(items: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``("model=metadata.model", ...)`` -> ``{"model": ("metadata", "model")}``; a ConfigError names the bad item."""
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        target, sep, path = str(item).partition("=")
        target, path = target.strip(), path.strip()
        if not sep or not path:
            raise ConfigError(f"read.map: expected TARGET=PATH (e.g. model=metadata.model), got {item!r}")
        if target not in TARGETS:
            raise ConfigError(f"read.map: unknown target {target!r}; targets: {', '.join(TARGETS)}")
        if target in out:
            raise ConfigError(f"read.map: {target!r} is mapped twice")
        parts = tuple(p for p in path.split("."))
        if any(not p for p in parts):
            raise ConfigError(f"read.map: {target}={path}: empty part in the path")
        out[target] = parts
    return out


def lookup(obj: object, parts: tuple[str, ...]) -> object:
    """The value at ``parts`` in ``obj``, or ``MISSING``."""
    for part in parts:
        if isinstance(obj, dict):
            obj = obj.get(part, MISSING)
        elif isinstance(obj, list) and part.lstrip("-").isdigit() and -len(obj) <= int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return MISSING
        if obj is MISSING:
            return MISSING
    return obj


def check_paths(mapping: dict[str, tuple[str, ...]], samples: Iterable[object]) -> None:
    """Fail before work when a mapped path is found in none of the sampled records."""
    seen = {target: False for target in mapping}
    for record in samples:
        for target, parts in mapping.items():
            seen[target] = seen[target] or lookup(record, parts) is not MISSING
    missing = [f"{t}={'.'.join(mapping[t])}" for t, ok in seen.items() if not ok]
    if missing:
        raise ConfigError(f"read.map: {', '.join(missing)} is in none of the sampled records; check the path "
                          "(`chatsift inspect FILE` shows the records' keys)")


def before_reader(obj: object, mapping: dict[str, tuple[str, ...]]) -> object:
    """The record with the mapped ``messages`` list where the readers look for one."""
    parts = mapping.get("messages")
    if parts is None or not isinstance(obj, dict):
        return obj
    value = lookup(obj, parts)
    if value is MISSING:
        raise AdaptError("unmapped", f"read.map messages={'.'.join(parts)}: not in this record")
    return {**obj, "messages": value}


def after_reader(row: dict, obj: object, mapping: dict[str, tuple[str, ...]]) -> None:
    """Override the row's fields with the mapped values found in the record (absent: the reader's stays)."""
    for target, parts in mapping.items():
        column = TARGETS[target]
        if column is None:
            continue
        value = lookup(obj, parts)
        if value is MISSING or value is None:
            continue
        if target == "timestamp":
            row[column] = to_tstamp(value)
        elif target == "user":
            row[column] = str(value)
        else:
            row[column] = optional_text(value, f"read.map {target}")
