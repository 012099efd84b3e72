"""The on-disk state of a run: per-unit intermediates with done markers, written atomically.

A unit's outputs are written under temporary names and renamed; its ``.done.json`` marker (holding
the unit's counts) is renamed into place last. A killed run therefore leaves either a complete unit
or nothing that counts, and the next run redoes only units without a marker (the writing itself:
``common/files.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

WORK_DIR_NAME = ".chatsift-work"


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

