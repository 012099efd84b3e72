"""Pack per-unit release parts into size-rotated shards named like the Hub's (``train-00000-of-00003``)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 20_000


class RotatingParquetWriter:
    """Writes tables to ``prefix-00000.parquet``, ``prefix-00001.parquet``, ... starting a new file once
    the current one reaches ``max_bytes`` on disk."""

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, max_bytes: int, compression: str) -> None:
        self.folder = folder
        self.prefix = prefix
        self.schema = schema
        self.max_bytes = max_bytes
        self.compression = compression
        self.paths: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._sink: pa.OSFile | None = None

    def _open(self) -> None:
        path = self.folder / f"{self.prefix}-{len(self.paths):05d}.parquet"
        self.paths.append(path)
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pq.ParquetWriter(self._sink, self.schema, compression=self.compression)

    def write(self, table: pa.Table) -> None:
        for batch in table.to_batches(max_chunksize=ROW_GROUP_ROWS):
            if self._writer is None:
                self._open()
            assert self._writer is not None and self._sink is not None
            self._writer.write_batch(batch)
            if self._sink.tell() >= self.max_bytes:
                self._close_current()

    def _close_current(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()  # type: ignore[union-attr]
            self._writer = self._sink = None

    def close(self) -> list[Path]:
        if not self.paths:  # an empty release still gets one shard with the schema
            self._open()
        self._close_current()
        return self.paths

    def abort(self) -> None:
        """Close the open file whatever happens and remove every file written (a failed pack)."""
        with contextlib.suppress(Exception):
            if self._writer is not None:
                self._writer.close()
        with contextlib.suppress(Exception):
            if self._sink is not None:
                self._sink.close()
        self._writer = self._sink = None
        for path in self.paths:
            path.unlink(missing_ok=True)


def pack_shards(parts: list[Path], folder: Path, schema: pa.Schema, max_bytes: int, compression: str,
                split: str = "train") -> list[Path]:
    """Rewrite ``parts`` (in order) into rotated shards in ``folder``; returns the final paths."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = RotatingParquetWriter(folder, f"_{split}", schema, max_bytes, compression)
    try:
        for part in parts:
            pf = pq.ParquetFile(part)
            for i in range(pf.num_row_groups):
                writer.write(pf.read_row_group(i))
        paths = writer.close()
    except BaseException:
        writer.abort()
        raise
    final = []
    for i, path in enumerate(paths):
        target = folder / f"{split}-{i:05d}-of-{len(paths):05d}.parquet"
        path.replace(target)
        final.append(target)
    return final
