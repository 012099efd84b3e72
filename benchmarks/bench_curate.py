"""Time ``chatsift curate`` on LMSYS-shaped corpora against a pyarrow-only floor, in the same run.

For each N: build the corpus if missing (benchmarks/corpus.py), then alternate R times:
  floor  - pyarrow.json.read_json on the clean copy of the corpus + pq.write_table (zstd), both cores;
  curate - the full default pipeline (every stage on) as a subprocess, from the same input.
Reports median wall seconds, conversations/s, the curate/floor ratio, and the peak RSS summed over
the whole process tree (sampled every 50 ms with psutil).

    python benchmarks/bench_curate.py --n 100000 1000000 --repeats 3
    python benchmarks/bench_curate.py --n 100000 --low-repeat   # messages >= 90% distinct (corpus.py)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
FLOOR = """
import sys, pyarrow.json as pj, pyarrow.parquet as pq
table = pj.read_json(sys.argv[1], read_options=pj.ReadOptions(block_size=1 << 24))
pq.write_table(table, sys.argv[2], compression="zstd")
print(table.num_rows)
"""


def run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS of the process tree in bytes, stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return wall, peak, out


def corpus_conversations(n: int, low_repeat: bool = True) -> list[list[dict]]:
    """The first ``n`` well-formed conversations (``[{role, content}]`` with text) of the 100k corpus; the
    corpus holds broken lines and odd shapes on purpose, and they are skipped here."""
    out = []
    path = ensure_corpus(100_000, low_repeat=low_repeat) / "conversations.jsonl"
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                messages = json.loads(line)["conversation"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(messages, list) and messages and all(
                    isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                    for m in messages):
                out.append(messages)
                if len(out) == n:
                    break
    return out


def ensure_corpus(n: int, low_repeat: bool = False) -> Path:
    name = (f"{n // 1000}k" if n % 1_000_000 else f"{n // 1_000_000}m") + ("-distinct" if low_repeat else "")
    folder = HERE / "corpus" / name
    if not (folder / "conversations.jsonl").exists():
        subprocess.run([sys.executable, str(HERE / "corpus.py"), "--n", str(n), "--out", str(folder),
                        *(["--low-repeat"] if low_repeat else [])], check=True)
    return folder


def bench(n: int, repeats: int, extra: list[str], low_repeat: bool = False) -> dict:
    corpus = ensure_corpus(n, low_repeat)
    info = json.loads(corpus.with_name(corpus.name + ".info.json").read_text())
    clean = corpus.with_name(corpus.name + ".clean.jsonl")
    floors, runs, peaks, floor_peaks = [], [], [], []
    manifest = {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(dir=HERE / "corpus") as tmp:
            wall, peak, _ = run_measured([sys.executable, "-c", FLOOR, str(clean), f"{tmp}/floor.parquet"])
            floors.append(wall)
            floor_peaks.append(peak)
            out = Path(tmp) / "release"
            wall, peak, _ = run_measured(["chatsift", "curate", str(corpus), "--out", str(out), "--no-progress",
                                          "--set", "user_id.secret=bench", *extra])
            runs.append(wall)
            peaks.append(peak)
            manifest = json.loads((out / "manifest.json").read_text())
    med, floor = statistics.median(runs), statistics.median(floors)
    return {
        "n": n,
        "corpus": corpus.name,
        "distinct_message_share": info.get("distinct_message_share"),
        "input_bytes": (corpus / "conversations.jsonl").stat().st_size,
        "curate_seconds": [round(r, 2) for r in runs],
        "curate_median_s": round(med, 2),
        "conversations_per_s": round(n / med),
        "floor_seconds": [round(f, 2) for f in floors],
        "floor_median_s": round(floor, 2),
        "ratio_to_floor": round(med / floor, 2),
        "peak_rss_mb": round(max(peaks) / 2**20),
        "floor_peak_rss_mb": round(max(floor_peaks) / 2**20),
        "released": manifest["counts"]["released"],
        "quarantined": sum(manifest["counts"]["quarantined"].values()),
        "phase_seconds": manifest["timings_seconds"],
        "extra_args": extra,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[100_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--low-repeat", action="store_true", help="the corpus whose messages hardly repeat")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="extra arguments for chatsift curate")
    args = ap.parse_args()
    if shutil.which("chatsift") is None:
        sys.exit("chatsift is not on PATH; pip install -e . first")
    for n in args.n:
        print(json.dumps(bench(n, args.repeats, args.extra, args.low_repeat)), flush=True)


if __name__ == "__main__":
    main()
