"""The person-name tagger on the dev splits it never saw, in-process: the model alone, with each general
rule (introductions and honorifics, greetings and introductions without "name", people named by relation,
eponymous terms, code), and its speed.

    python benchmarks/bench_name_tagger.py                      # the bundled model
    python benchmarks/bench_name_tagger.py --model /tmp/m --json benchmarks/out/tagger.json

Per dev file: persons, recall (a person counts only when every token of it is inside NAME spans), span
precision (NAME spans touching a gold person), NAME spans touching only other entities (places,
organisations, works: per 1,000 sentences). The end-to-end figures through ``chatsift curate`` and the
workplace's scorer are ``bench_names.py``; this one is for choosing (it reads the same gold tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import DATA  # noqa: E402

from chatsift.privacy.name_model import evaluate  # noqa: E402
from chatsift.privacy.name_tagger import RULES, LearnedNameFinder  # noqa: E402
from chatsift.privacy.ner_gold import read_gold  # noqa: E402
from chatsift.privacy.train_names import DEV_SOURCES  # noqa: E402

ABLATION = {"model alone": (), "+ introductions and honorifics": ("introductions",),
            "+ greetings and introductions without \"name\"": ("addresses",),
            "+ people named by relation (\"my son Liam\")": ("relations",), "+ eponymous terms kept": ("eponyms",),
            "+ code is no prose": ("code",), "all (the default)": RULES}


def variants(model: str | None) -> dict:
    """The ablation: the model alone, each general rule added alone, and all of them (the default)."""

    def finder(rules):
        f = LearnedNameFinder(model, rules=frozenset(rules))
        return lambda text, language: [(s.start, s.end) for s in f.find(text, None, language)]

    return {name: finder(rules) for name, rules in ABLATION.items()}


def speed(finder: LearnedNameFinder, texts: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for text, language in texts:
        list(finder.find(text, None, language))
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model folder (default: the bundled one)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict = {}
    for name, find in variants(args.model).items():
        rows = {}
        pooled = {"persons": 0, "found": 0.0, "names": 0, "correct": 0.0, "other": 0, "sentences": 0}
        for rel in DEV_SOURCES:
            sentences = list(read_gold(DATA / rel))
            r = evaluate(find, sentences)
            rows[Path(rel).name] = r
            pooled["persons"] += r["persons"]
            pooled["found"] += r["recall"] * r["persons"]
            pooled["names"] += r["names"]
            pooled["correct"] += r["precision"] * r["names"]
            pooled["other"] += r["touch_other"]
            pooled["sentences"] += len(sentences)
        results[name] = rows
        print(f"\n{name}")
        print("| dev file | persons | recall | span precision | NAME on other entities per 1k sentences |")
        print("|---|---:|---:|---:|---:|")
        for file, r in rows.items():
            print(f"| {file} | {r['persons']} | {r['recall']:.3f} | {r['precision']:.3f} | "
                  f"{r['other_per_1k_sentences']:.1f} |")
        print(f"| all | {pooled['persons']} | {pooled['found'] / pooled['persons']:.3f} | "
              f"{pooled['correct'] / max(pooled['names'], 1):.3f} | "
              f"{1000 * pooled['other'] / pooled['sentences']:.1f} |")
    # The same ablation on chat-like text: presidio-research's synthetic sentences (names in templates such
    # as "My name is ...") and NAME placeholders in clean technical answers (Arena-Hard, MT-bench).
    from bench_pii import evaluate as presidio_evaluate
    from bench_pii import technical_false_positives

    from chatsift.privacy.redactor import Redactor

    print("\n| variant | presidio names recall | precision | NAME per 1k technical answers | of them judged no person "
          "(pii_technical_review.txt) | distinct names not yet judged |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rules in ABLATION.items():
        redactor = Redactor(name_finder=LearnedNameFinder(args.model, rules=frozenset(rules)))
        presidio = presidio_evaluate(redactor, DATA / "presidio-research-synth-pii/synth_dataset_v2.json")
        technical = technical_false_positives(redactor, Path("/tmp/bench_name_tagger_review.tsv"))
        row = presidio["per_kind"]["name"]
        results.setdefault("chat_like", {})[name] = {"presidio": row, "technical": technical}
        print(f"| {name} | {row['recall']:.3f} | {row['precision']:.3f} | "
              f"{technical['per_1000_messages'].get('name', 0):.1f} | "
              f"{technical['names_that_are_not_people_per_1000']:.1f} | {technical['distinct_names_judged_people']} |")
    texts = []
    for rel in DEV_SOURCES:
        for s in read_gold(DATA / rel):
            texts.append((" ".join(s.tokens), s.language))
    finder = LearnedNameFinder(args.model)
    finder.prepare("en")
    for lang in {lang for _, lang in texts}:
        finder.prepare(lang)
    results["sentences_per_second"] = round(speed(finder, texts), 1)
    print(f"\nspeed: {results['sentences_per_second']:,.0f} dev sentences/s on one core (no caches)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
