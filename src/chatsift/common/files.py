"""Files written atomically: under a temporary name beside the target, then renamed into place, so a
reader (or a resumed run) sees the old file or the whole new one, never half of it. Ground floor: the
engine, the release writers, moderation and the topic map all write through here."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

INTERMEDIATE_COMPRESSION = "lz4"


def tmp_path(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = tmp_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: object) -> None:
    atomic_write_bytes(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def read_json(path: Path) -> object:
    return orjson.loads(path.read_bytes())


def write_table(path: Path, table: pa.Table, compression: str = INTERMEDIATE_COMPRESSION) -> None:
    """A Parquet file written under a temporary name and renamed into place."""
    pq.write_table(table, tmp_path(path), compression=compression)
    tmp_path(path).replace(path)
