"""Benchmark question and model-answer files: Arena-Hard-Auto and MT-bench (one conversation per model
per question).

Answer files sit in ``model_answer/`` (or ``reference_answer/``) beside ``question.jsonl``; the
question file is loaded once per unit to join prompts to answers by id. A question without an
answer is not a conversation: it is quarantined as ``benchmark_question`` unless
``read.benchmark_questions`` is ``prompts`` (then it is a one-prompt conversation, first turn only).
Reference answers are named as such (``gpt-4 (reference answer)``), so they never pass for the
model's own answers or supersede them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from chatsift.errors import AdaptError
from chatsift.io.containers import parse_json_line
from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    conversation_row,
    require_dict,
    require_key,
    role_content_messages,
    stable_id,
    text_of,
    to_tstamp,
)


def _load_questions(answer_path: str, id_key: str) -> dict[str, dict]:
    """Questions by id from the ``question.jsonl`` next to the answer folder, or {} if there is none."""
    here = Path(answer_path).resolve().parent
    for candidate in (here.parent / "question.jsonl", here / "question.jsonl"):
        if candidate.is_file() and candidate.resolve() != Path(answer_path).resolve():
            out = {}
            with open(candidate, "rb") as fh:
                for line in fh:
                    if line.strip():
                        q = parse_json_line(line)
                        if isinstance(q, dict) and id_key in q:
                            out[str(q[id_key])] = q
            return out
    return {}


def _answer_turns(choices: object, ctx: RecordContext) -> list[str | None]:
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise AdaptError("wrong_type", "choices should be a non-empty list of {index, turns}")
    turns = choices[0].get("turns")
    if not isinstance(turns, list):
        raise AdaptError("wrong_type", "choices[0].turns should be a list")
    return [text_of(t, ctx) for t in turns]


def question_prompt(ctx: RecordContext, turns: list[str | None]) -> list[dict]:
    if ctx.config.benchmark_questions != "prompts":
        raise AdaptError("benchmark_question", "a benchmark question without an answer is not a conversation; give "
                         "its model_answer/ files too, or --set read.benchmark_questions=prompts to read each "
                         "question as a one-prompt conversation")
    if len(turns) > 1:
        ctx.issues.append("benchmark_question_first_turn_only")
    return [{"role": "user", "content": turns[0] if turns else None}]


def question_conversation_ids(question_id: str) -> tuple[str, str]:
    """The conversation ids a benchmark question's prompt gets in a release (Arena-Hard's ``uid``,
    MT-bench's ``question_id``), so that judgments naming the question find its conversation."""
    return stable_id("arena_hard", question_id), stable_id("mt_bench", question_id)


def reference_name(path: str, model: str) -> str:
    return f"{model} (reference answer)" if "reference_answer" in Path(path).parts else model


def _interleave(user_turns: list[str | None], answers: list[str | None]) -> list[dict]:
    messages: list[dict] = []
    for i, prompt in enumerate(user_turns):
        messages.append({"role": "user", "content": prompt})
        if i < len(answers):
            messages.append({"role": "assistant", "content": answers[i]})
    return messages


class ArenaHardReader(Reader):
    name = "arena_hard"
    description = "Arena-Hard-Auto question.jsonl and model_answer/*.jsonl"
    expects = ('question: {"uid", "prompt", "category", ...}; answer: {"uid", "model", "messages": [{"role": "user", '
               '"content": str}, {"role": "assistant", "content": {"answer": str}}], "tstamp"}')

    def __init__(self) -> None:
        self._questions: dict[str, dict] = {}

    def sniff(self, obj: object) -> bool:
        return isinstance(obj, dict) and "uid" in obj and ("prompt" in obj or "messages" in obj)

    def open_unit(self, path: str) -> None:
        self._questions = _load_questions(path, "uid")

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        uid = str(require_key(rec, "uid"))
        if "messages" not in rec:
            prompt = text_of(require_key(rec, "prompt", str), ctx)
            yield conversation_row(ctx, self.name, stable_id("arena_hard", uid), question_prompt(ctx, [prompt]))
            return
        model = rec.get("model")
        if not isinstance(model, str):
            raise AdaptError("wrong_type", "an answer record needs a text 'model'")
        model = reference_name(ctx.path, model)
        messages = role_content_messages(rec["messages"], ctx)
        if messages and messages[0]["role"] != "user":
            question = self._questions.get(uid)
            if question is None:
                raise AdaptError("missing_question", f"no prompt for uid {uid} (question.jsonl not found beside it)")
            messages.insert(0, {"role": "user", "content": text_of(question.get("prompt"), ctx)})
        yield conversation_row(
            ctx, self.name, stable_id("arena_hard", uid, model), messages, model=model,
            tstamp=to_tstamp(rec.get("tstamp")),
        )


class MTBenchReader(Reader):
    name = "mt_bench"
    description = "MT-bench question.jsonl and model_answer/*.jsonl (turns as parallel lists)"
    expects = ('question: {"question_id", "category", "turns": [str, str]}; answer: {"question_id", "model_id", '
               '"choices": [{"index", "turns": [str, str]}], "tstamp"}')

    def __init__(self) -> None:
        self._questions: dict[str, dict] = {}

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict) or "question_id" not in obj:
            return False
        return isinstance(obj.get("choices"), list) or isinstance(obj.get("turns"), list)

    def open_unit(self, path: str) -> None:
        self._questions = _load_questions(path, "question_id")

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        qid = str(require_key(rec, "question_id"))
        if "choices" not in rec:
            turns = [text_of(t, ctx) for t in require_key(rec, "turns", list)]
            yield conversation_row(ctx, self.name, stable_id("mt_bench", qid), question_prompt(ctx, turns))
            return
        model = rec.get("model_id", rec.get("model"))
        if not isinstance(model, str):
            raise AdaptError("wrong_type", "an answer record needs a text 'model_id'")
        model = reference_name(ctx.path, model)
        question = self._questions.get(qid)
        if question is None:
            raise AdaptError("missing_question", f"no question {qid} (question.jsonl not found beside model_answer/)")
        user_turns = [text_of(t, ctx) for t in question.get("turns", [])]
        messages = _interleave(user_turns, _answer_turns(rec["choices"], ctx))
        yield conversation_row(
            ctx, self.name, stable_id("mt_bench", qid, model), messages, model=model,
            tstamp=to_tstamp(rec.get("tstamp")),
        )
