"""The two prompt-rating prompts: the paper's 1-10 score (Appendix B.7) and Arena-Hard's seven criteria.

Both are written here from the published structure (reference/paper.md 11.2 and 13.1); the paper's
exact wording is not public. Prompts are cut to ``MAX_PROMPT_CHARS`` as BenchBuilder does.
"""

from __future__ import annotations

MAX_PROMPT_CHARS = 12_500

SCORE_SYSTEM = (
    "You rate prompts that people sent to an AI assistant. Judge how well a prompt could test an assistant's "
    "problem-solving skills, its creativity, and its adherence to real-world facts.\n\n"
    "Work in three steps:\n"
    "1. Topic: name the task the prompt asks for in two words.\n"
    "2. Potential: say how demanding the prompt is and how well it tests those three abilities, in one or two "
    "sentences.\n"
    "3. Score: give an integer from 1 to 10 inside double square brackets, for example [[5]].\n\n"
    "Use 8 to 10 only for prompts that are particularly hard and well designed; 4 to 7 for prompts with moderate "
    "potential; 1 to 3 for prompts that are too easy, ambiguous or inadequate. Be strict: ambiguous or trivial "
    "prompts never get a high score."
)

CRITERIA_SYSTEM = (
    "Your task is to decide which of seven properties a user prompt has, to judge how well it can test advanced "
    "AI assistants. The properties:\n"
    "1. Specificity: the prompt asks for a specific output, such as code, a mathematical solution or a "
    "hardware setup.\n"
    "2. Domain knowledge: the prompt belongs to a specific domain.\n"
    "3. Complexity: the prompt has several steps or layers rather than being simple.\n"
    "4. Problem-solving: the prompt needs active problem solving, not recall of facts.\n"
    "5. Creativity: the prompt needs a creative, tailored approach.\n"
    "6. Technical accuracy: the prompt needs technical precision.\n"
    "7. Real-world application: the prompt relates to practical use.\n\n"
    "Answer with the numbers of the properties the prompt has, as a list such as [1, 2, 4], and nothing else. "
    "Answer [] when it has none."
)


def _clip(prompt: str) -> str:
    return prompt[:MAX_PROMPT_CHARS]


def score_messages(prompt: str) -> list[dict]:
    return [{"role": "system", "content": SCORE_SYSTEM},
            {"role": "user", "content": f"[User prompt]\n{_clip(prompt)}\n[End of user prompt]"}]


def criteria_messages(prompt: str) -> list[dict]:
    return [{"role": "system", "content": CRITERIA_SYSTEM},
            {"role": "user", "content": f"<|User Prompt|>\n{_clip(prompt)}\n<|End of User Prompt|>"}]
