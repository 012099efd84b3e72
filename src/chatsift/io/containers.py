"""Read the records of one unit: JSON lines, a JSON array, or Parquet row groups.

Each record comes out as ``RawRecord(number, obj, raw, error)``: either a parsed object, or an error
code with the raw bytes so the record can be quarantined. Nothing is skipped silently; blank lines
are the only lines that are not records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.io.inputs import Unit

_READ_BLOCK = 4 * 1024 * 1024


@dataclass(slots=True)
class RawRecord:
    """One input record: ``obj`` when it parsed, else ``error`` (a reason code) and ``raw``."""

    number: int  # 1-based line (JSON lines), element (JSON array) or row (Parquet)
    obj: object = None
    raw: bytes | str | None = None
    error: str | None = None
    detail: str = ""


def parse_json_line(line: bytes) -> object:
    """Parse one JSON text; falls back to ``json`` for lone surrogate escapes that orjson rejects."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        text = line.decode("utf-8")  # raises UnicodeDecodeError on bad bytes: the caller quarantines
        return json.loads(text)


def iter_lines(unit: Unit) -> Iterator[tuple[int, bytes]]:
    """Lines of a JSON-lines unit with their 1-based numbers (newline stripped, blank lines skipped)."""
    number = unit.first_record
    if unit.compression:
        stream = pa.input_stream(unit.path, compression=unit.compression)
        remaining = -1
    else:
        stream = open(unit.path, "rb")  # noqa: SIM115 - closed in finally
        stream.seek(unit.start)
        remaining = unit.end - unit.start
    try:
        pending = b""
        while remaining != 0:
            size = _READ_BLOCK if remaining < 0 else min(_READ_BLOCK, remaining)
            block = stream.read(size)
            if not block:
                break
            if remaining > 0:
                remaining -= len(block)
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.strip():
                    yield number, line
                number += 1
        if pending.strip():
            yield number, pending
    finally:
        stream.close()


def iter_records(unit: Unit, max_record_bytes: int) -> Iterator[RawRecord]:
    """Every record of ``unit``, parsed or with the reason it could not be."""
    if unit.container == "jsonl":
        yield from _iter_jsonl(unit, max_record_bytes)
    elif unit.container == "json":
        yield from _iter_json_array(unit, max_record_bytes)
    elif unit.container == "parquet":
        yield from _iter_parquet(unit)
    else:  # pragma: no cover - planning only makes the three containers
        raise ValueError(f"unknown container {unit.container!r}")


def _iter_jsonl(unit: Unit, max_record_bytes: int) -> Iterator[RawRecord]:
    for number, line in iter_lines(unit):
        if len(line) > max_record_bytes:
            yield RawRecord(number, raw=line, error="record_too_large",
                            detail=f"{len(line):,} bytes; the limit is read.max_record_bytes={max_record_bytes:,}")
            continue
        try:
            obj = parse_json_line(line)
        except UnicodeDecodeError as exc:
            yield RawRecord(number, raw=line, error="invalid_utf8", detail=str(exc))
            continue
        except ValueError as exc:
            yield RawRecord(number, raw=line, error="invalid_json", detail=str(exc))
            continue
        yield RawRecord(number, obj=obj, raw=line)


def _iter_json_array(unit: Unit, max_record_bytes: int) -> Iterator[RawRecord]:
    if unit.compression:
        with pa.input_stream(unit.path, compression=unit.compression) as stream:
            data = stream.read()
    else:
        with open(unit.path, "rb") as fh:
            data = fh.read()
    if not data.strip():
        return
    try:
        doc = parse_json_line(data)
    except UnicodeDecodeError as exc:
        yield RawRecord(1, raw=data, error="invalid_utf8", detail=f"the whole JSON file: {exc}")
        return
    except ValueError as exc:
        yield RawRecord(1, raw=data, error="invalid_json", detail=f"the whole JSON file: {exc}")
        return
    if isinstance(doc, dict):
        # One object: a single record, or a wrapper around a list of records ({"data": [...]}).
        lists = [v for v in doc.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        doc = lists[0] if len(lists) == 1 and len(doc) <= 3 else [doc]
    if not isinstance(doc, list):
        yield RawRecord(1, raw=data, error="invalid_json", detail="expected a JSON array of records")
        return
    for i, obj in enumerate(doc, start=1):
        yield RawRecord(i, obj=obj)


def _iter_parquet(unit: Unit) -> Iterator[RawRecord]:
    pf = pq.ParquetFile(unit.path)
    number = unit.first_record
    for group in unit.row_groups:
        table = pf.read_row_group(group)
        for batch in table.to_batches(max_chunksize=4096):
            for obj in batch.to_pylist():
                yield RawRecord(number, obj=obj)
                number += 1
