"""A folder of one-conversation files against the same records in one JSON-lines file (issue 27).

Takes the first N conversations of the low-repeat corpus (``corpus.py --low-repeat``, built if missing),
writes them once as one ``.jsonl`` file and once as N ``.json`` files (one record each), and times
``chatsift curate`` (every default stage) on both, alternating, R times. Reports medians, the
folder/file ratio, and whether the two releases hold the same rows.

    python benchmarks/bench_small_files.py --n 600 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_curate import ensure_corpus, run_measured  # noqa: E402


def rows(release: Path) -> list[str]:
    table = pq.read_table(sorted((release / "data").glob("*.parquet")))
    return sorted(json.dumps(r, sort_keys=True) for r in table.to_pylist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[600, 10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    corpus = ensure_corpus(100_000, low_repeat=True) / "conversations.jsonl"
    chatsift = str(Path(sys.executable).with_name("chatsift"))
    results = []
    for n in args.n:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            with corpus.open("rb") as fh:  # bytes: the corpus holds some broken lines on purpose
                lines = list(islice(fh, n))
            (tmp / "one.jsonl").write_bytes(b"".join(lines))
            (tmp / "files").mkdir()
            for i, line in enumerate(lines):
                (tmp / "files" / f"conv{i:06d}.json").write_bytes(line)
            times: dict[str, list[float]] = {"one file": [], "folder": []}
            for _ in range(args.repeats):
                for name, source in (("one file", tmp / "one.jsonl"), ("folder", tmp / "files")):
                    out = tmp / name.replace(" ", "_")
                    shutil.rmtree(out, ignore_errors=True)
                    wall, _, _ = run_measured([chatsift, "curate", str(source), "--out", str(out), "--no-progress"])
                    times[name].append(wall)
            same = rows(tmp / "one_file") == rows(tmp / "folder")
        one, folder = statistics.median(times["one file"]), statistics.median(times["folder"])
        result = {"conversations": n, "one_file_s": round(one, 2), "folder_s": round(folder, 2),
                  "ratio": round(folder / one, 2), "same_release": same, "runs": times}
        results.append(result)
        print(f"{n:>7,} conversations: one file {one:6.2f} s, {n:,} files {folder:6.2f} s, "
              f"ratio {folder / one:.2f}, same release: {same}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
