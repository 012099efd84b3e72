"""``safety mine``: the paper's Table 4 (jailbreak attempts and successes per model), with categories.

Definitions are those of ``signals.py``. The success rate is successes / attempts with a Wilson 95%
interval (it stays inside [0, 1] and is defined for small counts); a model with no attempts has no
rate (``None``), not 0%.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from chatsift.errors import ReleaseError
from chatsift.safety.signals import iter_signals
from chatsift.schema import MODERATION_CATEGORIES

# reference/paper.md, Table 4 (attempt = a user message flagged, success = an assistant message flagged).
PAPER_TABLE4 = [
    {"model": "vicuna-13b", "conversations": 490_712, "attempts": 15_925, "successes": 13_463},
    {"model": "alpaca-13b", "conversations": 62_469, "attempts": 3_043, "successes": 2_112},
    {"model": "vicuna-33b", "conversations": 31_111, "attempts": 7_083, "successes": 5_106},
    {"model": "llama-2-13b-chat", "conversations": 29_971, "attempts": 831, "successes": 292},
    {"model": "gpt-3.5-turbo", "conversations": 7_578, "attempts": 283, "successes": 207},
    {"model": "gpt-4", "conversations": 7_304, "attempts": 368, "successes": 109},
    {"model": "claude-2", "conversations": 2_241, "attempts": 78, "successes": 18},
]
DEFINITION = {"attempt": "at least one user message is flagged",
              "success": "an attempt in which at least one assistant message is flagged",
              "rate": "successes / attempts, Wilson 95% interval",
              "untagged": "moderation tags missing or not aligned with the messages; counted in neither"}
NO_TAGS = ("has no moderation tags; tag it first with `chatsift moderate RELEASE` (local model by default), or "
           "curate with --moderator")


def wilson(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float] | None:
    if trials <= 0:
        return None
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(successes: int, trials: int) -> dict:
    ci = wilson(successes, trials)
    return {"rate": round(successes / trials, 4) if trials else None,
            "ci95": [round(ci[0], 4), round(ci[1], 4)] if ci else None}


def _categories(attempts: np.ndarray, successes: np.ndarray) -> dict[str, dict[str, int]]:
    return {c: {"attempts": int(a), "successes": int(s)}
            for c, a, s in zip(MODERATION_CATEGORIES, attempts, successes) if a or s}


def mine_release(release: str | Path) -> dict:
    """Table 4 of ``release`` as a JSON-able dict; raises ``ReleaseError`` when nothing is tagged."""
    k = len(MODERATION_CATEGORIES)
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(4, np.int64))  # convs, tagged, attempts, successes
    flagged_side: dict[str, int] = defaultdict(int)
    cat_attempts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(k, np.int64))
    cat_successes: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(k, np.int64))
    for _, s in iter_signals(release):
        success = s.success
        per_model = s.by_model(np.stack([np.ones_like(s.tagged), s.tagged, s.attempt, success], axis=1))
        side = s.by_model(s.assistant_flagged)
        # A success counts toward the categories its flagged assistant messages carry; an attempt toward those
        # of its flagged messages on either side, so that no category has more successes than attempts
        # (a request flagged as harassment that drew a sexual answer is an attempt in both).
        attempts_by_cat = s.by_model((s.user_categories | (s.assistant_categories & success[:, None]))
                                     & s.attempt[:, None])
        successes_by_cat = s.by_model(s.assistant_categories & success[:, None])
        for code, model in enumerate(s.model_names):
            counts[model] += per_model[code]
            flagged_side[model] += int(side[code])
            cat_attempts[model] += attempts_by_cat[code]
            cat_successes[model] += successes_by_cat[code]
    total = np.sum(list(counts.values()), axis=0) if counts else np.zeros(4, np.int64)
    if not total[1]:
        raise ReleaseError(f"{release} {NO_TAGS}")
    rows = []
    for model, (n, tagged, attempts, successes) in counts.items():
        rows.append({"model": model, "conversations": int(n), "tagged": int(tagged), "attempts": int(attempts),
                     "successes": int(successes), "assistant_flagged": flagged_side[model],
                     "attempt_share": round(float(attempts / tagged), 4) if tagged else None,
                     **_rate(int(successes), int(attempts)),
                     "categories": _categories(cat_attempts[model], cat_successes[model])})
    rows.sort(key=lambda r: (-r["attempts"], -r["conversations"], r["model"]))
    all_attempts = sum(cat_attempts.values(), np.zeros(k, np.int64))
    all_successes = sum(cat_successes.values(), np.zeros(k, np.int64))
    return {"release": str(release), "definition": DEFINITION, "conversations": int(total[0]),
            "tagged": int(total[1]), "untagged": int(total[0] - total[1]), "attempts": int(total[2]),
            "successes": int(total[3]), **_rate(int(total[3]), int(total[2])), "models": rows,
            "categories": _categories(all_attempts, all_successes), "paper_table4": PAPER_TABLE4}
