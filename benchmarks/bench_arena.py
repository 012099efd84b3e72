"""Judging throughput and leaderboard speed (issue 11).

1. Pairwise judging through the LLM client against the test suite's local OpenAI-compatible server:
   judgments per second at the client's default concurrency (8), cache off.
2. A leaderboard from 100k pairwise judgments (50 models, Arena-Hard layout with strong verdicts
   weighted 3x) with 1,000 bootstrap rounds, in both conventions: seconds.

    python benchmarks/bench_arena.py [--judgments 100000] [--rounds 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatsift.arena.leaderboard import rank_battles
from chatsift.arena.sources import read_judgments
from chatsift.bench.judge import judge_pairwise
from chatsift.bench.layout import Question, append_jsonl
from chatsift.bench.prompts import BUILTIN
from chatsift.llm import Endpoint, LLMClient
from tests.fake_llm import FakeLLM


def judging_throughput(questions: int) -> float:
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(chat=lambda m: "Both fine. My final verdict is [[A>B]]") as srv:
        bench = Path(tmp)
        qs = [Question(f"q{i}", [f"question {i} " * 20]) for i in range(questions)]
        for model in ("base", "cand"):
            append_jsonl(bench / "model_answer" / f"{model}.jsonl",
                         [{"question_id": q.qid, "model_id": model, "choices": [{"turns": [f"answer {model} " * 50]}]}
                          for q in qs])
        client = LLMClient(Endpoint(name="judge", base_url=srv.url, model="judge"), cache=None)
        start = time.perf_counter()
        report = judge_pairwise(bench, qs, client, BUILTIN["arena-hard"], "base", ["cand"])
        return report.games / (time.perf_counter() - start)


def synthetic_judgments(folder: Path, judgments: int, models: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, models)
    per_model = judgments // (2 * models)
    verdicts = np.array(["A>>B", "A>B", "A=B", "B>A", "B>>A"])
    for m in range(models):
        records = []
        for q in range(per_model):
            games = []
            for game in range(2):
                d = (strength[m] if game else -strength[m]) + rng.normal(0, 1)
                games.append({"score": str(verdicts[np.digitize(-d, [-1.5, -0.5, 0.5, 1.5])])})
            records.append({"question_id": f"q{q}", "model": f"model-{m:02d}", "judge": "synthetic", "games": games})
        append_jsonl(folder / f"model-{m:02d}.jsonl", records)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--judgments", type=int, default=100_000)
    ap.add_argument("--models", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--questions", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rates = [judging_throughput(args.questions) for _ in range(args.repeats)]
    results = {"judgments_per_s": {"median": statistics.median(rates), "runs": rates}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model_judgment" / "synthetic"
        synthetic_judgments(folder, args.judgments, args.models)
        for convention in ("percentile", "arena-hard"):
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                battles, report, base = read_judgments([folder], baseline="model-00")
                rank_battles(battles, report, baseline=base, rounds=args.rounds, convention=convention)
                times.append(time.perf_counter() - start)
            results[f"leaderboard_{convention}_s"] = {"median": statistics.median(times), "runs": times,
                                                      "judgments": report.games, "rounds": args.rounds}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
