"""The dataset card (README.md of a release): what was done, the counts, Table-1 basics and the schema."""

from __future__ import annotations

import json

import pyarrow as pa

from chatsift.schema import EXTRAS_BY_NAME, LMSYS_COLUMNS, LMSYS_SCHEMA

_CORE_DOCS = {
    "conversation_id": "conversation id (32 hex characters where the source had none)",
    "model": "model name",
    "conversation": "messages: list of {content, role}; roles alternate user/assistant",
    "turn": "len(conversation) // 2",
    "language": 'language of the first user message ("English", ...) or "unknown"',
    "openai_moderation": "moderation result per message in the OpenAI moderation 006 schema (see Moderation)",
    "redacted": "whether redaction changed the conversation (here or at the source)",
}


def _table(rows: list[tuple], header: tuple) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _moderation_section(mod: dict | None, config: dict | None = None) -> list[str]:
    from chatsift.moderation.trust import trust_figures, trust_lines

    if not mod:
        return []
    who = {("kept from the source" if k == "source" else "no tags" if k == "(none)" or k == "none" else f"`{k}`"): v
           for k, v in mod.get("backends", {}).items()}
    lines = ["## Moderation", "",
             "`openai_moderation` holds one result per message (the 11 categories of OpenAI moderation 006). "
             "Who wrote the tags, by conversation:", "",
             _table(sorted(who.items(), key=lambda x: -x[1]), ("tagged by", "conversations")), "",
             f"{mod.get('flagged_conversations', 0):,} conversations have at least one flagged message."]
    if mod.get("unparsed_messages"):
        lines.append(f"{mod['unparsed_messages']:,} messages got no usable answer from the backend (null entries).")
    if any(k.startswith("local:") for k in mod.get("backends", {})):
        lines.append("The local moderator is chatsift's own model (`chatsift moderator train`); its model.json "
                     "names its training data and held-out scores.")
        lines += ["", *trust_lines(trust_figures(config))]
    return [*lines, ""]


def _license_section(inputs: list[dict]) -> list[str]:
    """Which licence files sit beside the inputs: the release inherits their terms."""
    by_file: dict[str, dict] = {}
    for i in inputs:
        lic = i.get("license")
        if lic:
            entry = by_file.setdefault(lic["file"], {"title": lic["title"], "inputs": []})
            entry["inputs"].append(i["file"])
    lines = ["## Licence and attribution", ""]
    if not by_file:
        lines.append("No licence file was found beside the inputs. The conversations keep the terms of their "
                     "sources (and model outputs those of their providers): state them here before publishing.")
        return [*lines, ""]
    lines.append("The conversations keep the licences of their sources (and model outputs the terms of their "
                 "providers). Licence files found beside the inputs:")
    lines.append("")
    for path, entry in by_file.items():
        shown = ", ".join(f"`{f}`" for f in entry["inputs"][:5]) + (" …" if len(entry["inputs"]) > 5 else "")
        lines.append(f"- `{path}` ({entry['title']}): {shown}")
    missing = [i["file"] for i in inputs if not i.get("license")]
    if missing:
        lines.append(f"- no licence file found for: {', '.join(f'`{f}`' for f in missing[:5])}"
                     + (" …" if len(missing) > 5 else ""))
    lines.append("")
    lines.append("Attribution and share-alike terms of those licences apply to this release too.")
    return [*lines, ""]


def front_matter(path: str = "data/train-*", extra: tuple[str, ...] = ()) -> list[str]:
    """The YAML header that tells the Hub (and ``datasets``) where a folder's train split is."""
    return ["---", "configs:", "- config_name: default", "  data_files:", "  - split: train", f"    path: {path}",
            *extra, "---"]


def dataset_features(columns: list[str]) -> list[str]:
    """The Hub's ``dataset_info.features`` block for the release's columns (so the Hub shows the schema)."""
    types = {f.name: f.type for f in LMSYS_SCHEMA} | {name: c.type for name, c in EXTRAS_BY_NAME.items()}
    lines = ["dataset_info:", "  features:"]
    for name in columns:
        lines += _feature(name, types[name], "  ")
    return lines


def _feature(name: str, arrow_type: pa.DataType, indent: str) -> list[str]:
    head = f"{indent}- name: {json.dumps(name)}"
    inner = indent + "  "
    if pa.types.is_list(arrow_type):
        value = arrow_type.value_type
        if pa.types.is_struct(value):
            return [head, f"{inner}list:", *(line for f in value for line in _feature(f.name, f.type, inner))]
        return [head, f"{inner}sequence: {_dtype(value)}"]
    if pa.types.is_struct(arrow_type):
        return [head, f"{inner}struct:", *(line for f in arrow_type for line in _feature(f.name, f.type, inner))]
    return [head, f"{inner}dtype: {_dtype(arrow_type)}"]


def _dtype(arrow_type: pa.DataType) -> str:
    return {"double": "float64", "float": "float32", "large_string": "large_string"}.get(str(arrow_type),
                                                                                        str(arrow_type))


def render_card(manifest: dict) -> str:
    c = manifest["counts"]
    s = manifest["statistics"]
    cfg = manifest["config"]
    lines = [
        *front_matter(extra=tuple(dataset_features(manifest["schema"]["columns"]))),
        "",
        f"# {manifest['name']}",
        "",
        f"A conversation dataset in the LMSYS-Chat-1M schema, curated by chatsift {manifest['chatsift_version']} "
        f"on {manifest['created']} from {len(manifest['inputs'])} input file(s).",
        "",
        "## Counts",
        "",
        "Every input record is accounted for: input = released + excluded + quarantined.",
        "",
        _table([("input", f"{c['input']:,}"), ("released", f"{c['released']:,}"),
                ("excluded", f"{sum(c['excluded'].values()):,}"),
                ("quarantined", f"{sum(c['quarantined'].values()):,}")], ("", "conversations")),
        "",
    ]
    if c["excluded"]:
        lines += ["Excluded, by reason (details in `exclusions.parquet`):", "",
                  _table(sorted(c["excluded"].items(), key=lambda x: -x[1]), ("reason", "count")), ""]
    if c["quarantined"]:
        lines += ["Quarantined, by reason (details in `quarantine.jsonl`):", "",
                  _table(sorted(c["quarantined"].items(), key=lambda x: -x[1]), ("reason", "count")), ""]
    lines += [
        "## Basic statistics (the paper's Table 1 columns)",
        "",
        _table([(f"{s['conversations']:,}", s["models"], f"{s['users']:,}" if s["users"] is not None else "n/a",
                 s["languages"], f"{s['mean_turns']:.2f}")],
               ("conversations", "models", "users", "languages", "mean turns")),
        "",
        "Top models: " + ", ".join(f"{m} ({n:,})" for m, n in s["top_models"]),
        *(["", f"{s['models_count']['(none)']:,} conversations name no model (LMSYS-Chat-1M has one on every "
           "row): give the source's model with `--set read.default_model=NAME` (those rows are noted "
           "`model_from_read.default_model`)."] if s.get("models_count", {}).get("(none)") else []),
        "",
        "Top languages: " + ", ".join(f"{m} ({n:,})" for m, n in s["top_languages"]),
        "",
        "## How it was made",
        "",
    ]
    lines += [f"1. `{p['stage']}`: {p['does']}" for p in manifest["pipeline"]]
    lines += ["", *[f"- {n}" for n in manifest["notes"]], ""]
    if cfg["sample"]["n"] is not None:
        lines += [f"Sampled {cfg['sample']['n']:,} conversations with seed {cfg['sample']['seed']}.", ""]
    lines += ["## Schema", "", _table([(name, _CORE_DOCS.get(name) or EXTRAS_BY_NAME[name].doc)
                                       for name in manifest["schema"]["columns"]], ("column", "meaning")), ""]
    mode = manifest["schema"]["mode"]
    if mode == "lmsys":
        lines.append(f"The {len(LMSYS_COLUMNS)} columns are exactly the features of the public LMSYS-Chat-1M card.")
    lines += ["", *_moderation_section(s.get("moderation"), cfg.get("moderation"))]
    lines += [
        "",
        "## Privacy",
        "",
        (f"- PII redaction ({cfg['pii']['backend']} detector) replaced, in the released conversations: "
         + (", ".join(f"{k} {v:,}" for k, v in s.get("pii_replacements", {}).items() if v) or "nothing")
         + (("; placeholders already in the input were kept and new numbers continue after them ("
            + ", ".join(f"{k} {v:,}" for k, v in s["pii_preexisting"].items()) + ")")
            if s.get("pii_preexisting") else "")
         + f"; {s['redacted']:,} conversations are marked `redacted`." if cfg["pii"]["enabled"] else
         "- PII redaction was OFF for this release: names, contacts and secrets may be present."),
        *_names_lines(cfg["pii"]),
        "- `user_id` is a keyed hash (HMAC-SHA256) of the IP or user field; raw IPs are never written. "
        + ("It is kept in this release." if cfg["release"]["keep_private"] else
           "It and `tstamp` are removed from this release, as in LMSYS-Chat-1M."),
        "- Quarantine excerpts are redacted by the same detector (on the decoded text) before they are clipped.",
        "",
        *_license_section(manifest["inputs"]),
        "## Files",
        "",
        "- `data/train-*.parquet`: the conversations, in size-rotated shards",
        "- `manifest.json`: resolved config, versions, input checksums and all counts",
        "- `exclusions.parquet`: every removed conversation with its reason and stage",
        "- `quarantine.jsonl`: every input record that could not be read, with file, line and reason",
        "",
    ]
    return "\n".join(lines)


def _names_lines(pii: dict) -> list[str]:
    """What the person-name tagger was trained on and what it cannot tell apart, said plainly."""
    if not pii.get("enabled") or "name" not in pii.get("kinds", ()) or pii.get("backend") != "builtin":
        return []
    import json
    from pathlib import Path

    from chatsift.privacy.name_tagger import bundled_model_path

    folder = Path(pii.get("name_model") or bundled_model_path())
    try:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [f"- Person names: the tagger in `{folder.name}` (its metadata could not be read)."]
    dev = meta.get("dev", {})
    recall = [v["recall"] for v in dev.values()]
    figures = (f" On held-apart dev text it found {min(recall):.0%}-{max(recall):.0%} of the people per set"
               if recall else "")
    return [
        f"- Person names: chatsift's trained tagger `{meta.get('name', folder.name)}`, learned from gold data in "
        f"{', '.join(meta.get('languages', []))}; other languages get what transfers from those (capitalised "
        "names in Latin or Cyrillic script) and introductions such as \"my name is\", but no learned names "
        f"in caseless scripts without training data (Arabic, Hebrew, Devanagari, Thai).{figures}. It cannot "
        "always tell a person from a place, company or product named after one (\"Ford\", \"Dell\", "
        "\"Washington\"), misses lower-case names that are not known given names, and some names stay "
        "in the text: read `chatsift pii-audit` before publishing."
    ]
