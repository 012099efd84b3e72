"""PII detection quality and speed.

1. Quality on presidio-research's synthetic PII set (../shared/data/presidio-research-synth-pii,
   gold character spans): per kind, entity-level precision and recall. A gold span counts as found
   when a predicted span of the same kind overlaps it ("partial"); "exact" needs identical bounds
   (after trimming spaces). Gold kinds chatsift does not target (places, organisations, dates,
   titles, ...) only count against precision when a prediction lands on them.
2. False positives on clean technical text: every model answer in Arena-Hard-Auto and MT-bench is
   redacted; every replacement is written to a review file with its context, so a person can check
   which ones are real names or e-mails present in the text.
3. Speed: messages per second of the PII stage alone on one core, over the benchmark corpus.

    python benchmarks/bench_pii.py [--speed-corpus benchmarks/corpus/100k/conversations.jsonl] [--ner spacy]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from corpus import DATA

from chatsift.privacy.redactor import Redactor

GOLD_KINDS = {"PERSON": "name", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card",
              "IBAN_CODE": "iban", "IP_ADDRESS": "ip_address", "STREET_ADDRESS": "address", "US_SSN": "ssn",
              "ADDRESS": "address", "LOCATION": None}
LANGUAGE = "en"  # every text measured here is English (the NER cascade runs by language)
REPORTED = ("email", "phone", "credit_card", "iban", "ip_address", "ssn", "name", "address")


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def evaluate(redactor: Redactor, path: Path) -> dict:
    records = json.loads(path.read_text(encoding="utf-8"))
    stats = {k: Counter() for k in REPORTED}
    errors = defaultdict(list)
    for rec in records:
        text = rec["full_text"]
        gold = [((s["start_position"], s["end_position"]), GOLD_KINDS.get(s["entity_type"]), s["entity_type"])
                for s in rec["spans"]]
        pred = [((s.start, s.end), s.kind) for s in redactor.find(text, None, LANGUAGE)]
        for kind in REPORTED:
            g = [span for span, k, _ in gold if k == kind]
            p = [span for span, k in pred if k == kind]
            for span in g:
                hit = any(_overlap(span, q) for q in p)
                stats[kind]["gold"] += 1
                stats[kind]["found"] += hit
                stats[kind]["exact_found"] += any((q[0], q[1]) == _trim(text, span) for q in p)
                if not hit:
                    errors[f"{kind}:missed"].append(text[span[0]:span[1]] + "  |  " + text[:160])
            for span in p:
                stats[kind]["pred"] += 1
                correct = any(_overlap(span, q) for q in g)
                stats[kind]["correct"] += correct
                if not correct:
                    other = [t for s, _, t in gold if _overlap(span, s)]
                    errors[f"{kind}:false"].append(f"{text[span[0]:span[1]]!r} on {other or 'nothing'}  |  "
                                                   + text[:160])
    out = {}
    for kind, c in stats.items():
        out[kind] = {
            "gold": c["gold"], "predicted": c["pred"],
            "recall": round(c["found"] / c["gold"], 3) if c["gold"] else None,
            "precision": round(c["correct"] / c["pred"], 3) if c["pred"] else None,
            "recall_exact_bounds": round(c["exact_found"] / c["gold"], 3) if c["gold"] else None,
        }
    return {"per_kind": out, "errors": {k: v[:40] for k, v in errors.items()}}


def _trim(text: str, span: tuple[int, int]) -> tuple[int, int]:
    s, e = span
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def technical_false_positives(redactor: Redactor, review: Path) -> dict:
    messages = []
    for f in sorted((DATA / "arena-hard-auto/v0.1/model_answer").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            messages.append((f.name, orjson.loads(line)["messages"][1]["content"]["answer"]))
    for f in sorted((DATA / "fastchat-llm-judge/mt_bench/model_answer").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            for turn in orjson.loads(line)["choices"][0]["turns"]:
                messages.append((f.name, turn))
    by_kind: Counter[str] = Counter()
    lines = []
    for source, text in messages:
        for span in redactor.find(text, None, LANGUAGE):
            by_kind[span.kind] += 1
            context = text[max(0, span.start - 60): span.end + 60].replace("\n", " ")
            lines.append(f"{span.kind}\t{span.value!r}\t{source}\t…{context}…")
    review.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    n = len(messages)
    # benchmarks/pii_technical_review.txt: the replaced strings a person judged not to be names.
    listed = Path(__file__).with_name("pii_technical_review.txt").read_text(encoding="utf-8").splitlines()
    not_names = {x for x in listed if x and not x.startswith("#")}
    names = [ast.literal_eval(line.split("\t")[1]) for line in lines if line.startswith("name\t")]
    wrong = sum(1 for name in names if name in not_names)
    unreviewed = sorted(set(names) - not_names)
    outside_names = sum(v for k, v in by_kind.items() if k != "name")
    return {"messages": n, "replacements": dict(by_kind), "per_1000_messages": {
        k: round(v / n * 1000, 2) for k, v in by_kind.items()}, "review_file": str(review),
        "non_name_kinds_per_1000": round(outside_names / n * 1000, 2),
        "names_that_are_not_people": wrong, "names_that_are_not_people_per_1000": round(wrong / n * 1000, 2),
        "distinct_names_judged_people": len(unreviewed)}


def speed(redactor: Redactor, corpus: Path, limit: int = 100_000) -> dict:
    texts = []
    with open(corpus, "rb") as fh:
        for line in fh:
            try:
                rec = orjson.loads(line)
                texts.extend(m["content"] for m in rec["conversation"] if isinstance(m.get("content"), str))
            except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
                continue
            if len(texts) >= limit:
                break
    started = time.perf_counter()
    for text in texts:
        redactor.redact([text], language=LANGUAGE)
    seconds = time.perf_counter() - started
    return {"messages": len(texts), "seconds": round(seconds, 2),
            "messages_per_s_one_core": round(len(texts) / seconds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speed-corpus", type=Path, default=Path(__file__).parent / "corpus/100k/conversations.jsonl")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--errors", action="store_true", help="print misses and false positives")
    ap.add_argument("--ner", default="off", help="pii.ner for the name cascade, e.g. spacy (default: off)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from chatsift.privacy.ner import CascadeNameFinder, parse_models

    models = parse_models(args.ner)
    redactor = Redactor(name_finder=CascadeNameFinder(models) if models else None)
    result = {"presidio_v2": evaluate(redactor, DATA / "presidio-research-synth-pii/synth_dataset_v2.json")}
    errors = result["presidio_v2"].pop("errors")
    small = evaluate(redactor, DATA / "presidio-research-synth-pii/generated_small.json")
    result["presidio_generated_small"] = small["per_kind"]
    if args.errors:
        for k, v in sorted(errors.items()):
            print(f"== {k}")
            for e in v[:25]:
                print("   ", e[:230].replace("\n", " "))
    result["technical_text"] = technical_false_positives(redactor, args.out / "pii_technical_review.tsv")
    if args.speed_corpus.exists():
        result["speed"] = speed(redactor, args.speed_corpus)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
