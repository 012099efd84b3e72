"""Parsing what judges write: pairwise verdicts, 1-10 ratings, the seven-criteria list.

Real judge output is messy: bold markers around the brackets, spaces inside them, ``A<B`` written
for ``B>A``, a verdict quoted from the instructions before the real one, decimals (``[[9.5]]``) that
FastChat's integer pattern missed. Each parser returns None when the text has no usable answer, and
the caller records that as "unparsed", never as a score.
"""

from __future__ import annotations

import ast
import re

import orjson

# score of A, and whether the verdict is strong (counted several times by Arena-Hard)
VERDICT_SCORES = {"A>>B": (1.0, True), "A>B": (1.0, False), "A=B": (0.5, False), "B>A": (0.0, False),
                  "B>>A": (0.0, True)}
_VERDICT = re.compile(r"\[\[\s*([AB])\s*([<>=]{1,2})\s*([AB])\s*\]\]")
_MTBENCH_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")  # FastChat pair-v2: [[A]], [[B]], [[C]] for a tie
_MTBENCH = {"A": "A>B", "B": "B>A", "C": "A=B"}
_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*(?:/\s*10\s*)?\]\]")
# FastChat falls back to any "[N]"; that reads list indices in code as ratings, so it must follow "Rating".
_RATING_SINGLE = re.compile(r"[Rr]ating\s*:?\s*\[\s*(\d+(?:\.\d+)?)\s*\]")
_CRITERIA = re.compile(r"\[\s*[1-7](?:\s*,\s*[1-7])*\s*\]")
CRITERIA = ("specificity", "domain_knowledge", "complexity", "problem_solving", "creativity",
            "technical_accuracy", "real_world")


def _normalise(left: str, op: str, right: str) -> str | None:
    if left == right:
        return None
    if op in {"=", "=="}:
        return "A=B"
    if op in {"<", "<<"}:  # "A<B" means B is better
        left, right, op = right, left, op.replace("<", ">")
    if op not in {">", ">>"}:
        return None
    return f"{left}{op}{right}"


def parse_verdict(text: str | None) -> str | None:
    """``A>>B`` … ``B>>A`` from a pairwise judgment; None when absent or contradictory."""
    if not text:
        return None
    found = {v for v in (_normalise(*m.groups()) for m in _VERDICT.finditer(text)) if v}
    if not found:
        found = {_MTBENCH[m.group(1)] for m in _MTBENCH_VERDICT.finditer(text)}
    return found.pop() if len(found) == 1 else None  # several different verdicts: Arena-Hard's "unparsed"


def parse_rating(text: str | None, low: float = 1.0, high: float = 10.0) -> float | None:
    """A ``[[N]]`` rating (the last one), falling back to ``[N]`` and to JSON ``score_value``/``score``."""
    if not text:
        return None
    matches = _RATING.findall(text) or _RATING_SINGLE.findall(text)
    value: float | None = float(matches[-1]) if matches else _json_score(text)
    if value is None or not (low <= value <= high):
        return None
    return value


def _json_score(text: str) -> float | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        obj = orjson.loads(text[start:end + 1])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    for key in ("score_value", "score", "rating"):
        value = obj.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                continue
    return None


def parse_criteria(text: str | None) -> dict[str, bool] | None:
    """The seven Arena-Hard criteria from a list like ``[1, 2, 4]`` (or a JSON object of booleans)."""
    if not text:
        return None
    lists = {m.group(0).replace(" ", "") for m in _CRITERIA.finditer(text)}
    if len(lists) == 1:
        met = set(ast.literal_eval(lists.pop()))
        return {name: (i + 1) in met for i, name in enumerate(CRITERIA)}
    if len(lists) > 1:
        return None  # Arena-Hard's "Multiple Match"
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            obj = orjson.loads(text[start:end + 1])
        except orjson.JSONDecodeError:
            return None
        if isinstance(obj, dict) and all(isinstance(obj.get(c), bool) for c in CRITERIA):
            return {c: obj[c] for c in CRITERIA}
    if text.strip() in {"[]", "None", "none"}:
        return dict.fromkeys(CRITERIA, False)
    return None
