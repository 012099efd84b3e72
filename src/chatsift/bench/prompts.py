"""Judge prompts: Arena-Hard-style pairwise judging and MT-bench-style single-answer grading.

The built-in texts are written here from the published structure (reference/paper.md 11.3 and 13.4).
``load_prompt_file`` reads FastChat's ``judge_prompts.jsonl`` (``name``, ``type``, ``system_prompt``,
``prompt_template`` with ``{question}``, ``{answer}``, ``{ref_answer_1}``, … placeholders), so a run
can use MT-bench's exact prompts, e.g. ``single-math-v1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from chatsift.errors import ConfigError

PAIRWISE_SYSTEM = (
    "Please act as an impartial judge of the answers two AI assistants gave to the user prompt below. You will "
    "be shown assistant A's answer and assistant B's answer, and must decide which one is better.\n\n"
    "Before judging, write your own answer to the prompt. Then compare both assistants' answers with yours, and "
    "point out and correct any mistakes or inaccurate information.\n\n"
    "Then judge whether each answer is helpful (it answers the prompt correctly and follows its instructions; "
    "when a prompt is ambiguous or open to several readings, asking for clarification is more helpful than "
    "guessing), relevant (every part of it concerns what was asked) and concise (clear, not verbose). Where "
    "the prompt calls for it, weigh creativity and novelty. Note any important information missing from the "
    "answers. Do not let the order of the answers, their length or the assistants' names sway you.\n\n"
    "After your explanation, give exactly one final verdict label:\n"
    "1. Assistant A is significantly better: [[A>>B]]\n"
    "2. Assistant A is slightly better: [[A>B]]\n"
    "3. Tie, relatively the same: [[A=B]]\n"
    "4. Assistant B is slightly better: [[B>A]]\n"
    "5. Assistant B is significantly better: [[B>>A]]\n\n"
    'Example output: "My final verdict is tie: [[A=B]]".'
)
PAIRWISE_TEMPLATE = ("<|User Prompt|>\n{question}\n\n<|The Start of Assistant A's Answer|>\n{answer_a}\n"
                     "<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n{answer_b}\n"
                     "<|The End of Assistant B's Answer|>")
PAIRWISE_FOLLOW_UP = "Continue your judgment and finish by giving a final verdict label, e.g. [[A=B]]."

_SINGLE_INSTRUCTION = (
    "[Instruction]\nPlease act as an impartial judge of the response an AI assistant gave to the user question "
    "below. {focus} Begin with a short explanation and be as objective as possible. After the explanation, rate "
    "the response from 1 to 10 in exactly this format: \"[[rating]]\", for example: \"Rating: [[5]]\".\n\n"
)


@dataclass(frozen=True)
class JudgePrompt:
    name: str
    kind: str  # "pairwise" or "single"
    system: str
    template: str
    needs_reference: bool = False

    @property
    def multi_turn(self) -> bool:
        """A prompt that grades the second turn (FastChat's ``single-v1-multi-turn``): its grades are turn 2."""
        return self.name.endswith("multi-turn") or "{question_2}" in self.template

    def render(self, **fields: str) -> list[dict]:
        try:
            text = self.template.format_map(fields)
        except KeyError as exc:
            raise ConfigError(f"judge prompt {self.name} needs {{{exc.args[0]}}}, which this benchmark does not "
                              "provide") from None
        return [{"role": "system", "content": self.system}, {"role": "user", "content": text}]


BUILTIN = {
    "arena-hard": JudgePrompt("arena-hard", "pairwise", PAIRWISE_SYSTEM, PAIRWISE_TEMPLATE),
    "single-v1": JudgePrompt(
        "single-v1", "single", "You are a helpful assistant.",
        _SINGLE_INSTRUCTION.format(focus="Consider how helpful, relevant, accurate, deep, creative and detailed "
                                         "the response is.")
        + "[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"),
    "single-math-v1": JudgePrompt(
        "single-math-v1", "single", "You are a helpful assistant.",
        _SINGLE_INSTRUCTION.format(focus="Consider correctness and helpfulness. You are given a reference answer: "
                                         "compare the assistant's answer with it, and identify and correct any "
                                         "mistakes.")
        + "[Question]\n{question}\n\n[The Start of Reference Answer]\n{ref_answer_1}\n[The End of Reference Answer]"
          "\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]",
        needs_reference=True),
}


def load_prompt_file(path: str | Path) -> dict[str, JudgePrompt]:
    """FastChat's judge_prompts.jsonl format."""
    prompts = {}
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
                name, kind = rec["name"], rec["type"]
                template, system = rec["prompt_template"], rec.get("system_prompt", "")
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise ConfigError(f"{path}:{number}: a judge prompt needs name, type, prompt_template") from None
            prompts[name] = JudgePrompt(name, "single" if kind.startswith("single") else "pairwise", system,
                                        template, "{ref_answer_1}" in template)
    return prompts


def get_prompt(name: str, prompt_file: str | Path | None = None) -> JudgePrompt:
    prompts = dict(BUILTIN)
    if prompt_file:
        prompts.update(load_prompt_file(prompt_file))
    if name not in prompts:
        raise ConfigError(f"unknown judge prompt {name!r}; known: {', '.join(sorted(prompts))}")
    return prompts[name]
