"""The paper's moderation training set (reference/paper.md 8.1), built from a tagged release.

Per parent category, the top ``per_category`` flagged messages by that category's score, plus
``benign`` unflagged messages drawn with a seed; a message is used once (for its first category in
score order). Targets are the paper's answer format, an optional explanation written by an LLM
endpoint under the moderation system prompt, then the decision in double brackets. Written as SFT
JSON lines in ShareGPT form (``conversations: [{from, value}]``) and OpenAI-messages form, plus
``labels.jsonl`` (``text``, ``flagged``, ``categories``) that ``moderator train`` and ``eval`` read.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatsift.errors import InputError
from chatsift.llm import LLMClient, chat_text
from chatsift.moderation.categories import CATEGORIES, PARENT_OF, PARENTS
from chatsift.moderation.data import HEADS, release_messages
from chatsift.moderation.guard import PAPER_OPTIONS, PAPER_SYSTEM, paper_messages

EXPLAIN_NOTE = ("The correct option is [[{answer}]]. Write a short explanation of why, then end with exactly "
                "[[{answer}]].")


@dataclass
class Example:
    text: str
    parent: str | None  # None: benign
    score: float


def _answer(parent: str | None) -> str:
    option = parent or "none"
    k = PAPER_OPTIONS.index(option) + 1
    return f"{k}. {'None of the above' if option == 'none' else option}"


def select_examples(release: str | Path, per_category: int = 1000, benign: int = 1000,
                    seed: int = 42) -> list[Example]:
    root = Path(release)
    shards = sorted((root / "data").glob("*.parquet")) if root.is_dir() else [root]
    if not shards:
        raise InputError(f"{release}: no release shards (data/*.parquet)")
    texts, labels, score = release_messages(shards)
    if not texts:
        raise InputError(f"{release}: no messages with openai_moderation tags")
    flagged = labels[:, HEADS.index("flagged")] == 1
    used: set[str] = set()
    out: list[Example] = []
    for parent in PARENTS:
        cols = [i for i, c in enumerate(CATEGORIES) if PARENT_OF[c] == parent]
        positive = np.nan_to_num(labels[:, cols], nan=0).max(axis=1) == 1
        parent_score = score[:, cols].max(axis=1)
        chosen = 0
        for i in np.argsort(-parent_score, kind="stable"):
            if chosen >= per_category:
                break
            if not (flagged[i] and positive[i]) or texts[i] in used or not texts[i].strip():
                continue
            used.add(texts[i])
            out.append(Example(texts[i], parent, float(parent_score[i])))
            chosen += 1
    pool = [i for i in np.flatnonzero(~flagged) if texts[i].strip() and texts[i] not in used]
    random.Random(seed).shuffle(pool)
    out += [Example(texts[i], None, float(score[i].max())) for i in pool[:benign]]
    return out


def targets(examples: list[Example], client: LLMClient | None) -> list[str]:
    """The answer each example trains: an explanation (when an endpoint is given) ending in the decision."""
    answers = [_answer(e.parent) for e in examples]
    if client is None:
        return [f"[[{a}]]" for a in answers]
    requests = [[*paper_messages(e.text)[:-1], {"role": "user", "content": paper_messages(e.text)[-1]["content"]
                                                + "\n\n" + EXPLAIN_NOTE.format(answer=a)}]
                for e, a in zip(examples, answers)]
    out = []
    for result, answer in zip(client.chat_many(requests, temperature=0.0, max_tokens=300, desc="explanations"),
                              answers):
        text = chat_text(result.response).strip() if result.response is not None else ""
        if f"[[{answer}]]" not in text:
            text = f"{text} [[{answer}]]".strip()
        out.append(text)
    return out


def write_set(examples: list[Example], answers: list[str], out: str | Path) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"sharegpt": out / "sharegpt.jsonl", "openai": out / "openai_messages.jsonl",
             "labels": out / "labels.jsonl"}
    with paths["sharegpt"].open("w", encoding="utf-8") as sg, paths["openai"].open("w", encoding="utf-8") as om, \
            paths["labels"].open("w", encoding="utf-8") as lb:
        for n, (example, answer) in enumerate(zip(examples, answers)):
            prompt = paper_messages(example.text)[-1]["content"]
            sg.write(json.dumps({"id": f"moderation-{n}", "system": PAPER_SYSTEM, "conversations": [
                {"from": "human", "value": prompt}, {"from": "gpt", "value": answer}]}, ensure_ascii=False) + "\n")
            om.write(json.dumps({"messages": [{"role": "system", "content": PAPER_SYSTEM},
                                              {"role": "user", "content": prompt},
                                              {"role": "assistant", "content": answer}]}, ensure_ascii=False) + "\n")
            # A flagged example is known positive for its parent only; a benign one negative for all.
            cats = {example.parent: 1} if example.parent else dict.fromkeys(CATEGORIES, 0)
            lb.write(json.dumps({"text": example.text, "flagged": int(example.parent is not None),
                                 "categories": cats}, ensure_ascii=False) + "\n")
    return paths
