"""The moderation taxonomy of the data contract, the paper's five parents, and mappings into them.

Every backend writes ``openai_moderation`` entries with exactly the 11 categories of OpenAI's
text-moderation-006 (``schema.MODERATION_CATEGORIES``). The paper's Table 2, Table 3 and training
set fold them into five parents (sub-categories count toward their parent).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from chatsift.schema import MODERATION_CATEGORIES, MODERATION_RESULT_TYPE, MODERATION_TYPE

CATEGORIES = MODERATION_CATEGORIES
# The local model has one head per category plus one for "flagged" (any harm, e.g. ToxicChat's label).
HEADS: tuple[str, ...] = (*CATEGORIES, "flagged")
PARENTS: tuple[str, ...] = ("hate", "self-harm", "sexual", "violence", "harassment")
PARENT_OF: dict[str, str] = {c: c.split("/")[0] for c in CATEGORIES}
# Keys of the OpenAI moderation release (samples-1680): a missing key means the label is unknown.
RELEASE_KEYS: dict[str, str] = {"S": "sexual", "H": "hate", "V": "violence", "HR": "harassment", "SH": "self-harm",
                                "S3": "sexual/minors", "H2": "hate/threatening", "V2": "violence/graphic"}


def parent_matrix(per_category: np.ndarray) -> np.ndarray:
    """(n, 11) category values -> (n, 5) parent values (the maximum over each parent's categories)."""
    out = np.zeros((per_category.shape[0], len(PARENTS)), dtype=per_category.dtype)
    for j, parent in enumerate(PARENTS):
        cols = [i for i, c in enumerate(CATEGORIES) if PARENT_OF[c] == parent]
        out[:, j] = per_category[:, cols].max(axis=1)
    return out


def result_dict(scores: dict[str, float], categories: dict[str, bool] | None = None,
                flagged: bool | None = None) -> dict:
    """One ``openai_moderation`` entry; categories missing from ``scores`` are 0 / false."""
    cat_scores = {c: float(scores.get(c) or 0.0) for c in CATEGORIES}
    cats = {c: bool((categories or {}).get(c, False)) for c in CATEGORIES}
    return {"categories": cats, "category_scores": cat_scores,
            "flagged": bool(any(cats.values()) if flagged is None else flagged)}


def from_api(result: dict | None) -> dict | None:
    """An OpenAI ``/moderations`` result (text-moderation-* or omni-moderation-*) in the data contract.

    omni's extra categories (``illicit``, ``illicit/violent``) have no column in the LMSYS schema:
    they are dropped from the categories but still count toward ``flagged``, as the API decided.
    """
    if not isinstance(result, dict):
        return None
    scores = result.get("category_scores") or {}
    cats = result.get("categories") or {}
    return result_dict({c: scores.get(c) for c in CATEGORIES}, {c: cats.get(c) for c in CATEGORIES},
                       bool(result.get("flagged")))


def results_to_arrow(scores: np.ndarray, decisions: np.ndarray, flagged: np.ndarray, offsets: np.ndarray,
                     valid: np.ndarray | None = None) -> pa.ListArray:
    """Build ``openai_moderation`` for many conversations at once, without Python dicts.

    ``scores`` and ``decisions`` are (messages, 11); ``offsets`` (conversations + 1) delimits each
    conversation's messages; a message whose ``valid`` is false gets a null entry.
    """
    cat_fields = MODERATION_RESULT_TYPE.field("categories").type
    score_fields = MODERATION_RESULT_TYPE.field("category_scores").type
    categories = pa.StructArray.from_arrays([pa.array(decisions[:, i], pa.bool_()) for i in range(len(CATEGORIES))],
                                            fields=list(cat_fields))
    category_scores = pa.StructArray.from_arrays(
        [pa.array(scores[:, i].astype(np.float64), pa.float64()) for i in range(len(CATEGORIES))],
        fields=list(score_fields))
    mask = None if valid is None or valid.all() else pa.array(~valid)
    entries = pa.StructArray.from_arrays([categories, category_scores, pa.array(flagged, pa.bool_())],
                                         fields=list(MODERATION_RESULT_TYPE), mask=mask)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), entries, type=MODERATION_TYPE)
