"""Resolve input arguments into files, and files into units of work.

An input argument is a file, a folder (searched recursively), or ``hf://owner/name`` for a dataset
on the Hugging Face Hub. Plain-text files are split into byte ranges that end on line boundaries, so
both cores can read one big file; compressed and JSON-array files are one unit each; Parquet files
split by row groups. Planning reads each file once, which also yields its SHA-256 for the manifest.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pyarrow.parquet as pq

from chatsift.errors import InputError
from chatsift.optional import require

log = logging.getLogger(__name__)

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}
DATA_SUFFIXES = {".jsonl", ".ndjson", ".json", ".parquet", ".log"}
_BLOCK = 8 * 1024 * 1024
PACK_SMALL_SHARE = 16  # a file of at most chunk_bytes / 16 is small: it joins a pack of small files
PACK_MAX_FILES = 10_000


@dataclass(frozen=True)
class InputFile:
    """One input file and how to read it."""

    index: int
    path: str
    label: str  # stored in source.file and the manifest: relative to the input argument
    container: str  # "jsonl" | "json" | "parquet" | "unreadable"
    compression: str | None
    size: int
    problem: str | None = None  # why an "unreadable" file cannot be opened


@dataclass(frozen=True)
class Unit:
    """A piece of one file that one worker reads: a byte range, a whole file or some row groups."""

    index: int
    file_index: int
    path: str
    label: str
    container: str
    compression: str | None
    start: int = 0
    end: int = -1
    first_record: int = 1  # 1-based number of the first line or row in this unit
    row_groups: tuple[int, ...] = ()
    size: int = 0  # bytes, for progress
    problem: str | None = None
    # A pack: many small files read as one unit (file_index -1), so that each file does not pay a unit's
    # fixed cost (a task, a batch through every stage, a set of work files, a release shard). Each part
    # is the whole-file unit of one file; counts stay per file.
    parts: tuple[Unit, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def files(self) -> tuple[Unit, ...]:
        """The whole-file units inside: the parts of a pack, else the unit itself."""
        return self.parts or (self,)


def _split_suffix(path: Path) -> tuple[str, str | None]:
    """The data suffix and compression of ``path`` (``x.jsonl.gz`` -> ``.jsonl``, ``gzip``)."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    return (suffixes[-1] if suffixes else ""), compression


def _looks_like_data(path: Path) -> bool:
    suffix, _ = _split_suffix(path)
    return suffix in DATA_SUFFIXES


def _container_for(path: Path, suffix: str, compression: str | None) -> str:
    if suffix == ".parquet":
        return "parquet"
    if suffix != ".json":
        return "jsonl"
    # A .json file is either one JSON array/object or JSON lines (FastChat's *-conv.json are lines).
    try:
        head = _read_head(path, compression, 1 << 16)
    except (OSError, EOFError, ValueError):
        return "json"  # reading it whole will quarantine it as a damaged file
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"["):
        return "json"
    first_line = text.split(b"\n", 1)[0].strip()
    if first_line.startswith(b"{") and first_line.endswith(b"}"):
        return "jsonl"
    return "json"


def _read_head(path: Path, compression: str | None, n: int) -> bytes:
    import pyarrow as pa

    if compression:
        with pa.input_stream(str(path), compression=compression) as stream:
            return stream.read(n)
    with open(path, "rb") as fh:
        return fh.read(n)


def resolve_inputs(args: list[str]) -> tuple[list[InputFile], list[str]]:
    """Turn input arguments into files; returns (files, warnings about what was skipped)."""
    files: list[InputFile] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for arg in args:
        if arg.startswith("hf://"):
            root = fetch_hf_dataset(arg)
            candidates = [(p, f"{arg.rstrip('/')}/{p.relative_to(root).as_posix()}") for p in _walk(root)[0]]
        else:
            path = Path(arg)
            if path.is_dir():
                candidates = []
                found, skipped = _walk(path)
                warnings.extend(skipped)
                for p in found:
                    if _looks_like_data(p) or (p.is_symlink() and _unreadable(p)):
                        candidates.append((p, (Path(path.name) / p.relative_to(path)).as_posix()))
                    else:
                        warnings.append(f"skipped {p}: {_unsupported(p)}")
                if not candidates:
                    warnings.append(f"input folder {arg} holds no data files")
            elif path.is_file():
                candidates = [(path, path.name)]
            else:
                raise InputError(f"input not found: {arg}")
        for p, label in candidates:
            problem = _unreadable(p)
            if problem:
                warnings.append(f"{label}: {problem}; quarantined as unreadable_file")
                files.append(InputFile(len(files), str(p), label, "unreadable", None, 0, problem))
                continue
            key = str(p.resolve())
            if key in seen:
                warnings.append(f"skipped {p}: given twice")
                continue
            seen.add(key)
            suffix, compression = _split_suffix(p)
            container = _container_for(p, suffix, compression)
            files.append(InputFile(len(files), str(p), label, container, compression, p.stat().st_size))
    if not files:
        raise InputError("no input files found in: " + ", ".join(args)
                         + ("".join(f"\n  {w}" for w in warnings[:10]) if warnings else ""))
    return files, warnings


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be opened for reading (dangling symlink, loop, permissions), or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop"
        if exc.errno == errno.ENOENT:
            return "a dangling symlink (its target does not exist)" if path.is_symlink() else "does not exist"
        return f"cannot be opened ({exc.strerror or type(exc).__name__})"
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
                      (b"\xfe\xff", "UTF-16")):
        if head.startswith(bom):
            return (f"{name}-encoded (chatsift reads UTF-8); convert it first, e.g. iconv -f {name} -t UTF-8 "
                    f"{path.name} > {path.stem}.utf8{path.suffix}")
    return None


def _unsupported(path: Path) -> str:
    suffix, _ = _split_suffix(path)
    if suffix in {".csv", ".tsv"}:
        return (f"{suffix[1:].upper()} is not an input format (conversations need nested messages); convert it to "
                "JSON lines, e.g. with pandas' to_json(orient='records', lines=True)")
    return f"not a supported data file extension ({suffix or 'none'}; read: {', '.join(sorted(DATA_SUFFIXES))})"


def _walk(root: Path) -> tuple[list[Path], list[str]]:
    """Files under ``root`` in sorted order, and a warning for each thing not descended into."""
    out, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):
                skipped.append(f"skipped hidden folder {here / d} (pass it as an input to read it)")
            elif (here / d).is_symlink():
                skipped.append(f"skipped symlinked folder {here / d} (not followed, so loops cannot recur; pass "
                               "its target as an input to read it)")
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                skipped.append(f"skipped hidden file {here / name} (pass it as an input to read it)")
            elif _links_outside(here / name, root):
                skipped.append(f"skipped {here / name}: a symlink to a file outside {root} (not followed, so "
                               "another folder's data never joins a release unasked; pass the target as an input "
                               "to read it)")
            else:
                out.append(here / name)
    return out, skipped


def _links_outside(path: Path, root: Path) -> bool:
    """A symlink whose existing target lies outside ``root`` (a dangling one is quarantined instead)."""
    if not path.is_symlink():
        return False
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return not target.is_relative_to(root.resolve())


def fetch_hf_dataset(url: str) -> Path:
    """Download the data files of ``hf://owner/name`` (or ``hf://datasets/owner/name``)."""
    repo = url[len("hf://") :].strip("/")
    if repo.startswith("datasets/"):
        repo = repo[len("datasets/") :]
    if repo.count("/") != 1:
        raise InputError(f"{url}: expected hf://owner/name")
    hub = require("huggingface_hub", f"{url}: reading from the Hub", "pip install 'chatsift[hf]'", error=InputError)
    try:
        local = hub.snapshot_download(
            repo_id=repo,
            repo_type="dataset",
            allow_patterns=["*.parquet", "*.jsonl", "*.jsonl.gz", "*.json"],
        )
    except Exception as exc:  # the hub raises many types; all mean "cannot fetch"
        raise InputError(
            f"could not fetch {url} from the Hugging Face Hub ({type(exc).__name__}: {str(exc)[:300]}). "
            "Check the network, accept the dataset's terms on its page and set HF_TOKEN for gated datasets, "
            f"or download it yourself (huggingface-cli download {repo} --repo-type dataset) and pass the folder."
        ) from None
    return Path(local)


def plan_units(files: list[InputFile], chunk_bytes: int) -> tuple[list[Unit], dict[int, str]]:
    """Split files into units and checksum them; returns (units, sha256 per file index)."""
    units: list[Unit] = []
    checksums: dict[int, str] = {}
    for f in files:
        if f.container == "unreadable":
            checksums[f.index] = ""
            units.append(_unit(len(units), f, size=0, problem=f.problem))
        elif f.container == "jsonl" and f.compression is None:
            ranges, checksums[f.index] = _split_plain_text(f.path, chunk_bytes)
            for start, end, first in ranges:
                units.append(_unit(len(units), f, start=start, end=end, first_record=first, size=end - start))
        elif f.container == "parquet":
            checksums[f.index] = _sha256(f.path)
            for groups, first, size in _split_parquet(f.path, chunk_bytes):
                units.append(_unit(len(units), f, row_groups=groups, first_record=first, size=size))
        else:
            checksums[f.index] = _sha256(f.path)
            units.append(_unit(len(units), f, size=f.size))
    return _pack_small_files(units, chunk_bytes), checksums


def _pack_small_files(units: list[Unit], chunk_bytes: int) -> list[Unit]:
    """Consecutive small whole-file units joined into packs of at most ``chunk_bytes`` and ``PACK_MAX_FILES``."""
    small_max = max(chunk_bytes // PACK_SMALL_SHARE, 1)
    counts = Counter(u.file_index for u in units)
    out: list[Unit] = []
    run: list[Unit] = []
    run_bytes = 0

    def flush() -> None:
        nonlocal run_bytes
        run_bytes = 0
        if len(run) == 1:
            out.append(replace(run[0], index=len(out)))
        elif run:
            first = run[0]
            out.append(Unit(len(out), -1, "", f"{first.label} and {len(run) - 1:,} more files", "pack", None,
                            size=sum(u.size for u in run), parts=tuple(run)))
        run.clear()

    for u in units:
        packable = counts[u.file_index] == 1 and u.size <= small_max and u.container != "unreadable"
        if not packable or len(run) >= PACK_MAX_FILES or run_bytes + u.size > chunk_bytes:
            flush()
        if packable:
            run.append(u)
            run_bytes += u.size
        else:
            out.append(replace(u, index=len(out)))
    flush()
    return out


def _unit(index: int, f: InputFile, **kw) -> Unit:
    return Unit(index, f.index, f.path, f.label, f.container, f.compression, **kw)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def _split_plain_text(path: str, chunk_bytes: int) -> tuple[list[tuple[int, int, int]], str]:
    """Byte ranges of about ``chunk_bytes`` ending after a newline, with the line number each starts at."""
    h = hashlib.sha256()
    ranges: list[tuple[int, int, int]] = []
    start, start_line = 0, 1
    lines_before = 0  # newlines before the current block
    pos = 0
    target = chunk_bytes
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            h.update(block)
            block_end = pos + len(block)
            while target < block_end:
                cut = block.find(b"\n", max(target - pos, 0))
                if cut < 0:
                    break
                end = pos + cut + 1
                end_line = lines_before + block.count(b"\n", 0, cut + 1) + 1
                ranges.append((start, end, start_line))
                start, start_line = end, end_line
                target = end + chunk_bytes
            lines_before += block.count(b"\n")
            pos = block_end
    if pos > start or not ranges:
        ranges.append((start, pos, start_line))
    return ranges, h.hexdigest()


def _split_parquet(path: str, chunk_bytes: int) -> list[tuple[tuple[int, ...], int, int]]:
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:
        return [((), 1, 0)]  # reading it yields one damaged_file record with the reason
    out: list[tuple[tuple[int, ...], int, int]] = []
    groups: list[int] = []
    first = 1
    rows_before = 0
    size = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        if not groups:
            first = rows_before + 1
        groups.append(i)
        size += rg.total_byte_size
        rows_before += rg.num_rows
        if size >= chunk_bytes:
            out.append((tuple(groups), first, size))
            groups, size = [], 0
    if groups or not out:
        out.append((tuple(groups), first, size))
    return out


LICENSE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt", "COPYING", "LICENSE.CC-BY")


def find_license(path: str, label: str) -> dict | None:
    """The licence file nearest an input: in its folder or above, up to the folder given as input (and at
    least two levels up for a file given alone). Returns its path and first line, or None."""
    here = Path(path).parent
    depth = max(len(Path(label).parts) - 1, 2)
    for folder in [here, *list(here.parents)[:depth]]:
        for name in LICENSE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                try:
                    with open(candidate, encoding="utf-8", errors="replace") as fh:
                        first = next((line.strip() for line in fh if line.strip()), "")
                except OSError:
                    continue
                # Named relative to the input's label, as the manifest names inputs: no local paths.
                relative = os.path.relpath(candidate, Path(path).parent)
                return {"file": Path(os.path.normpath(Path(label).parent / relative)).as_posix(),
                        "title": first[:120]}
    return None
