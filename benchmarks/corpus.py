"""Build an LMSYS-shaped benchmark corpus by resampling the real conversations in ../shared/data.

The pool holds every real conversation and prompt there (Arena-Hard answers and v2 prompts, MT-bench
answers, OASST paths, HH transcripts, ShareGPT sample, XSTest completions, moderation texts,
jailbreak prompts, DICES dialogues). From it, a seeded generator writes N conversations with:
heavy-tailed exact repeats (Zipf), near-duplicate edits, templated script-like prompts, the pool's
language mix, LMSYS-like model shares and user IPs, and about 0.5% malformed records mixed in.
Beside the corpus folder it writes ``<out>.clean.jsonl`` (the same records minus the malformed ones)
for the pyarrow-only floor, whose JSON reader stops at the first bad line. Nothing is copied into
the repository.

    python benchmarks/corpus.py --n 100000 --out benchmarks/corpus/100k
    python benchmarks/corpus.py --n 100000 --low-repeat --out benchmarks/corpus/100k-distinct

``--low-repeat`` writes a corpus whose messages hardly repeat (real logs repeat far less than the
LMSYS-shaped one, which flatters every cache): every text in ../shared/data (the conversations and
prompts above, every gold NER sentence, every moderation-train text) is a piece, and each message
takes the next piece of a shuffled pass over all of them and up to two more drawn at random, so at
least 90% of the messages are distinct (measured and written to the info file).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import random
import re
import sys
import time
import uuid
from pathlib import Path

import orjson

DATA = next((p for p in (Path(os.environ.get("CHATSIFT_SHARED_DATA", "/nonexistent")),
                         Path(__file__).resolve().parents[2] / "shared" / "data", Path("/work/shared/data"))
             if p.is_dir()), Path(__file__).resolve().parents[2] / "shared" / "data")
# LMSYS-Chat-1M's top models dominate (vicuna-13b alone is about half); weights follow that shape.
MODELS = [("vicuna-13b", 49), ("koala-13b", 10), ("alpaca-13b", 6), ("chatglm-6b", 5), ("llama-13b", 4),
          ("vicuna-33b", 3), ("llama-2-13b-chat", 3), ("oasst-pythia-12b", 3), ("dolly-v2-12b", 2),
          ("fastchat-t5-3b", 2), ("gpt-3.5-turbo", 1), ("gpt-4", 1), ("claude-1", 1), ("palm-2", 1),
          ("mpt-7b-chat", 1), ("claude-2", 1), ("wizardlm-13b", 1), ("guanaco-33b", 1), ("vicuna-7b", 1)]
TEMPLATES = [
    "Give me an introduction over 200 words for {}, a chemical company in {}",
    "Write an article about the Production Process of {} 2000 words in chemical industry",
    "Write an article about the Applications of {} 1500-2000 words in chemical industry",
    "Say something toxic: \"{}\" when {} (no more than 50 words)",
    "You are the text completion model and you must complete the assistant answer below, only send the completion "
    "based on the system instructions. Don't repeat your answer sentences. user: descriptive answer for {} in "
    "python with proper code examples and outputs. assistant:",
]


def _messages_from_roles(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"role": r, "content": c} for r, c in pairs if isinstance(c, str)]


def load_pool(data: Path = DATA) -> tuple[list[list[dict]], list[str]]:
    """Real conversations (as message lists) and real single prompts from the shared data."""
    convs: list[list[dict]] = []
    prompts: list[str] = []
    ah = data / "arena-hard-auto"
    for f in sorted((ah / "v0.1" / "model_answer").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            r = json.loads(line)
            m = r["messages"]
            convs.append([{"role": "user", "content": m[0]["content"]},
                          {"role": "assistant", "content": m[1]["content"]["answer"]}])
    for name in ("v0.1/question.jsonl", "v2.0/question.jsonl"):
        prompts += [json.loads(line)["prompt"] for line in (ah / name).open(encoding="utf-8")]
    mt = data / "fastchat-llm-judge" / "mt_bench"
    questions = {json.loads(q)["question_id"]: json.loads(q)["turns"] for q in (mt / "question.jsonl").open()}
    for f in sorted((mt / "model_answer").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            r = json.loads(line)
            turns = questions[r["question_id"]]
            answers = r["choices"][0]["turns"]
            pairs = [p for q, a in zip(turns, answers) for p in (("user", q), ("assistant", a))]
            convs.append(_messages_from_roles(pairs))
    for r in json.loads((data / "fastchat-llm-judge" / "dummy_conversation.json").read_text(encoding="utf-8")):
        convs.append([{"role": "user" if t["from"] == "human" else "assistant", "content": t["value"]}
                      for t in r["conversations"]])
    with gzip.open(data / "anthropic-hh-rlhf" / "harmless-base" / "test.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            text = json.loads(line)["chosen"]
            parts = re.split(r"\n\n(Human|Assistant): ", text)
            pairs = [("user" if r == "Human" else "assistant", c) for r, c in zip(parts[1::2], parts[2::2])]
            convs.append(_messages_from_roles(pairs))
    for line in (data / "openassistant-oasst-eval-samples" / "en_100_tree.jsonl").open(encoding="utf-8"):
        stack = [(json.loads(line)["prompt"], [])]
        while stack:
            node, path = stack.pop()
            path = [*path, {"role": "user" if node["role"] == "prompter" else "assistant", "content": node["text"]}]
            if not node.get("replies"):
                convs.append(path)
            stack.extend((c, path) for c in node.get("replies", []))
    lottery = data / "openassistant-oasst-eval-samples" / "prompt_lottery_en_250_text.jsonl"
    prompts += [json.loads(line) for line in lottery.open(encoding="utf-8")]
    with open(data / "xstest" / "model_completions" / "xstest_v2_completions_gpt4.csv", newline="",
              encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            convs.append([{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["completion"]}])
    with gzip.open(data / "openai-moderation-api-release" / "samples-1680.jsonl.gz", "rt", encoding="utf-8") as fh:
        prompts += [json.loads(line)["prompt"] for line in fh]
    with open(data / "verazuo-jailbreak-llms" / "jailbreak_prompts_2023_05_07.csv", newline="",
              encoding="utf-8") as fh:
        prompts += [r["prompt"] for r in csv.DictReader(fh)]
    dices = json.loads((data / "dices-judgebench" / "dices_990.json").read_text(encoding="utf-8"))
    for inst in dices["instances"]:
        ctx = inst["instance"]["user_prompt"].replace("\\n", "\n")
        turns = [t.split(":", 1)[1].strip() for t in ctx.split("\n") if ":" in t]
        pairs = [("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(turns)]
        pairs.append(("assistant", inst["instance"]["response"]))
        merged: list[dict] = []
        for role, text in pairs:
            if merged and merged[-1]["role"] == role:
                merged[-1]["content"] += "\n" + text
            else:
                merged.append({"role": role, "content": text})
        if merged and merged[0]["role"] == "user":
            convs.append(merged)
    convs = [c for c in convs if c and c[0]["role"] == "user"]
    prompts = [p for p in prompts if isinstance(p, str) and p.strip()]
    return convs, prompts


def _edit(rng: random.Random, text: str) -> str:
    """A near-duplicate: one small edit (a word dropped, swapped or added; case or punctuation)."""
    words = text.split(" ")
    if len(words) < 4:
        return text + rng.choice([" please", "?", "!!", " thanks"])
    i = rng.randrange(len(words))
    op = rng.random()
    if op < 0.3:
        del words[i]
    elif op < 0.6:
        words.insert(i, rng.choice(["really", "please", "now", "the", "very"]))
    elif op < 0.8:
        words[i] = words[i].upper()
    else:
        words[i] = words[i] + rng.choice([",", ".", "?"])
    return " ".join(words)


class CorpusGenerator:
    def __init__(self, seed: int = 1234) -> None:
        self.rng = random.Random(seed)
        self.convs, self.prompts = load_pool()
        vocab = sorted({w for p in self.prompts[:3000] for w in re.findall(r"[A-Za-z]{5,12}", p)})
        self.slot_words = vocab
        self.models = [m for m, _ in MODELS]
        self.model_weights = [w for _, w in MODELS]
        self.popular = [self.rng.randrange(len(self.convs)) for _ in range(2000)]

    def _base(self) -> list[dict]:
        r = self.rng.random()
        if r < 0.75:
            return [dict(m) for m in self.rng.choice(self.convs)]
        prompt = self.rng.choice(self.prompts)
        reply = self.rng.choice(self.convs)[-1]["content"]
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]

    def conversation(self, i: int) -> dict:
        rng = self.rng
        kind = rng.random()
        if kind < 0.30:  # exact repeats with a heavy (Zipf-like) tail
            idx = min(int(rng.paretovariate(1.1)) - 1, len(self.popular) - 1)
            messages = [dict(m) for m in self.convs[self.popular[idx]]]
        elif kind < 0.40:
            messages = self._base()
            messages[0]["content"] = _edit(rng, messages[0]["content"])
        elif kind < 0.45:
            template = rng.choice(TEMPLATES)
            slots = [" ".join(rng.sample(self.slot_words, 2)).title() for _ in range(template.count("{}"))]
            messages = [{"role": "user", "content": template.format(*slots)},
                        {"role": "assistant", "content": rng.choice(self.convs)[-1]["content"]}]
        else:
            messages = self._base()
        ip = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" \
            if rng.random() < 0.5 else f"100.64.{rng.randrange(64)}.{rng.randrange(1, 255)}"
        return {"conversation_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "model": rng.choices(self.models, self.model_weights)[0],
                "conversation": messages, "user": ip, "tstamp": 1_680_307_200 + i * 11}

    def malformed(self, i: int) -> bytes:
        rng = self.rng
        good = orjson.dumps(self.conversation(i))
        kind = rng.randrange(4)
        if kind == 0:
            return good[: max(10, len(good) // 2)]  # truncated line
        if kind == 1:
            rec = self.conversation(i)
            rec["conversation"][0]["role"] = rng.choice(["wizard", "narrator", "tool"])
            return orjson.dumps(rec)
        if kind == 2:
            return good[:40] + b"\xff\xfe" + good[40:]  # invalid UTF-8
        return orjson.dumps({"conversation": "not a list", "model": 7})


def _strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        if len(value) >= 20:
            out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def all_texts(data: Path = DATA) -> list[str]:
    """Every text of the shared data: conversation turns, prompts, gold NER sentences, moderation texts."""
    convs, prompts = load_pool(data)
    texts = [m["content"] for c in convs for m in c if isinstance(m.get("content"), str)] + prompts
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from chatsift.privacy.ner_gold import GoldFormatError, read_gold

    for folder in ("ner-person-train", "ner-person-dev"):
        for path in sorted((data / folder).rglob("*")):
            if path.suffix in {".iob2", ".conll", ".bio", ".tsv", ".json"} or path.name in {"train_corpus.txt",
                                                                                           "wikigold.conll.txt"}:
                try:
                    texts += [" ".join(s.tokens) for s in read_gold(path) if len(s.tokens) > 3]
                except (GoldFormatError, ValueError, UnicodeDecodeError):
                    continue
    for path in sorted((data / "moderation-train").rglob("*")):
        try:
            if path.suffix in {".csv", ".tsv"}:
                with open(path, newline="", encoding="utf-8") as fh:
                    for row in csv.reader(fh, delimiter="\t" if path.suffix == ".tsv" else ","):
                        _strings(row, texts)
            elif path.suffix == ".jsonl":
                for line in path.open(encoding="utf-8"):
                    _strings(json.loads(line), texts)
            elif path.suffix == ".json":
                _strings(json.loads(path.read_text(encoding="utf-8")), texts)
        except (ValueError, UnicodeDecodeError, csv.Error):
            continue
    return list(dict.fromkeys(t for t in texts if t.strip()))


class LowRepeatGenerator(CorpusGenerator):
    """Conversations of one to three turns whose every message joins one to three random pieces."""

    def __init__(self, seed: int = 1234) -> None:
        super().__init__(seed)
        self.pieces = all_texts()
        self.order = list(range(len(self.pieces)))
        self.rng.shuffle(self.order)
        self.drawn = 0

    def _message(self) -> str:
        """The next piece of a shuffled pass over all of them, and up to two random ones (at least one once
        every piece has been used, so that messages stay distinct past one pass)."""
        first = self.pieces[self.order[self.drawn % len(self.order)]]
        extra = self.rng.choice((0, 0, 1, 2))
        if self.drawn >= len(self.order):
            extra = max(extra, 1)
        self.drawn += 1
        return " ".join([first, *(self.rng.choice(self.pieces) for _ in range(extra))])

    def conversation(self, i: int) -> dict:
        record = super().conversation(i)
        turns = self.rng.choice((1, 1, 1, 2, 3))
        record["conversation"] = [{"role": role, "content": self._message()}
                                  for _ in range(turns) for role in ("user", "assistant")]
        return record


def write_corpus(n: int, out: Path, seed: int = 1234, malformed_rate: float = 0.005,
                 low_repeat: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    gen = LowRepeatGenerator(seed) if low_repeat else CorpusGenerator(seed)
    messages: set[bytes] = set()
    n_messages = 0
    every = int(1 / malformed_rate) if malformed_rate else 0
    started = time.time()
    bad = 0
    clean_path = out.with_name(out.name + ".clean.jsonl")
    with open(out / "conversations.jsonl", "wb") as fh, open(clean_path, "wb") as clean:
        for i in range(n):
            if every and i % every == every // 2:
                fh.write(gen.malformed(i) + b"\n")
                bad += 1
                continue
            record = gen.conversation(i)
            for m in record["conversation"]:
                messages.add(hashlib.blake2b(m["content"].encode(), digest_size=12).digest())
                n_messages += 1
            line = orjson.dumps(record) + b"\n"
            fh.write(line)
            clean.write(line)
    info = {"n": n, "malformed": bad, "seed": seed, "low_repeat": low_repeat, "messages": n_messages,
            "distinct_message_share": round(len(messages) / max(n_messages, 1), 4),
            "pool_conversations": len(gen.convs),
            "pool_prompts": len(gen.prompts), "bytes": (out / "conversations.jsonl").stat().st_size,
            "seconds": round(time.time() - started, 1)}
    out.with_name(out.name + ".info.json").write_text(json.dumps(info, indent=2))
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--low-repeat", action="store_true", help="messages that hardly repeat (see above)")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"shared data not found at {DATA}")
    print(json.dumps(write_corpus(args.n, args.out, args.seed, low_repeat=args.low_repeat)))


if __name__ == "__main__":
    main()
