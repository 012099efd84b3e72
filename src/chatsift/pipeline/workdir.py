"""The on-disk state of a run: per-unit intermediates with done markers, written atomically.

A unit's outputs are written under temporary names and renamed; its ``.done.json`` marker (holding
the unit's counts) is renamed into place last. A killed run therefore leaves either a complete unit
or nothing that counts, and the next run redoes only units without a marker.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

WORK_DIR_NAME = ".chatsift-work"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: object) -> None:
    atomic_write_bytes(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


INTERMEDIATE_COMPRESSION = "lz4"


def write_table(path: Path, table: pa.Table, compression: str = INTERMEDIATE_COMPRESSION) -> None:
    """A Parquet file written under a temporary name and renamed into place."""
    pq.write_table(table, tmp_path(path), compression=compression)
    tmp_path(path).replace(path)


def read_json(path: Path) -> object:
    return orjson.loads(path.read_bytes())


class WorkDir:
    """Paths of one run's intermediates below ``<out>/.chatsift-work``."""

    def __init__(self, out: Path, root: Path | None = None) -> None:
        self.out = out
        self.root = root or out / WORK_DIR_NAME  # elsewhere when engine.work_dir names shared storage
        self.map = self.root / "map"
        self.reduce = self.root / "reduce"
        self.write = self.root / "write"
        self.final = self.root / "final"

    def create(self) -> None:
        for d in (self.map, self.reduce, self.write):
            d.mkdir(parents=True, exist_ok=True)

    @property
    def plan_file(self) -> Path:
        return self.root / "plan.json"

    @property
    def secret_file(self) -> Path:
        return self.root / "user_id.secret"

    def map_path(self, unit: int, kind: str) -> Path:
        return self.map / f"u{unit:06d}.{kind}"

    def write_path(self, unit: int, kind: str) -> Path:
        return self.write / f"u{unit:06d}.{kind}"

    def decisions_path(self, unit: int) -> Path:
        return self.reduce / f"u{unit:06d}.decisions.parquet"

    @property
    def reduce_done(self) -> Path:
        return self.reduce / "reduce.done.json"

    def map_done(self, unit: int) -> Path:
        return self.map_path(unit, "done.json")

    def write_done(self, unit: int) -> Path:
        return self.write_path(unit, "done.json")

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def tmp_path(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")
