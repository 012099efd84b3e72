"""How far a release's moderation tags can be trusted: the local model's own measured figures.

The card, ``chatsift stats`` and the report print these beside Table 2 and Table 4, so that tags written
by chatsift's model are never read as OpenAI's: per category, the precision and recall the model
reached on data it never trained on (the held-apart test splits when it was scored on them, else its
out-of-fold predictions), at the thresholds it uses.
"""

from __future__ import annotations

import json
from pathlib import Path

from chatsift.errors import ConfigError
from chatsift.moderation.local import bundled_model_path, stage_metas
from chatsift.moderation.settings import choose_stage


def trust_figures(moderation_config: dict | None) -> dict | None:
    """``None`` unless the local moderator wrote the tags (an API or the source vouches for its own)."""
    if not moderation_config or moderation_config.get("backend") != "local":
        return None
    folder = Path(moderation_config.get("model") or bundled_model_path())
    try:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"model": folder.name, "heads": {}, "note": "its model.json could not be read"}
    point = moderation_config.get("operating_point") or "balanced"
    stages = stage_metas(meta)
    try:
        stage_name = choose_stage(list(stages), moderation_config.get("encoder", "auto"))
    except ConfigError:  # the model has changed since the release was tagged: its n-gram figures at least
        stage_name = None
    stage = stages.get(stage_name) if stage_name else None
    trained = {h["head"] for h in meta.get("head_settings", []) if h.get("trained")}
    heads = {}
    for h in (stage or meta).get("head_settings", []):
        figures = (h.get("points") or {}).get(point) or h.get("held_out")
        if h.get("head") in trained and figures and "precision" in figures:
            heads[h["head"]] = {"precision": figures["precision"], "recall": figures["recall"],
                                "harmless_flag_rate": figures.get("harmless_flag_rate", h.get("harmless_flag_rate"))}
    heldout = {}
    for spec, report in ((stage or meta).get("heldout") or {}).items():
        categories = report.get("categories") or {}
        heldout[spec] = {"binary": report.get("binary"), "categories": {
            c: {"precision": m["precision"], "recall": m["recall"], "support": m["support"]}
            for c, m in categories.items()}}
    note = meta.get("threshold_note", "")
    if stage:
        note += (f"; a second stage over sentence embeddings ({stage.get('encoder')}) restates the scores where "
                 "the n-grams are not sure, with its own thresholds")
    if point != "balanced":
        note += f"; this release uses the `{point}` operating point"
    if moderation_config.get("threshold") is not None:
        note = (f"set to {moderation_config['threshold']:g} for every category by this release's config "
                "(moderation.threshold), so the figures above, measured at the model's own thresholds, do not apply")
    name = meta.get("name", folder.name) + (f"+{stage_name}" if stage else "")
    return {"model": name, "heads": heads, "heldout": heldout, "note": note, "point": point}


def trust_lines(trust: dict | None) -> list[str]:
    """The figures as plain sentences (for the card and ``stats``)."""
    if not trust:
        return []
    lines = [f"These tags were written by chatsift's local moderator `{trust['model']}`, not by OpenAI's "
             "moderation API: compare them with the paper's OpenAI figures only with that in mind."]
    at = "" if trust.get("point", "balanced") == "balanced" else " at the balanced point, not the one used"
    for spec, report in trust.get("heldout", {}).items():
        b = report.get("binary") or {}
        if b:
            lines.append(f"On {spec.rsplit('/', 1)[-1]} (never trained on){at}: flagged precision "
                         f"{b.get('precision')}, recall {b.get('recall')}, F1 {b.get('f1')}.")
    if trust["heads"]:
        lines.append("Held-out precision / recall per category at the thresholds used: " + "; ".join(
            f"{h} {m['precision']:.2f} / {m['recall']:.2f}" for h, m in trust["heads"].items()) + ".")
        rates = {h: m["harmless_flag_rate"] for h, m in trust["heads"].items()
                 if m.get("harmless_flag_rate") is not None}
        if rates:  # what the out-of-fold figures cannot show: how often a point flags harmless prompts
            lines.append("Share of the harmless real prompts the thresholds were calibrated on that each category "
                         "flags at the thresholds used (fitted at the balanced point, so not an estimate for new "
                         "text): " + "; ".join(f"{h} {r:.1%}" for h, r in rates.items()) + ".")
    if trust.get("note"):
        lines.append(f"How the thresholds were set: {trust['note']}.")
    return lines
