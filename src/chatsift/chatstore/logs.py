"""The chat store as FastChat web-server logs (``YYYY-MM-DD-conv.json``), for curate and other tools.

``curate sqlite:///chat.db`` stages such an export and reads it with the ``fastchat_logs`` reader,
so a release built from the store has the schema, counts and user ids of any other release. The
staged export is kept until the run finishes, so a killed curate resumes on the same records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import orjson

from chatsift.chatstore.store import StoreError, open_store
from chatsift.errors import InputError


def parse_since(value: str | float | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"--since {value!r}: give an ISO date/time (2024-05-01, 2024-05-01T12:00) or Unix "
                         "seconds") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def export_logs(url: str, out: Path, since: float | None = None) -> tuple[list[Path], dict[str, int]]:
    """Write one file per UTC day; returns the files and the counts of chat and vote records."""
    try:
        store = open_store(url, migrate=False)
        if store.version() == 0:
            raise InputError(f"{store.label} holds no chat store (no chatsift serve schema)")
        records = list(store.export_records(since))
        store.close()
    except StoreError as exc:
        raise InputError(f"cannot read the chat store: {exc}") from None
    out.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[bytes]] = {}
    counts = {"chat": 0, "votes": 0}
    for rec in records:
        day = dt.datetime.fromtimestamp(rec["tstamp"], dt.timezone.utc).strftime("%Y-%m-%d")
        by_day.setdefault(day, []).append(orjson.dumps(rec))
        counts["chat" if rec["type"] == "chat" else "votes"] += 1
    files = []
    for day, lines in sorted(by_day.items()):
        path = out / f"{day}-conv.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(b"\n".join(lines) + b"\n")
        tmp.replace(path)
        files.append(path)
    return files, counts


def staged_export(url: str, since: float | None, root: Path, fresh: bool) -> Path:
    """The store's export for one curate run, in ``root``; reused by a resumed run unless ``fresh``."""
    key = hashlib.sha256(f"{url}|{since}".encode()).hexdigest()[:16]
    folder = root / "stores" / key
    done = folder / ".complete"
    if fresh or not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        files, _ = export_logs(url, folder / "store", since)
        if not files:
            raise InputError(f"the chat store {url.split('@')[-1]} holds no conversations"
                             + (" since the given time" if since else ""))
        done.write_text(url.split("@")[-1], encoding="utf-8")
    return folder / "store"
