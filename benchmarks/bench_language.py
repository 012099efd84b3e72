"""Language ID: accuracy overall and on short texts, and the language stage's speed (issues 10 and 27).

Gold: OASST's per-message ``lang`` (every message of the 100 trees, prompter turns with their first
reply as context, and the prompt lottery); the dev sentences of the name sets, whose language is their
set's (UNER English, Portuguese, Chinese, Danish, Slovak, Croatian; GermEval German): news and web
text, cut to whole sentences under 40 or 80 characters. ShareGPT's sample has no labels: each short
human turn is scored against the language lid.176 gives its whole conversation (silver labels;
distinct texts counted once). "before 27" is the detector as it was before issue 27's changes, kept in
BENCHMARKS.md with the commit it was measured at; this script measures the current code.

    python benchmarks/bench_language.py [--json out.json]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import DATA

ISSUE_27_EXAMPLES = {"How do I store tabular data in Javascript?": "en",
                     "write a python script to plot y=sin(x)": "en", "Hello robots!": "en",
                     "hi im creating a decky loder pluginbut am getting an error": "en",
                     "帮我润色论文": "zh"}
NAME_DEV_SETS = {"uner/UNER_English-EWT/en_ewt-ud-dev.iob2": "en",
                 "uner/UNER_Portuguese-Bosque/pt_bosque-ud-dev.iob2": "pt",
                 "uner/UNER_Chinese-GSDSIMP/zh_gsdsimp-ud-dev.iob2": "zh",
                 "uner/UNER_Danish-DDT/da_ddt-ud-dev.iob2": "da", "uner/UNER_Slovak-SNK/sk_snk-ud-dev.iob2": "sk",
                 "uner/UNER_Croatian-SET/hr_set-ud-dev.iob2": "hr",
                 "germeval14/raw/NER-de-dev.tsv": "de"}
ISSUE_EXAMPLES = {"Hi!": "en", "Hello.": "en", "how do you do?": "en", "Good Afternoon!": "en",
                  "Tell me who you are.": "en", "Are you GPT-2?": "en", "Merci beaucoup !": "fr",
                  "¿Qué hora es?": "es", "Wie geht es dir?": "de", "Привет!": "ru", "Olá, tudo bem?": "pt",
                  "你好": "zh"}


def _oasst_nodes():
    """Every message of OASST's 100 trees (``role``, ``text``, ``lang``, ``replies``), then the prompt
    lottery's prompts as prompter messages."""

    def walk(node):
        yield node
        for reply in node.get("replies") or []:
            yield from walk(reply)

    for line in (DATA / "openassistant-oasst-eval-samples/en_100_tree.jsonl").read_text().splitlines():
        tree = json.loads(line)
        yield from walk(tree.get("prompt", tree))
    for line in (DATA / "openassistant-oasst-eval-samples/prompt_lottery_en_250_text.jsonl").read_text().split("\n"):
        if line.strip():
            yield {"role": "prompter", "text": json.loads(line), "lang": "en"}


def _oasst() -> list[tuple[list[dict], str]]:
    """Prompter messages under 30 characters, with their first reply when they have one."""
    rows = []
    for node in _oasst_nodes():
        if node.get("role") == "prompter" and len(node["text"]) < 30:
            messages = [{"role": "user", "content": node["text"]}]
            if node.get("replies"):
                messages.append({"role": "assistant", "content": node["replies"][0].get("text", "")})
            rows.append((messages, node.get("lang", "en")))
    return rows


def _sharegpt(detector) -> list[tuple[list[dict], str]]:
    rows, seen = [], set()
    for conv in json.loads((DATA / "fastchat-llm-judge/dummy_conversation.json").read_text()):
        messages = [{"role": "user" if t["from"] == "human" else "assistant", "content": t["value"]}
                    for t in conv["conversations"]]
        gold = detector.detect(" ".join(m["content"] for m in messages))[1]
        for i, m in enumerate(messages):
            text = m["content"].strip()
            if m["role"] == "user" and text and len(text) < 30 and text not in seen:
                seen.add(text)
                rows.append((messages[i:], gold))
    return rows


def _oasst_all() -> list[tuple[list[dict], str]]:
    return [([{"role": "user", "content": n["text"]}], n.get("lang", "en")) for n in _oasst_nodes()]


def _name_dev_sentences(max_chars: int) -> list[tuple[list[dict], str]]:
    from chatsift.privacy.name_features import retokenise
    from chatsift.privacy.name_model import _join_tokens
    from chatsift.privacy.ner_gold import read_gold

    rows = []
    for path, lang in NAME_DEV_SETS.items():
        for sentence in read_gold(DATA / "ner-person-dev" / path):
            text = _join_tokens(retokenise(sentence.tokens, sentence.tags)[0])[0]
            if len(text) < max_chars and sum(ch.isalpha() for ch in text) >= 3:
                rows.append(([{"role": "user", "content": text}], lang))
    return rows


def _speed(detector) -> float:
    """First user messages/s of the low-repeat corpus (20,000 distinct conversations, no cache hits)."""
    from bench_curate import corpus_conversations

    convs = corpus_conversations(20_000)
    started = time.perf_counter()
    for messages in convs:
        detector.detect_conversation(messages)
    return len(convs) / (time.perf_counter() - started)


def main() -> None:
    import argparse

    from chatsift.common.language import LanguageDetector

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    detector = LanguageDetector()
    oasst = _oasst_all()
    sets = {"OASST, every message": oasst,
            "OASST, under 40 characters": [r for r in oasst if len(r[0][0]["content"]) < 40],
            "OASST prompter turns under 30 characters, with their reply": _oasst(),
            "name-set dev sentences under 40 characters (7 languages)": _name_dev_sentences(40),
            "name-set dev sentences under 80 characters": _name_dev_sentences(80),
            "ShareGPT short human turns (silver)": _sharegpt(detector),
            "issue 10's examples": [([{"role": "user", "content": t}], g) for t, g in ISSUE_EXAMPLES.items()],
            "issue 27's examples": [([{"role": "user", "content": t}], g) for t, g in ISSUE_27_EXAMPLES.items()]}
    out = {}
    for name, rows in sets.items():
        answers = [detector.detect_conversation(m)[1] for m, _ in rows]
        right = sum(a == g for a, (_, g) in zip(answers, rows))
        unknown = sum(a is None for a in answers)
        out[name] = {"texts": len(rows), "right": round(right / len(rows), 4), "unknown": unknown}
        print(f"{name}: {out[name]}", flush=True)
    out["first messages per second (one core, distinct texts)"] = round(_speed(LanguageDetector()))
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
