"""Read the records of one unit: JSON lines, a JSON array, or Parquet row groups.

Each record comes out as ``RawRecord(number, obj, raw, error)``: either a parsed object, or an error
code with the raw bytes so the record can be quarantined. Nothing is skipped silently; blank lines
are the only lines that are not records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.io.inputs import Unit

_READ_BLOCK = 4 * 1024 * 1024
MAX_JSON_FILE_BYTES = 1024**3  # a JSON document is parsed whole: larger ones must come as JSON lines
_LONG_DIGITS = re.compile(rb"\d{20}")
UTF8_BOM = b"\xef\xbb\xbf"
# Decompressed reads are smaller, so that a stream that breaks off still yields the lines before the damage.
_COMPRESSED_READ_BLOCK = 256 * 1024


@dataclass(slots=True)
class RawRecord:
    """One input record: ``obj`` when it parsed, else ``error`` (a reason code) and ``raw``."""

    number: int  # 1-based line (JSON lines), element (JSON array) or row (Parquet)
    obj: object = None
    raw: bytes | str | None = None
    error: str | None = None
    detail: str = ""


class DamagedInput(Exception):
    """The file cannot be read past this point (a truncated or corrupt compressed stream, a bad Parquet file)."""

    def __init__(self, number: int, detail: str) -> None:
        super().__init__(detail)
        self.number = number
        self.detail = detail


def parse_json_line(line: bytes) -> object:
    """Parse one JSON text; falls back to ``json`` for lone surrogate escapes that orjson rejects.

    Raises ``ValueError`` for anything that is not JSON, including nesting deeper than either parser
    goes (orjson stops at 1,024 levels, ``json`` at Python's recursion limit)."""
    try:
        obj = orjson.loads(line)
        # orjson reads integers past 64 bits as floats (1e+30), which would merge distinct ids; json keeps
        # them exact. Only lines with a run of 20+ digits pay for the second parse.
        if _LONG_DIGITS.search(line) is None:
            return obj
        try:
            return json.loads(line.decode("utf-8"))
        except RecursionError:  # deeper than json goes but within orjson's limit: keep orjson's reading
            return obj
    except orjson.JSONDecodeError:
        text = line.decode("utf-8")  # raises UnicodeDecodeError on bad bytes: the caller quarantines
        try:
            return json.loads(text)
        except RecursionError:
            raise ValueError("JSON nested too deeply to read (over 1,000 levels)") from None


def _damage(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


@dataclass(slots=True)
class Oversized:
    """A line longer than the limit: its size and first bytes, never the whole of it."""

    size: int
    head: bytes


def iter_lines(unit: Unit, max_line_bytes: int | None = None) -> Iterator[tuple[int, bytes | Oversized]]:
    """Lines of a JSON-lines unit with their 1-based numbers (newline stripped, blank lines skipped).

    A line longer than ``max_line_bytes`` is not gathered: it is counted as it streams past and comes out
    as ``Oversized`` (so a 1 GiB line, or a small gzip that inflates to one, costs no memory)."""
    number = unit.first_record
    try:
        if unit.compression:
            stream = pa.input_stream(unit.path, compression=unit.compression)
            remaining = -1
        else:
            stream = open(unit.path, "rb")  # noqa: SIM115 - closed in finally
            stream.seek(unit.start)
            remaining = unit.end - unit.start
    except (OSError, pa.ArrowException) as exc:
        raise DamagedInput(number, f"cannot open the file: {_damage(exc)}") from None
    try:
        pending: list[bytes] = []  # the start of the line that goes on into the next block
        pending_size = 0
        skipped: Oversized | None = None  # a line past the limit: only its size is kept
        first_block = True
        while remaining != 0:
            size = _COMPRESSED_READ_BLOCK if remaining < 0 else min(_READ_BLOCK, remaining)
            try:
                block = stream.read(size)
            except (OSError, EOFError, pa.ArrowException) as exc:
                # The lines before the damage were yielded; a partial last line is not a record.
                raise DamagedInput(number, f"the {unit.compression or 'file'} stream breaks off after line "
                                           f"{number - 1}: {_damage(exc)}") from None
            if not block:
                break
            if remaining > 0:
                remaining -= len(block)
            if first_block and unit.start == 0:
                block = block.removeprefix(UTF8_BOM)  # a BOM is not part of the first record
            first_block = False
            lines = block.split(b"\n")
            tail = lines.pop()
            for line in lines:
                if skipped is not None:
                    skipped.size += len(line)
                    yield number, skipped
                    skipped = None
                else:
                    if pending:
                        line = b"".join([*pending, line])
                        pending, pending_size = [], 0
                    if max_line_bytes is not None and len(line) > max_line_bytes:
                        yield number, Oversized(len(line), line[:200])
                    elif line.strip():
                        yield number, line
                number += 1
            if skipped is not None:
                skipped.size += len(tail)
            elif tail:
                pending.append(tail)
                pending_size += len(tail)
                if max_line_bytes is not None and pending_size > max_line_bytes:
                    skipped = Oversized(pending_size, b"".join(pending)[:200])
                    pending, pending_size = [], 0
        if skipped is not None:
            yield number, skipped
        elif pending and b"".join(pending).strip():
            last = b"".join(pending)
            yield number, (Oversized(len(last), last[:200])
                           if max_line_bytes is not None and len(last) > max_line_bytes else last)
    finally:
        stream.close()


def iter_records(unit: Unit, max_record_bytes: int) -> Iterator[RawRecord]:
    """Every record of ``unit``, parsed or with the reason it could not be.

    A file that breaks off (truncated or corrupt compression, damaged Parquet) ends with one
    ``damaged_file`` record; the records read before the damage are kept. A file that cannot be
    opened at all (a dangling symlink, a loop, no permission) is one ``unreadable_file`` record."""
    if unit.container == "unreadable":
        yield RawRecord(1, error="unreadable_file", detail=unit.problem or "cannot be read")
        return
    try:
        yield from _records(unit, max_record_bytes)
    except DamagedInput as exc:
        yield RawRecord(exc.number, error="damaged_file", detail=exc.detail)


def _records(unit: Unit, max_record_bytes: int) -> Iterator[RawRecord]:
    if unit.container == "jsonl":
        yield from _iter_jsonl(unit, max_record_bytes)
    elif unit.container == "json":
        yield from _iter_json_array(unit, max_record_bytes)
    elif unit.container == "parquet":
        yield from _iter_parquet(unit)
    else:  # pragma: no cover - planning only makes the three containers
        raise ValueError(f"unknown container {unit.container!r}")


def _iter_jsonl(unit: Unit, max_record_bytes: int) -> Iterator[RawRecord]:
    for number, line in iter_lines(unit, max_record_bytes):
        if isinstance(line, Oversized):
            yield RawRecord(number, raw=line.head, error="record_too_large",
                            detail=f"{line.size:,} bytes; the limit is read.max_record_bytes={max_record_bytes:,}")
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
    try:
        stream = (pa.input_stream(unit.path, compression=unit.compression) if unit.compression
                  else open(unit.path, "rb"))  # noqa: SIM115 - closed below
        with stream:
            # Read in blocks up to the cap: a small gzip that inflates to gigabytes stops at the cap.
            blocks, size = [], 0
            while block := stream.read(_READ_BLOCK):
                size += len(block)
                if size > MAX_JSON_FILE_BYTES:
                    yield RawRecord(1, raw=blocks[0][:200] if blocks else block[:200], error="file_too_large",
                                    detail=f"a JSON (not JSON-lines) file over {MAX_JSON_FILE_BYTES:,} bytes "
                                           "(decompressed) is not read whole; write it as JSON lines")
                    return
                blocks.append(block)
            data = b"".join(blocks)
    except (OSError, EOFError, pa.ArrowException) as exc:
        raise DamagedInput(1, f"the JSON file cannot be read whole: {_damage(exc)}") from None
    data = data.removeprefix(UTF8_BOM)
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
        # One object: a single record, or a wrapper around a list of records ({"data": [...]}). A list of
        # messages ({"role", "content"} or {"from", "value"}) means the object is one conversation.
        lists = [v for v in doc.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        wrapper = len(lists) == 1 and len(doc) <= 3 and not _messages(lists[0])
        doc = lists[0] if wrapper else [doc]
    if not isinstance(doc, list):
        yield RawRecord(1, raw=data, error="invalid_json", detail="expected a JSON array of records")
        return
    for i, obj in enumerate(doc, start=1):
        yield RawRecord(i, obj=obj)


def _messages(items: list[dict]) -> bool:
    return all(("role" in x or "from" in x) and ("content" in x or "value" in x or "text" in x) for x in items)


def _iter_parquet(unit: Unit) -> Iterator[RawRecord]:
    number = unit.first_record
    try:
        pf = pq.ParquetFile(unit.path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise DamagedInput(number, f"not a readable Parquet file: {_damage(exc)}") from None
    for group in unit.row_groups:
        try:
            table = pf.read_row_group(group)
        except Exception as exc:
            raise DamagedInput(number, f"row group {group} cannot be read: {_damage(exc)}") from None
        for batch in table.to_batches(max_chunksize=4096):
            for obj in batch.to_pylist():
                yield RawRecord(number, obj=obj)
                number += 1
