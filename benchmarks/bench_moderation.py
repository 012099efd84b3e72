"""Quality and speed of chatsift's local moderator on real labelled data (issue 8's figures).

Quality, each next to the published baselines (ToxicChat card: OpenAI moderation F1 0.614,
ToxicChat-T5 0.822):
  toxicchat-cv      5-fold cross-validation on the ToxicChat training split: each outer fold trains the
                    whole recipe (inner folds choose C, calibration and thresholds) on four fifths and is
                    scored on the fifth it never saw; predictions pooled over the folds;
  toxicchat-cv-encoder the same with the encoder stage (``moderator train --encoder``), and the share
                    of messages the cascade encoded;
  openai-heldout    the bundled model's recipe (OpenAI moderation release + the benign sets) trained on
                    80% of the release (stratified, seed 42) and scored on the other 20%;
  toxicchat-on-openai the ToxicChat-trained model on that same held-out 20% (binary: flagged or not);
  bundled-toxicchat the bundled model (never trained on ToxicChat) on all 2,801 ToxicChat prompts;
  bundled-toxicchat-with-jailbreak the bundled model's ``flagged`` or the default jailbreak stage's
                    detector at its own stored threshold (ToxicChat labels every jailbreak toxic), on
                    ToxicChat and on the harmless prompts of ``harmless``;
  heldout           the bundled model on moderation-train's held-apart test splits;
  (these steps score the n-grams alone; their "-static" twins the default second stage over the
  shipped static embeddings, their "-encoder" twins the opt-in MiniLM stage)
  harmless          share of harmless prompts it flags (ToxicChat's non-toxic ones, Arena-Hard, OASST);
  technical         share of flagged messages among MT-bench and Arena-Hard answers (none are harmful).
Speed: messages/s of the bundled model on real chat messages, one process and two.

    python benchmarks/bench_moderation.py [--json out.json] [--speed-messages 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from chatsift.moderation.categories import HEADS
from chatsift.moderation.data import concat, load_benign, load_labelled
from chatsift.moderation.evaluate import evaluate, prf
from chatsift.moderation.local import LocalModerator, ModerationOutput
from chatsift.moderation.train import train_moderator

HERE = Path(__file__).resolve().parent
DATA = next((p for p in (Path(os.environ.get("CHATSIFT_SHARED_DATA", "/nonexistent")),
                         HERE.parents[1] / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
            HERE.parents[1] / "shared" / "data")
BENIGN = ["openassistant-oasst-eval-samples/en_100_tree.jsonl",
          "openassistant-oasst-eval-samples/prompt_lottery_en_250_text.jsonl",
          "jailbreak-classification/balanced/jailbreak_dataset_train_balanced.csv",
          "arena-hard-auto/v0.1/question.jsonl", "fastchat-llm-judge/dummy_conversation.json"]


def _binary(gold: np.ndarray, flagged: np.ndarray, score: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score

    return {**prf(gold, flagged), "auprc": round(float(average_precision_score(gold, score)), 4)}


def toxicchat_cv(folds: int = 5, seed: int = 42, encoder: bool = False) -> dict:
    from sklearn.model_selection import StratifiedKFold

    from chatsift.moderation.train import TrainSettings

    data = load_labelled(DATA / "toxicchat-train" / "toxic_chat_train.json")
    raw = json.loads((DATA / "toxicchat-train" / "toxic_chat_train.json").read_text())["instances"]
    jailbreak = np.array([r["annotations"]["jailbreaking"]["majority_human"] == "1" for r in raw])
    gold = data.labels[:, HEADS.index("flagged")] == 1
    flagged, score = np.zeros(len(data), bool), np.zeros(len(data))
    per_fold, encoded = [], 0
    points = {point: np.zeros(len(data), bool) for point in ("precision", "recall")}
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(data)), gold):
        model = train_moderator(data.subset(train), TrainSettings(encoder=encoder), name="toxicchat-cv")
        model.use_stage("minilm" if encoder else "none")  # a MiniLM stage is opt-in when tagging
        texts = [data.texts[i] for i in test]
        out = model.moderate(texts)
        encoded += model.encoded
        flagged[test], score[test] = out.flagged, out.flag_score
        per_fold.append(prf(gold[test], out.flagged)["f1"])
        balanced = model.active_thresholds().copy()
        for point, decided in points.items():
            model.use_point(point)
            decided[test] = model.moderate(texts).flagged
            model.active_thresholds()[:] = balanced
    return {"pooled": _binary(gold, flagged, score), "f1_per_fold": per_fold,
            "f1_median": statistics.median(per_fold),
            "points": {point: prf(gold, decided) for point, decided in points.items()},
            "encoded_share": round(encoded / len(data), 4) if encoder else 0.0,
            "jailbreak_recall": round(float(flagged[jailbreak].mean()), 4)}


def _openai_split(seed: int = 42):
    from sklearn.model_selection import train_test_split

    data = load_labelled(DATA / "openai-moderation-api-release" / "samples-1680.jsonl.gz")
    strata = np.nan_to_num(data.labels[:, HEADS.index("flagged")], nan=2).astype(int)
    train, test = train_test_split(np.arange(len(data)), test_size=0.2, random_state=seed, stratify=strata)
    return data, train, test


def toxicchat_on_openai() -> dict:
    """The model `moderator train toxic_chat_train.json` gives, on the same held-out 20% of the OpenAI release."""
    model = train_moderator(load_labelled(DATA / "toxicchat-train" / "toxic_chat_train.json"), name="toxicchat")
    data, _, test = _openai_split()
    held = data.subset(test)
    return evaluate(held, model.moderate(held.texts))["binary"]


def openai_heldout(seed: int = 42) -> dict:
    data, train, test = _openai_split(seed)
    model = train_moderator(concat([data.subset(train), *[load_benign(DATA / b) for b in BENIGN]]),
                            name="openai-heldout")
    held = data.subset(test)
    return evaluate(held, model.moderate(held.texts))


MODEL_PATH: str | None = None  # --model: score another model folder where the steps say "bundled"


def _bundled(stage: str, point: str = "balanced") -> LocalModerator:
    """The bundled model with ``stage`` as its second stage (none, static, minilm); no memory of repeats,
    so that every figure pays for every message."""
    model = LocalModerator.load(MODEL_PATH, encoder=stage)
    model.repeats = None
    if point != "balanced":
        model.use_point(point)
    return model


def bundled_on_toxicchat(stage: str = "none", point: str = "balanced") -> dict:
    data = load_labelled(DATA / "toxicchat-train" / "toxic_chat_train.json")
    out = _bundled(stage, point).moderate(data.texts)
    return _binary(data.labels[:, HEADS.index("flagged")] == 1, out.flagged, out.flag_score)


def with_jailbreak(stage: str = "none") -> dict:
    """ToxicChat counts a jailbreak as toxic; chatsift's ``flagged`` follows OpenAI's categories and the
    default ``jailbreak`` stage scores jailbreak prompts apart. Their union, with the detector's threshold
    as it was chosen at its training (nothing here is fitted on ToxicChat)."""
    from chatsift.safety.detector import JailbreakDetector

    detector = JailbreakDetector.load()
    model = _bundled(stage)
    data = load_labelled(DATA / "toxicchat-train" / "toxic_chat_train.json")
    gold = data.labels[:, HEADS.index("flagged")] == 1
    out = model.moderate(data.texts)
    jailbreak = detector.scores(data.texts)
    either = out.flagged | (jailbreak >= detector.threshold)
    harmless_sets = {"toxicchat_harmless": [t for t, g in zip(data.texts, gold) if not g],
                     "arena_hard_v0.1": load_benign(DATA / "arena-hard-auto/v0.1/question.jsonl").texts,
                     "oasst_trees": load_benign(DATA / "openassistant-oasst-eval-samples/en_100_tree.jsonl").texts}
    shares = {k: round(float((model.moderate(v).flagged | (detector.scores(v) >= detector.threshold)).mean()), 4)
              for k, v in harmless_sets.items()}
    return {"detector": detector.name, "threshold": round(detector.threshold, 4),
            "flagged_only": prf(gold, out.flagged), "flagged_or_jailbreak": prf(gold, either),
            "harmless_flagged_share": shares}


def heldout(stage: str = "none") -> dict:
    """The bundled model on the held-apart test splits of moderation-train (ConvAbuse, EDOS,
    HatemojiBuild, DiaSafety, ToxiChat)."""
    data = load_labelled(f"{DATA / 'moderation-train'}@test")
    return evaluate(data, _bundled(stage).moderate(data.texts))["binary"]


def harmless(stage: str = "none", point: str = "balanced") -> dict:
    """Share of harmless prompts the bundled model flags: ToxicChat's non-toxic prompts (real traffic),
    Arena-Hard v0.1 questions and OASST messages (none trained on)."""
    model = _bundled(stage, point)
    toxicchat = load_labelled(DATA / "toxicchat-train" / "toxic_chat_train.json")
    ok = [t for t, y in zip(toxicchat.texts, toxicchat.labels[:, HEADS.index("flagged")]) if y == 0]
    out = {"toxicchat_harmless": ok}
    out["arena_hard_v0.1"] = load_benign(DATA / "arena-hard-auto/v0.1/question.jsonl").texts
    out["oasst_trees"] = load_benign(DATA / "openassistant-oasst-eval-samples/en_100_tree.jsonl").texts
    return {k: {"texts": len(v), "flagged_share": round(float(model.moderate(v).flagged.mean()), 4)}
            for k, v in out.items()}


def technical_texts() -> list[str]:
    texts = []
    for f in sorted((DATA / "fastchat-llm-judge" / "mt_bench" / "model_answer").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            texts += [t for t in json.loads(line)["choices"][0]["turns"] if t]
    for f in sorted((DATA / "arena-hard-auto" / "v0.1" / "model_answer").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            for m in json.loads(line)["messages"]:
                c = m["content"]
                texts.append(c["answer"] if isinstance(c, dict) else c)
    return texts


def technical(stage: str = "none") -> dict:
    texts = technical_texts()
    out: ModerationOutput = _bundled(stage).moderate(texts)
    return {"messages": len(texts), "flagged": int(out.flagged.sum()),
            "per_1000": round(1000 * float(out.flagged.mean()), 2)}


def _chat_messages(n: int) -> list[str]:
    """Real chat messages (prompts and answers) from the shared data, repeated to n."""
    pool = technical_texts()
    pool += load_labelled(DATA / "toxicchat-train" / "toxic_chat_train.json").texts
    pool += load_benign(DATA / "openassistant-oasst-eval-samples" / "en_100_tree.jsonl").texts
    rng = np.random.default_rng(0)
    return [pool[i] for i in rng.integers(0, len(pool), n)]


_MODEL = None


def _load_worker(stage: str, model_path: str | None) -> None:
    global _MODEL, MODEL_PATH
    MODEL_PATH = model_path
    _MODEL = _bundled(stage)


def _score(batch: list[str]) -> int:
    _MODEL.moderate(batch)
    return len(batch)


def speed(n: int, batch: int = 6000, repeats: int = 3, stage: str = "none") -> dict:
    """Messages/s of the bundled model with ``stage``, one process and two, on real chat messages (the
    pool repeats, so no memory of repeats: every message is scored as if new)."""
    texts = _chat_messages(n)
    batches = [texts[i:i + batch] for i in range(0, n, batch)]
    chars = sum(len(t) for t in texts)
    out = {"messages": n, "mean_chars": round(chars / n), "batch": batch, "stage": stage}
    _load_worker(stage, MODEL_PATH)
    one = []
    for _ in range(repeats):
        _MODEL.encoded = 0
        started = time.perf_counter()
        for b in batches:
            _score(b)
        one.append(time.perf_counter() - started)
    out["one_process_msgs_per_s"] = round(n / statistics.median(one))
    out["encoded_share"] = round(_MODEL.encoded / n, 4)
    with get_context("spawn").Pool(2, initializer=_load_worker, initargs=(stage, MODEL_PATH)) as pool:
        pool.map(_score, batches[:2])  # load the model in both workers first
        two = []
        for _ in range(repeats):
            started = time.perf_counter()
            sum(pool.map(_score, batches))
            two.append(time.perf_counter() - started)
    out["two_processes_msgs_per_s"] = round(n / statistics.median(two))
    out["seconds_one"] = [round(s, 2) for s in one]
    out["seconds_two"] = [round(s, 2) for s in two]
    return out


def _steps(speed_messages: int) -> dict:
    return {"toxicchat-cv": toxicchat_cv, "toxicchat-cv-encoder": lambda: toxicchat_cv(encoder=True),
            "openai-heldout": openai_heldout,
            "toxicchat-on-openai": toxicchat_on_openai, "bundled-toxicchat": bundled_on_toxicchat,
            "heldout": heldout, "harmless": harmless,
            "bundled-toxicchat-with-jailbreak": with_jailbreak,
            "bundled-toxicchat-with-jailbreak-encoder": lambda: with_jailbreak("minilm"),
            # the steps above score the n-grams alone; "-static" the default second stage (static
            # embeddings), "-encoder" the opt-in MiniLM stage; "-recall" the n-grams' recall point
            "bundled-toxicchat-static": lambda: bundled_on_toxicchat("static"),
            "heldout-static": lambda: heldout("static"), "harmless-static": lambda: harmless("static"),
            "bundled-toxicchat-with-jailbreak-static": lambda: with_jailbreak("static"),
            "technical-static": lambda: technical("static"),
            "bundled-toxicchat-static-recall": lambda: bundled_on_toxicchat("static", "recall"),
            "harmless-static-recall": lambda: harmless("static", "recall"),
            "speed-static": lambda: speed(speed_messages // 4, stage="static"),
            "bundled-toxicchat-encoder": lambda: bundled_on_toxicchat("minilm"),
            "heldout-encoder": lambda: heldout("minilm"), "harmless-encoder": lambda: harmless("minilm"),
            "bundled-toxicchat-recall": lambda: bundled_on_toxicchat(point="recall"),
            "harmless-recall": lambda: harmless(point="recall"),
            "technical": technical, "speed": lambda: speed(speed_messages), "speed-encoder": speed_encoder}


def speed_encoder(n: int = 20_000) -> dict:
    """The bundled model with its encoder stage, one process (torch uses both cores): messages/s and
    the share the stage read."""
    texts = _chat_messages(n)
    model = _bundled("minilm")
    model.moderate(texts[:100])  # load the encoder first
    model.encoded = 0
    started = time.perf_counter()
    for i in range(0, n, 6000):
        model.moderate(texts[i:i + 6000])
    seconds = time.perf_counter() - started
    return {"messages": n, "msgs_per_s": round(n / seconds), "encoded_share": round(model.encoded / n, 4),
            "seconds": round(seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--speed-messages", type=int, default=200_000)
    ap.add_argument("--only", nargs="+", choices=list(_steps(0)))
    ap.add_argument("--model", help="a model folder to score instead of the bundled one (every step but the "
                                    "cross-validations, openai-heldout and the two-process speed)")
    args = ap.parse_args()
    global MODEL_PATH
    MODEL_PATH = args.model
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA}")
    steps = _steps(args.speed_messages)
    results = {}
    for name, fn in steps.items():
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        results[name] = fn()
        print(json.dumps({name: results[name], "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
