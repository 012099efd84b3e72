"""Person-name redaction on real text: the three gold sets of ``../shared/data/ner-person-dev``.

Each set's dev split goes through the workplace's scorer (``../shared/tools/score_names.py``, called,
not copied): ``make`` turns every gold sentence into a one-message conversation, ``chatsift curate
--schema full`` redacts it as a user would (every default stage; the moderator is the bundled local
one), and ``score`` counts a person as caught only when all of it is redacted and a NAME span that
touches no gold person as a false positive.

    python benchmarks/bench_names.py                      # wnut17, uner, germeval14 (dev splits)
    python benchmarks/bench_names.py --sets uner --json benchmarks/out/names.json

Then ADDRESS and PHONE placeholders on the gold sets' ordinary sentences and ToxicChat's real user
prompts, every hit printed to be judged.

Goals (issue 9, on each set's held-out test split): English recall >= 0.80 with span precision
>= 0.85; all UNER languages >= 0.65 / 0.80; German news >= 0.70 / 0.80; social media >= 0.50 / 0.80;
ADDRESS/PHONE on these ordinary sentences under 1 per 1,000.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SCORER_CANDIDATES = (HERE.parents[1] / "shared" / "tools" / "score_names.py",
                     Path("/work/shared/tools/score_names.py"))
SETS = ("wnut17", "uner", "germeval14")


def scorer() -> Path:
    for path in SCORER_CANDIDATES:
        if path.exists():
            return path
    raise SystemExit("score_names.py not found beside the repository (../shared/tools/)")


def run_set(name: str, split: str, work: Path, extra: list[str]) -> dict:
    tool = scorer()
    conversations = work / f"{name}.jsonl"
    subprocess.run([sys.executable, str(tool), "make", name, split, str(conversations)], check=True,
                   stdout=subprocess.DEVNULL)
    release = work / f"{name}-release"
    started = time.perf_counter()
    subprocess.run(["chatsift", "curate", str(conversations), "--out", str(release), "--schema", "full",
                    "--no-progress", "--overwrite", "--set", "user_id.secret=bench", *extra], check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    scored = work / f"{name}.score.json"
    gold = conversations.with_name(conversations.name.replace(".jsonl", ".gold.jsonl"))
    subprocess.run([sys.executable, str(tool), "score", name, split, str(release), "--gold", str(gold),
                    "--json", str(scored)], check=True, stdout=subprocess.DEVNULL)
    result = json.loads(scored.read_text(encoding="utf-8"))
    result["curate_seconds"] = round(seconds, 1)
    return result


def ordinary_text(work: Path, split: str) -> dict:
    """ADDRESS and PHONE placeholders on ordinary sentences (the gold sets) and on ToxicChat's real user
    prompts, each hit printed for a person to judge (all should be real addresses and numbers)."""
    from corpus import DATA

    from chatsift.privacy.redactor import Redactor

    texts: list[tuple[str, str]] = []
    for name in SETS:
        conversations = work / f"{name}.plain.jsonl"
        subprocess.run([sys.executable, str(scorer()), "make", name, split, str(conversations)], check=True,
                       stdout=subprocess.DEVNULL)
        gold = conversations.with_name(conversations.name.replace(".jsonl", ".gold.jsonl"))
        texts += [(name, json.loads(line)["text"]) for line in gold.open(encoding="utf-8")]
    toxicchat = DATA / "toxicchat-train" / "toxic_chat_train.json"
    if toxicchat.exists():
        texts += [("toxicchat", i["instance"]) for i in json.loads(toxicchat.read_text())["instances"]]
    redactor = Redactor()
    counts: dict[str, list[int]] = {}
    hits = []
    for source, text in texts:
        entry = counts.setdefault(source, [0, 0])
        entry[0] += 1
        for span in redactor.find(text):
            if span.kind in ("address", "phone"):
                entry[1] += 1
                hits.append(f"{source} {span.kind}: {text[max(0, span.start - 40):span.end + 20]!r}")
    return {"texts_and_placeholders": counts, "hits": hits}


def row(label: str, s: dict) -> str:
    """One table row; the scorer reports rates in percent."""
    other = sum((s.get("other_kind_spans") or {}).values())
    per_1000 = 1000 * other / s["sentences"] if s["sentences"] else 0.0
    precision = s["span_precision"] if s["span_precision"] is not None else 0.0
    return (f"| {label} | {s['sentences']:,} | {s['per_entities']:,} | {s['entity_recall']:.1f}% | "
            f"{s['entity_partial_rate']:.1f}% | {precision:.1f}% | {s['fp_per_1000_sentences']} | {per_1000:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--json", type=Path, help="write every set's full score here")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    help="a curate --set KEY=VALUE (e.g. pii.backend=presidio)")
    args = ap.parse_args()
    extra = [a for kv in args.overrides for a in ("--set", kv)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            results[name] = run_set(name, args.split, Path(tmp), extra)
        results["ordinary_text"] = ordinary_text(Path(tmp), args.split)
    print("| set / language | sentences | persons | recall (whole name) | partly redacted | span precision | "
          "false NAME spans per 1,000 sentences | other placeholders per 1,000 sentences |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, result in results.items():
        if name == "ordinary_text":
            continue
        print(row(f"**{name}**", result["total"]))
        if len(result["by_lang"]) > 1:
            for lang, s in result["by_lang"].items():
                print(row(f"{name} {lang}", s))
    print()
    for source, (n, found) in results["ordinary_text"]["texts_and_placeholders"].items():
        print(f"ADDRESS/PHONE on {source}: {found} in {n:,} texts ({1000 * found / n:.2f} per 1,000)")
    for hit in results["ordinary_text"]["hits"]:
        print("   ", hit)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
