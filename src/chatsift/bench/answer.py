"""``bench answer``: answers from the models under test, in Arena-Hard-Auto's ``model_answer`` layout.

Answers are sampled at temperature 0, as the paper and Arena-Hard-Auto do.
Multi-turn questions are answered turn by turn: turn k is sent with the model's own answers to
turns 1..k-1, and all questions' turn k go out as one concurrent batch. Questions already answered
in the file are skipped, so an interrupted run resumes; failed requests are counted and left for
the rerun, never written as empty answers.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from chatsift.arena.style import answer_style
from chatsift.bench.layout import Question, append_jsonl, read_answers, safe_name
from chatsift.llm import LLMClient, chat_text


@dataclass
class AnswerReport:
    model: str
    questions: int
    written: int = 0
    already: int = 0
    failed: int = 0


def conv_metadata(turns: list[str]) -> dict:
    """Arena-Hard's style counts over all turns of an answer (style control reads them)."""
    total = {"tokens": 0, "headers": 0, "lists": 0, "bold": 0}
    for t in turns:
        for k, v in answer_style(t).items():
            total[k] += v
    return {"token_len": total["tokens"], "header_count": total["headers"], "list_count": total["lists"],
            "bold_count": total["bold"]}


def answer_questions(bench, questions: list[Question], client: LLMClient, name: str | None = None,
                     max_tokens: int = 4096) -> AnswerReport:
    from pathlib import Path

    model = name or client.endpoint.model
    path = Path(bench) / "model_answer" / f"{safe_name(model)}.jsonl"
    done = read_answers(path.parent).get(model, {}) if path.exists() else {}
    todo = [q for q in questions if q.qid not in done]
    report = AnswerReport(model, len(questions), already=len(questions) - len(todo))
    history: dict[str, list[dict]] = {q.qid: [] for q in todo}
    answers: dict[str, list[str]] = {q.qid: [] for q in todo}
    alive = set(history)
    for turn in range(max((len(q.turns) for q in todo), default=0)):
        batch = [q for q in todo if q.qid in alive and turn < len(q.turns)]
        for q in batch:
            history[q.qid].append({"role": "user", "content": q.turns[turn]})
        results = client.chat_many([history[q.qid] for q in batch], temperature=0.0, max_tokens=max_tokens,
                                   desc=f"{model} turn {turn + 1}")
        for q, result in zip(batch, results):
            if result.response is None:
                alive.discard(q.qid)
                continue
            text = chat_text(result.response)
            history[q.qid].append({"role": "assistant", "content": text})
            answers[q.qid].append(text)
    records = []
    for q in todo:
        if q.qid not in alive:
            report.failed += 1
            continue
        turns = answers[q.qid]
        meta = conv_metadata(turns)
        records.append({"question_id": q.qid, "answer_id": uuid.uuid4().hex, "model_id": model,
                        "choices": [{"index": 0, "turns": [{"content": t, "token_len": len(t.split())}
                                                           for t in turns]}],
                        "tstamp": time.time(), "conv_metadata": meta})
    append_jsonl(path, records)
    report.written = len(records)
    return report
