"""Judging throughput and leaderboard speed (issue 11).

1. Pairwise judging through the LLM client against the test suite's local OpenAI-compatible server:
   judgments per second at the client's default concurrency (8), cache off.
2. A leaderboard from 100k pairwise judgments (50 models, Arena-Hard layout with strong verdicts
   weighted 3x) with 1,000 bootstrap rounds, in both conventions: seconds.
3. Leaderboards per topic (issue 28): Arena-Hard v0.1's 500 questions curated as prompts and mapped into
   topics (static embedder, k=10), then the 75,999 Korean Arena-Hard judgments of those questions
   ranked within each topic (200 bootstrap rounds): seconds for the join and the ranking.

    python benchmarks/bench_arena.py [--judgments 100000] [--rounds 1000] [--repeats 3] [--steps ...]
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


def per_topic(repeats: int) -> dict:
    from chatsift.analysis.topics.model import TopicSettings, build_topics
    from chatsift.arena.topics import rank_by_topic
    from tests.conftest import SHARED_DATA, run_curate

    with tempfile.TemporaryDirectory() as tmp:
        release = Path(tmp) / "r"
        run_curate([SHARED_DATA / "arena-hard-auto/v0.1/question.jsonl"], release,
                   **{"release.schema": "full", "read.benchmark_questions": "prompts"})
        build_topics(release, TopicSettings(k=10, min_users=1, dedup=False))
        battles, _, _ = read_judgments([SHARED_DATA / "arena-hard-ko-judgments/model_judgment/ensemble"],
                                       baseline="claude-3.7-sonnet")
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            by_topic = rank_by_topic(battles, release, rounds=200)
            times.append(time.perf_counter() - start)
    ranked = [t for t in by_topic["topics"] if t["leaderboard"]]
    return {"median_s": statistics.median(times), "runs": times, "judgments": len(battles),
            "unmatched": by_topic["unmatched"], "topics_ranked": len(ranked),
            "leaders": {t["label"]: t["leaderboard"]["rows"][0]["model"] for t in ranked}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--judgments", type=int, default=100_000)
    ap.add_argument("--models", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--questions", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", nargs="+", choices=["judging", "leaderboard", "per-topic"],
                    default=["judging", "leaderboard", "per-topic"])
    args = ap.parse_args()
    results = {}
    if "judging" in args.steps:
        rates = [judging_throughput(args.questions) for _ in range(args.repeats)]
        results["judgments_per_s"] = {"median": statistics.median(rates), "runs": rates}
    if "per-topic" in args.steps:
        results["per_topic_leaderboards"] = per_topic(args.repeats)
    if "leaderboard" not in args.steps:
        print(json.dumps(results, indent=2))
        return
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
