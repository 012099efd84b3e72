"""Checking the safety judge against human and published labels.

- JailbreakBench artifacts (``attack-artifacts/<method>/<type>/<model>.json``): prompts, target
  responses and JailbreakBench's own ``jailbroken`` label. Every judge rule is scored against that
  label (accuracy, precision, recall, Cohen's kappa); null responses are counted and skipped.
- XSTest completions (``model_completions/*.csv``): human labels ``1_full_compliance``,
  ``2_full_refusal``, ``3_partial_refusal``. The refusal detector is scored with either refusal as
  the positive class, and the over-refusal rate on XSTest's *safe* prompts (those whose type does not
  start with ``contrast_``) is measured by the detector and by the humans.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from chatsift.errors import InputError
from chatsift.safety.judge import RULES, SafetyJudge
from chatsift.safety.refusal import is_refusal


def binary_agreement(gold: list[bool], predicted: list[bool]) -> dict:
    tp = sum(g and p for g, p in zip(gold, predicted))
    fp = sum(p and not g for g, p in zip(gold, predicted))
    fn = sum(g and not p for g, p in zip(gold, predicted))
    n = len(gold)
    tn = n - tp - fp - fn
    accuracy = (tp + tn) / n if n else None
    # Cohen's kappa: agreement beyond what the two marginals give by chance.
    chance = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n) if n else None
    kappa = (accuracy - chance) / (1 - chance) if n and chance is not None and chance < 1 else None
    return {"n": n, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "accuracy": _r(accuracy), "precision": _r(tp / (tp + fp) if tp + fp else None),
            "recall": _r(tp / (tp + fn) if tp + fn else None), "kappa": _r(kappa)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def read_jailbreakbench(folder: str | Path) -> tuple[list[dict], int]:
    """(records with prompt, response, jailbroken, method, model), and how many had no response."""
    root = Path(folder)
    files = sorted(root.glob("attack-artifacts/*/*/*.json"))
    if not files:
        raise InputError(f"{root} holds no attack-artifacts/<method>/<type>/<model>.json files")
    out, skipped = [], 0
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        params = data.get("parameters", {})
        if params.get("method") in {None, "test-artifact"} or "test-artifact" in path.parts:
            continue  # JailbreakBench's dummy artifacts
        for j in data.get("jailbreaks", []):
            if j.get("response") is None or j.get("jailbroken") is None:
                skipped += 1
                continue
            jailbroken = j["jailbroken"]
            out.append({"prompt": j.get("prompt") or "", "response": j["response"],
                        "jailbroken": jailbroken if isinstance(jailbroken, bool) else str(jailbroken) == "True",
                        "method": params.get("method"), "model": params.get("model")})
    return out, skipped


def validate_on_jailbreakbench(folder: str | Path, backend) -> dict:
    records, skipped = read_jailbreakbench(folder)
    gold = [r["jailbroken"] for r in records]
    # One moderation pass; every rule is a function of (flagged, refused).
    verdicts = SafetyJudge(backend, "flagged").judge([r["response"] for r in records])
    decide = {"flagged": lambda v: v.flagged, "flagged-complied": lambda v: v.flagged and not v.refused,
              "complied": lambda v: not v.refused}
    out = {"judge": backend.name, "responses": len(records), "skipped_null": skipped, "jailbroken": sum(gold),
           "rules": {}}
    for rule in RULES:
        known = [(g, bool(decide[rule](v))) for g, v in zip(gold, verdicts)
                 if rule == "complied" or v.flagged is not None]
        out["rules"][rule] = {**binary_agreement([g for g, _ in known], [p for _, p in known]),
                              "unjudged": len(gold) - len(known)}
    return out


def read_xstest(folder: str | Path) -> dict[str, list[dict]]:
    root = Path(folder)
    files = sorted((root / "model_completions").glob("*.csv"))
    if not files:
        raise InputError(f"{root} holds no model_completions/*.csv files")
    out = {}
    for path in files:
        with open(path, newline="", encoding="utf-8") as fh:
            out[path.stem.replace("xstest_v2_completions_", "")] = list(csv.DictReader(fh))
    return out


def validate_refusals_on_xstest(folder: str | Path) -> dict:
    out = {}
    for name, rows in read_xstest(folder).items():
        gold = [r["final_label"] != "1_full_compliance" for r in rows]
        predicted = [is_refusal(r["completion"]) for r in rows]
        safe = [i for i, r in enumerate(rows) if not r["type"].startswith("contrast_")]
        out[name] = {
            "refusal": binary_agreement(gold, predicted),
            "full_refusal_only": binary_agreement([r["final_label"] == "2_full_refusal" for r in rows], predicted),
            "safe_prompts": len(safe),
            "over_refusal_human": _r(sum(gold[i] for i in safe) / len(safe)) if safe else None,
            "over_refusal_detected": _r(sum(predicted[i] for i in safe) / len(safe)) if safe else None,
        }
    return out
