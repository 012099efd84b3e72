"""Arena-Hard-Auto's folder layout, read tolerantly and written for both generations of its tools.

``BENCH/question.jsonl``, ``BENCH/model_answer/<model>.jsonl``, ``BENCH/reference_answer/<model>.jsonl``
and ``BENCH/model_judgment/<judge>/<model>.jsonl``. Questions are read in every published shape
(Arena-Hard v0.1 ``turns: [{content}]``, v2 ``uid``/``prompt``, MT-bench ``turns: [str]``); answers in
FastChat's (``choices[0].turns`` as strings) and Arena-Hard's (``{content, token_len}``) shapes.
Records are written with the keys of both generations: v0.1's (``question_id``, ``answer_id``,
``model_id``, ``choices``, ``conv_metadata``) that FastChat and Arena-Hard v0.1 read, and v2.0's
(``uid``, ``ans_id``, ``model``, ``messages`` with ``content: {answer}``, ``metadata``; judgments with
``uid`` and ``category``); each tool ignores the other's keys.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson

from chatsift.errors import ConfigError


@dataclass
class Question:
    qid: str
    turns: list[str]
    category: str = ""
    cluster: str = ""
    raw_id: object = None  # the id as the file gives it (MT-bench's are integers), written back as given

    @property
    def out_id(self) -> object:
        return self.qid if self.raw_id is None else self.raw_id


def safe_name(name: str) -> str:
    """A model or judge name as a file name (Arena-Hard keeps names like ``claude-3.7-sonnet(thinking)``)."""
    cleaned = re.sub(r"[^\w.()+=@-]+", "_", name).strip("._")
    return cleaned or "model"


def jsonl_records(path: Path):
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    raise ConfigError(f"{path}:{number}: not a JSON line") from None
                if not isinstance(record, dict):
                    raise ConfigError(f"{path}:{number}: expected a JSON object")
                yield number, record


def _turn_text(turn) -> str | None:
    if isinstance(turn, str):
        return turn
    if isinstance(turn, dict):
        content = turn.get("content")
        if isinstance(content, dict):  # Arena-Hard v2 answers: {"answer": ...}
            content = content.get("answer")
        return content if isinstance(content, str) else None
    return None


def read_questions(bench: str | Path) -> list[Question]:
    path = Path(bench)
    path = path / "question.jsonl" if path.is_dir() else path
    if not path.exists():
        raise ConfigError(f"{path} does not exist: a benchmark folder needs question.jsonl")
    questions: list[Question] = []
    ids: Counter = Counter()
    for number, rec in jsonl_records(path):
        qid = rec.get("uid", rec.get("question_id"))
        if qid is None:
            raise ConfigError(f"{path}:{number}: a question needs uid or question_id")
        turns = rec.get("turns")
        texts = [_turn_text(t) for t in turns] if isinstance(turns, list) else [rec.get("prompt")]
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise ConfigError(f"{path}:{number}: question {qid} has an empty or non-text turn")
        ids[str(qid)] += 1
        questions.append(Question(str(qid), texts, str(rec.get("category", "")),
                                  str(rec.get("cluster", rec.get("subcategory", ""))), raw_id=qid))
    duplicated = [q for q, n in ids.items() if n > 1]
    if duplicated:
        raise ConfigError(f"{path}: duplicate question ids ({', '.join(duplicated[:5])}"
                          f"{', …' if len(duplicated) > 5 else ''}); each question needs its own id")
    if not questions:
        raise ConfigError(f"{path} has no questions")
    return questions


def write_questions(path: str | Path, records: list[dict]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec) + b"\n")
    tmp.replace(path)
    return path


def read_answers(folder: str | Path) -> dict[str, dict[str, list[str]]]:
    """model_id -> question id -> assistant turns, from every ``*.jsonl`` in ``folder``."""
    folder = Path(folder)
    answers: dict[str, dict[str, list[str]]] = {}
    if not folder.is_dir():
        return answers
    for path in sorted(folder.glob("*.jsonl")):
        for number, rec in jsonl_records(path):
            model = rec.get("model_id", rec.get("model", path.stem))
            qid = rec.get("question_id", rec.get("uid"))
            choices = rec.get("choices")
            if isinstance(choices, list) and choices and isinstance(choices[0], dict):
                turns = [_turn_text(t) for t in choices[0].get("turns", [])]
            elif isinstance(rec.get("messages"), list):  # v2: the assistant messages
                turns = [_turn_text(m) for m in rec["messages"]
                         if isinstance(m, dict) and m.get("role") == "assistant"]
            else:
                raise ConfigError(f"{path}:{number}: an answer needs choices[0].turns or messages")
            if qid is None or any(t is None for t in turns):
                raise ConfigError(f"{path}:{number}: an answer needs question_id and text turns")
            answers.setdefault(str(model), {})[str(qid)] = turns
    return answers


def append_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec) + b"\n")
