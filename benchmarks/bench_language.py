"""Language ID on short prompts (under 30 characters): before and after the short-text handling.

Gold: OASST's per-message ``lang`` (the prompter messages of the 100 trees, with the first reply as
context, and the prompt lottery, which has none); ShareGPT's sample has no labels, so each short human
turn is scored against the language lid.176 gives its whole conversation (silver labels; distinct
texts counted once). "before": lid.176 on the raw first message (pycld2 below 0.4), as chatsift did;
"after": the same text lower-cased without punctuation and digits, and the conversation's later user
turns and first answer appended to a first message under 30 characters that is still undecided.

    python benchmarks/bench_language.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import DATA

ISSUE_EXAMPLES = {"Hi!": "en", "Hello.": "en", "how do you do?": "en", "Good Afternoon!": "en",
                  "Tell me who you are.": "en", "Are you GPT-2?": "en", "Merci beaucoup !": "fr",
                  "¿Qué hora es?": "es", "Wie geht es dir?": "de", "Привет!": "ru", "Olá, tudo bem?": "pt",
                  "你好": "zh"}


def _oasst() -> list[tuple[list[dict], str]]:
    rows = []

    def walk(node):
        yield node
        for reply in node.get("replies") or []:
            yield from walk(reply)

    for line in (DATA / "openassistant-oasst-eval-samples/en_100_tree.jsonl").read_text().splitlines():
        tree = json.loads(line)
        for node in walk(tree.get("prompt", tree)):
            if node.get("role") == "prompter" and len(node["text"]) < 30:
                reply = (node.get("replies") or [{}])[0].get("text", "")
                rows.append(([{"role": "user", "content": node["text"]}, {"role": "assistant", "content": reply}],
                             node.get("lang", "en")))
    for line in (DATA / "openassistant-oasst-eval-samples/prompt_lottery_en_250_text.jsonl").read_text().split("\n"):
        if line.strip() and len(text := json.loads(line)) < 30:
            rows.append(([{"role": "user", "content": text}], "en"))
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


def main() -> None:
    from chatsift.stages.language import LanguageDetector

    before, after = LanguageDetector(normalise_short=False), LanguageDetector()
    sets = {"oasst": _oasst(), "sharegpt (distinct, silver)": _sharegpt(after),
            "the issue's examples": [([{"role": "user", "content": t}], g) for t, g in ISSUE_EXAMPLES.items()]}
    out = {}
    for name, rows in sets.items():
        old = sum(before.detect(m[0]["content"])[1] == gold for m, gold in rows)
        new = sum(after.detect_conversation(m)[1] == gold for m, gold in rows)
        unknown = sum(after.detect_conversation(m)[1] is None for m, _ in rows)
        out[name] = {"texts": len(rows), "before": round(old / len(rows), 4), "after": round(new / len(rows), 4),
                     "unknown_after": unknown}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
