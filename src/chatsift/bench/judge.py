"""``bench judge``: pairwise judgments against a baseline (both orders) and single-answer grades.

Pairwise follows Arena-Hard-Auto: for every question two games, the baseline in position A and then
in position B, each parsed to one of five verdicts. A judgment without a verdict gets one follow-up
turn asking for it (Arena-Hard's second attempt); still none, and the game is kept with
``score: null`` so the leaderboard counts it as unparsed. Single grading is MT-bench's: a 1-10
``[[rating]]`` per answer, with a reference answer for ``single-math-v1``. Each judge writes its own
``model_judgment/<judge>/`` folder; several judges make an ensemble that the leaderboard pools.
Missing answers are counted per model and skipped, never judged as empty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from chatsift.arena.verdicts import parse_rating, parse_verdict
from chatsift.bench.layout import Question, read_answers, safe_name
from chatsift.bench.prompts import PAIRWISE_FOLLOW_UP, JudgePrompt
from chatsift.errors import ConfigError
from chatsift.llm import LLMClient, chat_text


@dataclass
class JudgeReport:
    judge: str
    folder: Path
    models: list[str]
    games: int = 0
    unparsed: int = 0
    failed: int = 0
    missing: Counter = field(default_factory=Counter)  # model -> questions without an answer to judge


def _conversation(turns: list[str], answers: list[str], label: str) -> tuple[str, str]:
    """One question and one answer text; several turns are laid out as a dialogue."""
    if len(turns) == 1:
        return turns[0], answers[0]
    question = "\n\n".join(f"### User (turn {i + 1}):\n{t}" for i, t in enumerate(turns))
    answer = "\n\n".join(f"### User (turn {i + 1}):\n{t}\n\n### {label} (turn {i + 1}):\n{a}"
                         for i, (t, a) in enumerate(zip(turns, answers)))
    return question, answer


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    tmp.replace(path)


def _finish(client: LLMClient, messages: list[list[dict]], answers: list[str | None], parse) -> list[str | None]:
    """A second attempt for answers without a verdict: the judge is asked to finish its judgment."""
    retry = [i for i, a in enumerate(answers) if a is not None and parse(a) is None]
    if not retry:
        return answers
    follow = [messages[i] + [{"role": "assistant", "content": answers[i]},
                             {"role": "user", "content": PAIRWISE_FOLLOW_UP}] for i in retry]
    for i, result in zip(retry, client.chat_many(follow, temperature=0.0, max_tokens=512, desc="follow-up")):
        if result.response is not None:
            answers[i] = answers[i] + "\n\n" + chat_text(result.response)
    return answers


def judge_pairwise(bench: str | Path, questions: list[Question], client: LLMClient, prompt: JudgePrompt,
                   baseline: str, models: list[str] | None = None, judge_name: str | None = None,
                   max_tokens: int = 4096) -> JudgeReport:
    bench = Path(bench)
    answers = read_answers(bench / "model_answer")
    if baseline not in answers:
        raise ConfigError(f"no answers from the baseline {baseline!r} in {bench}/model_answer "
                          f"(models with answers: {', '.join(sorted(answers)) or 'none'})")
    models = [m for m in (models or sorted(answers)) if m != baseline]
    unknown = [m for m in models if m not in answers]
    if unknown:
        raise ConfigError(f"no answers from {', '.join(unknown)} in {bench}/model_answer")
    judge = judge_name or client.endpoint.model
    report = JudgeReport(judge, bench / "model_judgment" / safe_name(judge), models)
    for model in models:
        games, messages = [], []
        for q in questions:
            base, own = answers[baseline].get(q.qid), answers[model].get(q.qid)
            if base is None or own is None or len(base) < len(q.turns) or len(own) < len(q.turns):
                report.missing[model] += 1
                continue
            question, base_text = _conversation(q.turns, base, "Assistant A")
            _, own_text = _conversation(q.turns, own, "Assistant B")
            _, own_as_a = _conversation(q.turns, own, "Assistant A")
            _, base_as_b = _conversation(q.turns, base, "Assistant B")
            for a, b in ((base_text, own_text), (own_as_a, base_as_b)):
                messages.append(prompt.render(question=question, answer_a=a, answer_b=b))
            games.append(q)
        results = client.chat_many(messages, temperature=0.0, max_tokens=max_tokens, desc=f"judge {model}")
        texts = [chat_text(r.response) if r.response is not None else None for r in results]
        texts = _finish(client, messages, texts, parse_verdict)
        records = []
        for n, q in enumerate(games):
            pair = []
            for g in (2 * n, 2 * n + 1):
                verdict = parse_verdict(texts[g])
                report.games += 1
                report.failed += texts[g] is None
                report.unparsed += texts[g] is not None and verdict is None
                pair.append({"user_prompt": messages[g][-1]["content"], "judgment": texts[g], "score": verdict,
                             **({"error": results[g].error} if results[g].error else {})})
            records.append({"question_id": q.out_id, "uid": q.qid, "category": q.category or "hard_prompt",
                            "model": model, "judge": judge, "baseline": baseline, "games": pair})
        _write(report.folder / f"{safe_name(model)}.jsonl", records)
    return report


def judge_single(bench: str | Path, questions: list[Question], client: LLMClient, prompt: JudgePrompt,
                 models: list[str] | None = None, reference: str | None = None, judge_name: str | None = None,
                 max_tokens: int = 2048) -> JudgeReport:
    bench = Path(bench)
    answers = read_answers(bench / "model_answer")
    refs: dict[str, list[str]] = {}
    if prompt.needs_reference:
        if not reference:
            raise ConfigError(f"judge prompt {prompt.name} compares with a reference answer: give --reference MODEL")
        pool = read_answers(bench / "reference_answer") or answers
        if reference not in pool:
            raise ConfigError(f"no reference answers from {reference!r} in {bench}/reference_answer or model_answer")
        refs = pool[reference]
    models = models or sorted(m for m in answers if m != reference)
    judge = judge_name or client.endpoint.model
    report = JudgeReport(judge, bench / "model_judgment" / safe_name(judge), models)
    for model in models:
        own_answers = answers.get(model)
        if own_answers is None:
            raise ConfigError(f"no answers from {model!r} in {bench}/model_answer")
        todo, messages = [], []
        for q in questions:
            own = own_answers.get(q.qid)
            ref = refs.get(q.qid) if prompt.needs_reference else None
            if own is None or (prompt.needs_reference and ref is None):
                report.missing[model] += 1
                continue
            fields = {"question": q.turns[0], "answer": own[0]}
            for i, (t, a) in enumerate(zip(q.turns, own), 1):
                fields[f"question_{i}"], fields[f"answer_{i}"] = t, a
            for i, r in enumerate(ref or [], 1):
                fields[f"ref_answer_{i}"] = r
            messages.append(prompt.render(**fields))
            todo.append(q)
        results = client.chat_many(messages, temperature=0.0, max_tokens=max_tokens, desc=f"grade {model}")
        records = []
        turn = 2 if prompt.multi_turn else 1  # FastChat files a multi-turn grade under turn 2
        for q, m, result in zip(todo, messages, results):
            text = chat_text(result.response) if result.response is not None else None
            score = parse_rating(text)
            report.games += 1
            report.failed += text is None
            report.unparsed += text is not None and score is None
            records.append({"question_id": q.out_id, "model": model, "judge": [judge, prompt.name],
                            "user_prompt": m[-1]["content"], "judgment": text, "score": score, "turn": turn,
                            **({"error": result.error} if result.error else {})})
        _write(report.folder / f"{safe_name(model)}.jsonl", records)
    return report
