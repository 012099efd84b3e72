"""Safety and instruction-tuning use cases: speed on a 1M release, and the quality figures of their parts.

  speed     - on the 1M benchmark release (built once, as bench_analysis.py does): ``safety mine``
              (median of 3), ``safety build`` (10 models x 5), ``sft select --subset highquality``
              (median of 3) and ``sft select --subset custom`` decontaminated against MT-bench and
              Arena-Hard v0.1 (one run);
  decontam  - recall on every MT-bench and Arena-Hard v0.1 first-turn question planted with one of three
              edits (case, punctuation, a reworded clause), and false positives on 1,000 prompts from other
              sets (Arena-Hard v2.0, the OASST prompt lottery);
  judge     - ``safety validate`` on JailbreakBench's artifacts and XSTest's completions;
  detector  - the bundled jailbreak detector: its held-out figures (model.json) and ToxicChat's
              ``jailbreaking`` label (never used in training);
  curate    - the cost of the ``safety.jailbreak_score`` stage: curate 100k with and without it.

    python benchmarks/bench_safety.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import DATA  # noqa: E402


def _median(fn, repeats: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 2), result


def bench_speed(n: int) -> dict:
    from bench_analysis import ensure_release

    from chatsift.safety.build import BuildSettings, build_benchmark
    from chatsift.safety.mine import mine_release
    from chatsift.sft.decontam import Decontaminator, read_benchmark
    from chatsift.sft.select import SftRules, select_subset

    release = ensure_release(n)
    out: dict = {"release": str(release)}
    seconds, mined = _median(lambda: mine_release(release))
    out["safety_mine"] = {"median_s": seconds, "conversations": mined["conversations"], "attempts": mined["attempts"],
                          "successes": mined["successes"]}
    started = time.perf_counter()
    built = build_benchmark(release, BuildSettings(5, 10))
    out["safety_build"] = {"seconds": round(time.perf_counter() - started, 1), "questions": len(built.questions)}
    seconds, hq = _median(lambda: select_subset(release, SftRules("highquality")))
    out["sft_select_highquality"] = {"median_s": seconds, "selected": len(hq.ids), "considered": hq.considered}
    items = read_benchmark(DATA / "fastchat-llm-judge/mt_bench/question.jsonl") + \
        read_benchmark(DATA / "arena-hard-auto/v0.1/question.jsonl")
    started = time.perf_counter()
    custom = select_subset(release, SftRules("custom"), Decontaminator(items))
    out["sft_select_custom_decontaminated"] = {
        "seconds": round(time.perf_counter() - started, 1), "selected": len(custom.ids),
        "decontaminated": len(custom.contaminated),
        "by_method": {m: sum(c["method"] == m for c in custom.contaminated) for m in ("exact", "ngram", "embedding")}}
    return out


def bench_decontam() -> dict:
    from chatsift.safety.detector import read_texts
    from chatsift.sft.decontam import PLANTED_EDITS, Decontaminator, plant, read_benchmark

    items = read_benchmark(DATA / "fastchat-llm-judge/mt_bench/question.jsonl") + \
        read_benchmark(DATA / "arena-hard-auto/v0.1/question.jsonl")
    firsts = [it for it in items if it.turn == 0]
    negatives = (read_texts(DATA / "arena-hard-auto/v2.0/question.jsonl")[:750]
                 + read_texts(DATA / "openassistant-oasst-eval-samples/prompt_lottery_en_250_text.jsonl"))
    rng = random.Random(7)
    out: dict = {"benchmark_items": len(items), "planted_per_edit": len(firsts), "negatives": len(negatives)}
    for methods in (("exact",), ("exact", "ngram"), ("exact", "ngram", "embedding")):
        d = Decontaminator(items, methods)
        row = {}
        for edit in PLANTED_EDITS:
            texts = [plant(edit, it.text, rng) for it in firsts]
            found = d.match(texts, np.arange(len(texts)), len(texts))
            row[edit] = round(sum(m is not None and m.item_id == it.item_id for m, it in zip(found, firsts))
                              / len(firsts), 4)
        found = d.match(negatives, np.arange(len(negatives)), len(negatives))
        row["false_positive_rate"] = round(sum(m is not None for m in found) / len(negatives), 4)
        out["+".join(methods)] = row
    return out


def bench_judge() -> dict:
    from chatsift.moderation.backends import LocalBackend
    from chatsift.safety.validate import validate_on_jailbreakbench, validate_refusals_on_xstest

    jbb = validate_on_jailbreakbench(DATA / "jailbreakbench-artifacts", LocalBackend())
    xs = validate_refusals_on_xstest(DATA / "xstest")
    return {"jailbreakbench": {rule: {k: v[k] for k in ("n", "accuracy", "precision", "recall", "kappa")}
                               for rule, v in jbb["rules"].items()},
            "xstest": {name: {**{k: v["refusal"][k] for k in ("precision", "recall", "kappa")},
                              "over_refusal_human": v["over_refusal_human"],
                              "over_refusal_detected": v["over_refusal_detected"]} for name, v in xs.items()}}


def bench_detector() -> dict:
    from sklearn.metrics import average_precision_score

    from chatsift.safety.detector import JailbreakDetector

    detector = JailbreakDetector.load()
    instances = json.loads((DATA / "toxicchat-train/toxic_chat_train.json").read_text(encoding="utf-8"))["instances"]
    y = np.array([x["annotations"]["jailbreaking"]["majority_human"] == "1" for x in instances])
    started = time.perf_counter()
    p = detector.scores([x["instance"] for x in instances])
    per_s = len(instances) / (time.perf_counter() - started)
    decided = p >= detector.threshold
    tp = int((decided & y).sum())
    return {"held_out": detector.meta["held_out"], "prompts": detector.meta["prompts"],
            "toxicchat": {"n": len(y), "jailbreaking": int(y.sum()), "precision": round(tp / max(decided.sum(), 1), 4),
                          "recall": round(tp / y.sum(), 4), "auprc": round(float(average_precision_score(y, p)), 4)},
            "prompts_per_s": round(per_s)}


def bench_curate_cost(n: int = 100_000) -> dict:
    from bench_curate import ensure_corpus

    corpus = ensure_corpus(n)
    out = {}
    for label, extra in (("with", []), ("without", ["--set", "safety.jailbreak=false"])):
        times = []
        for _ in range(2):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                subprocess.run(["chatsift", "curate", str(corpus), "--out", f"{tmp}/r", "--no-progress", "--set",
                                "user_id.secret=bench", *extra], check=True, capture_output=True)
                times.append(time.perf_counter() - started)
        out[f"{label}_jailbreak_stage_s"] = round(min(times), 1)
    out["stage_share"] = round(1 - out["without_jailbreak_stage_s"] / out["with_jailbreak_stage_s"], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--only", choices=["speed", "decontam", "judge", "detector", "curate"], nargs="*")
    args = ap.parse_args()
    parts = args.only or ["speed", "decontam", "judge", "detector", "curate"]
    out: dict = {}
    for name, fn in (("judge", bench_judge), ("detector", bench_detector), ("decontam", bench_decontam),
                     ("speed", lambda: bench_speed(args.n)), ("curate", bench_curate_cost)):
        if name in parts:
            out[name] = fn()
            print(json.dumps({name: out[name]}, indent=2), flush=True)


if __name__ == "__main__":
    main()
