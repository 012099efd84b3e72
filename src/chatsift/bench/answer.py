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


def token_count(text: str) -> int:
    """The answer's length as style control counts it (``arena.style``: whitespace-separated words).
    Arena-Hard counts tiktoken tokens, whose encodings are downloaded at run time; a word count is what can
    be had offline, and it is what ``conv_metadata.token_len`` holds too, so the two always agree."""
    return answer_style(text)["tokens"]


def conv_metadata(turns: list[str]) -> dict:
    """Arena-Hard's style counts over all turns of an answer (style control reads them)."""
    total = {"tokens": 0, "headers": 0, "lists": 0, "bold": 0}
    for t in turns:
        for k, v in answer_style(t).items():
            total[k] += v
    return {"token_len": total["tokens"], "header_count": total["headers"], "list_count": total["lists"],
            "bold_count": total["bold"]}


def converse(client: LLMClient, conversations: list[list[str]], max_tokens: int, label: str,
             temperature: float = 0.0) -> list[list[str] | None]:
    """The model's answers to each conversation's user turns, turn by turn (None where a call failed).

    Turn k is sent with the model's own answers to turns 1..k-1; every conversation's turn k goes
    out as one concurrent batch.
    """
    history: list[list[dict]] = [[] for _ in conversations]
    answers: list[list[str] | None] = [[] for _ in conversations]
    for turn in range(max((len(c) for c in conversations), default=0)):
        batch = [i for i, c in enumerate(conversations) if answers[i] is not None and turn < len(c)]
        for i in batch:
            history[i].append({"role": "user", "content": conversations[i][turn]})
        results = client.chat_many([history[i] for i in batch], temperature=temperature, max_tokens=max_tokens,
                                   desc=f"{label} turn {turn + 1}")
        for i, result in zip(batch, results):
            if result.response is None:
                answers[i] = None
                continue
            text = chat_text(result.response)
            history[i].append({"role": "assistant", "content": text})
            answers[i].append(text)
    return answers


def answer_questions(bench, questions: list[Question], client: LLMClient, name: str | None = None,
                     max_tokens: int = 4096) -> AnswerReport:
    from pathlib import Path

    model = name or client.endpoint.model
    path = Path(bench) / "model_answer" / f"{safe_name(model)}.jsonl"
    done = read_answers(path.parent).get(model, {}) if path.exists() else {}
    todo = [q for q in questions if q.qid not in done]
    report = AnswerReport(model, len(questions), already=len(questions) - len(todo))
    replies = converse(client, [q.turns for q in todo], max_tokens, model)
    records = []
    for q, turns in zip(todo, replies):
        if turns is None:
            report.failed += 1
            continue
        meta = conv_metadata(turns)
        answer_id = uuid.uuid4().hex
        messages = []
        for question, text in zip(q.turns, turns):
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": {"answer": text}}]
        records.append({"question_id": q.out_id, "answer_id": answer_id, "model_id": model,  # v0.1 and FastChat
                        "choices": [{"index": 0, "turns": [{"content": t, "token_len": token_count(t)}
                                                           for t in turns]}],
                        "tstamp": time.time(), "conv_metadata": meta,
                        "uid": q.qid, "ans_id": answer_id, "model": model, "messages": messages,  # v2.0
                        "metadata": meta})
    append_jsonl(path, records)
    report.written = len(records)
    return report
