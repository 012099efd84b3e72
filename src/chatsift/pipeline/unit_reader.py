"""Reading one unit of work into tables of the working schema, with what did not become a conversation.

A unit is a byte range of one file, a whole file, some Parquet row groups, or a pack of small files;
``UnitReader`` adapts its records with each file's reader (and ``read.map``), and keeps per file what
was quarantined or gave no conversation, so counts reconcile per input file whatever the unit.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import orjson
import pyarrow as pa

from chatsift.common.files import tmp_path, write_table
from chatsift.errors import AdaptError
from chatsift.io.containers import iter_records
from chatsift.io.field_map import after_reader, before_reader, parse_map
from chatsift.io.inputs import Unit
from chatsift.io.quarantine import QuarantineEntry, make_entry
from chatsift.io.readers.base import RecordContext, VoteEvent
from chatsift.io.readers.registry import get_reader
from chatsift.pipeline.workdir import WorkDir
from chatsift.privacy.scrub import redact_excerpt
from chatsift.schema import working_schema

if TYPE_CHECKING:  # the type only: config imports the settings of the layers below it, not the other way
    from chatsift.config import CurateConfig

log = logging.getLogger(__name__)

EVENT_SCHEMA = pa.schema([("conversation_id", pa.string()), ("kind", pa.string()), ("tstamp", pa.float64())])
READ_EXCLUSION_SCHEMA = pa.schema([("record", pa.int64()), ("reason", pa.string()), ("detail", pa.string()),
                                   ("file", pa.string())])


def source_schema() -> pa.Schema:
    return working_schema().append(pa.field("_raw_user", pa.string()))


class UnitReader:
    """Reads one unit into source-schema tables, collecting what did not become a conversation.

    Iterating yields tables of at most ``batch_size`` conversations, in input order; ``finish``
    writes the unit's quarantine entries, read exclusions and vote events, and returns its counts
    (per file too, for a pack of small files, whose files' records come out one file after another).
    Both executors use it, so a unit reads the same way wherever it runs.
    """

    def __init__(self, unit: Unit, config: CurateConfig, formats: dict[int, str | None],
                 format_problems: dict[int, str], public_id: Callable[[str], str] | None = None) -> None:
        self.unit = unit
        # Vote events name their conversation as the stages will write its id (the PII stage masks an
        # e-mail or token in it), so that they still find it in the reduce and no raw id reaches the work
        # folder.
        self.public_id = public_id or (lambda value: value)
        self.config = config
        self.formats = formats
        self.format_problems = format_problems
        self.field_map = parse_map(config.read.map)
        self.quarantine: list[QuarantineEntry] = []
        self.read_exclusions: list[dict] = []
        self.events: list[VoteEvent] = []
        self.per_file: list[dict] = []
        self._counts_by_label: dict[str, dict] = {}
        self._schema = source_schema()

    @property
    def records_read(self) -> int:
        return sum(f["records_read"] for f in self.per_file)

    @property
    def conversations(self) -> int:
        return sum(f["conversations"] for f in self.per_file)

    def __iter__(self) -> Iterator[pa.Table]:
        rows: list[dict] = []
        for part in self.unit.files():
            counts = {"file_index": part.file_index, "records_read": 0, "conversations": 0, "quarantined": Counter(),
                      "no_conversation": Counter(), "events": 0}
            self.per_file.append(counts)
            self._counts_by_label[part.label] = counts
            for row in self._read(part, counts):
                rows.append(row)
                if len(rows) >= self.config.engine.batch_size:
                    yield from self._flush(rows)
        yield from self._flush(rows)

    def _read(self, part: Unit, counts: dict) -> Iterator[dict]:
        read_cfg = self.config.read
        fmt = self.formats.get(part.file_index)
        reader = get_reader(fmt) if fmt else None
        problem = self.format_problems.get(part.file_index) or "format could not be detected"
        if reader is not None:
            reader.open_unit(part.path)

        def quarantine(number: int, reason: str, detail: str, raw: object) -> None:
            counts["quarantined"][reason] += 1
            self.quarantine.append(make_entry(part.label, number, reason, detail,
                                              raw if isinstance(raw, (bytes, str)) else _repr(raw)))

        for raw in iter_records(part, read_cfg.max_record_bytes):
            counts["records_read"] += 1
            if raw.error:
                quarantine(raw.number, raw.error, raw.detail, raw.raw)
                continue
            original = raw.raw if raw.raw is not None else raw.obj
            if reader is None:
                quarantine(raw.number, "unknown_format", problem, original)
                continue
            ctx = RecordContext(part.label, raw.number, read_cfg, part.path)
            try:
                if self.field_map:
                    produced = list(reader.adapt(before_reader(raw.obj, self.field_map), ctx))
                    for p in produced:
                        if isinstance(p, dict):
                            after_reader(p, raw.obj, self.field_map)
                else:
                    produced = list(reader.adapt(raw.obj, ctx))
            except AdaptError as exc:
                quarantine(raw.number, exc.reason, exc.detail, original)
                continue
            except Exception as exc:  # an adapter bug must not lose the record or stop the run
                log.warning("reader %s failed on %s:%d: %s", reader.name, part.label, raw.number,
                            redact_excerpt(repr(exc))[:500])
                quarantine(raw.number, "reader_error", f"{type(exc).__name__}: {exc}", original)
                continue
            convs = [p for p in produced if isinstance(p, dict)]
            if read_cfg.default_model:
                for row in convs:
                    if not row.get("model"):
                        row["model"] = read_cfg.default_model
                        row["normalize.issues"] = [*row.get("normalize.issues", []), "model_from_read.default_model"]
            votes = [p for p in produced if isinstance(p, VoteEvent)]
            self.events.extend(votes)
            counts["events"] += len(votes)
            if not convs:
                reason = "vote_event" if votes else "no_conversation"
                counts["no_conversation"][reason] += 1
                self.read_exclusions.append({"record": raw.number, "reason": reason,
                                             "detail": ",".join(sorted({v.kind for v in votes})),
                                             "file": part.label})
            counts["conversations"] += len(convs)
            yield from convs

    def _flush(self, rows: list[dict]) -> Iterator[pa.Table]:
        if not rows:
            return
        table, bad = self._to_table(rows)
        for row, message in bad:
            counts = self._counts_by_label[row["source.file"]]
            counts["conversations"] -= 1
            counts["quarantined"]["schema_type_error"] += 1
            self.quarantine.append(make_entry(row["source.file"], row["source.record"], "schema_type_error", message,
                                              _repr(row)))
        rows.clear()
        if table.num_rows:
            yield table

    def _to_table(self, rows: list[dict]) -> tuple[pa.Table, list[tuple[dict, str]]]:
        try:
            return pa.Table.from_pylist(rows, schema=self._schema), []
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            good, bad = [], []
            for row in rows:  # find the records that do not fit the schema
                try:
                    pa.Table.from_pylist([row], schema=self._schema)
                    good.append(row)
                except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
                    bad.append((row, f"{type(exc).__name__}: {exc}"))
            return pa.Table.from_pylist(good, schema=self._schema), bad

    def finish(self, work: WorkDir) -> dict:
        unit = self.unit
        qpath = work.map_path(unit.index, "quarantine.jsonl")
        with open(tmp_path(qpath), "wb") as fh:
            for q in self.quarantine:
                fh.write(q.to_json() + b"\n")
        tmp_path(qpath).replace(qpath)
        write_table(work.map_path(unit.index, "readexcl.parquet"),
                     pa.Table.from_pylist(self.read_exclusions, schema=READ_EXCLUSION_SCHEMA))
        write_table(work.map_path(unit.index, "events.parquet"),
                     pa.Table.from_pylist([{"conversation_id": self.public_id(e.conversation_id) if e.conversation_id
                                            else e.conversation_id, "kind": e.kind, "tstamp": e.tstamp}
                                           for e in self.events], schema=EVENT_SCHEMA))
        per_file = [dict(f, quarantined=dict(f["quarantined"]), no_conversation=dict(f["no_conversation"]))
                    for f in self.per_file]
        stats = {
            "unit": unit.index,
            "file_index": unit.file_index,
            "records_read": self.records_read,
            "conversations": self.conversations,
            "no_conversation": dict(Counter(e["reason"] for e in self.read_exclusions)),
            "quarantined": dict(Counter(q.reason for q in self.quarantine)),
            "events": len(self.events),
        }
        if unit.parts:
            stats["per_file"] = per_file  # in read order: the pack's records are these files' one after another
        return stats


def _repr(obj: object) -> str:
    try:
        return orjson.dumps(obj, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(obj)
