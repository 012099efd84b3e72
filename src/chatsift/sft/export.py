"""``sft export``: a subset (or any release) in the formats training code reads unchanged.

- ``sharegpt``: one JSON array of ``{"id", "conversations": [{"from": "human"|"gpt"|"system", "value"}]}``,
  FastChat's training format (the paper converted its subsets to it);
- ``openai``: JSONL of ``{"messages": [{"role", "content"}]}``, the OpenAI fine-tuning format;
- ``hf``: a Hugging Face dataset folder: ``data/train-*.parquet`` with ``id`` and a ``messages``
  column (list of ``{role, content}``), which TRL's ``SFTTrainer`` and axolotl's ``chat_template``
  loader take as conversational data, and a ``README.md`` card naming the files.

The source's ``system_prompt`` (when the release has one) becomes a leading system message.
Token counts (the paper's "#fine-tuning tokens") use the stats tokenizers (``approx`` offline).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from chatsift.analysis.tokenize import get_tokenizer
from chatsift.errors import ConfigError
from chatsift.release.card import front_matter
from chatsift.safety.signals import release_shards

FORMATS = ("sharegpt", "openai", "hf")
SHAREGPT_ROLE = {"user": "human", "assistant": "gpt", "system": "system"}
MESSAGES_TYPE = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
ROWS_PER_SHARD = 200_000


def _conversations(source: Path):
    for path in release_shards(source):
        names = set(pq.read_schema(path).names)
        cols = ["conversation_id", "conversation", *(["system_prompt"] if "system_prompt" in names else [])]
        for batch in pq.ParquetFile(path).iter_batches(batch_size=20_000, columns=cols):
            system = batch.column("system_prompt").to_pylist() if "system_prompt" in cols else [None] * batch.num_rows
            for cid, conv, sp in zip(batch.column("conversation_id").to_pylist(),
                                     batch.column("conversation").to_pylist(), system):
                messages = [{"role": "system", "content": sp}] if sp else []
                messages += [{"role": m["role"], "content": m["content"] or ""} for m in conv or []]
                yield cid, messages


DEFAULT_FILES = {"sharegpt": "sharegpt.json", "openai": "openai.jsonl"}


def _file_out(out: str | Path, fmt: str) -> Path:
    """A one-file format given a folder (``dir/``, or a folder that exists) writes its default file name in it."""
    text = str(out)
    path = Path(out)
    if fmt in DEFAULT_FILES and (text.endswith(("/", os.sep)) or path.is_dir()):
        return path / DEFAULT_FILES[fmt]
    return path


def export_subset(source: str | Path, fmt: str, out: str | Path, tokenizer: str = "approx", name: str = "chatsift-sft",
                  selection: dict | None = None) -> dict:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; use {', '.join(FORMATS)}")
    out = _file_out(out, fmt)
    source = Path(source)
    tok = get_tokenizer(tokenizer)
    counts = {"conversations": 0, "messages": 0, "prompt_tokens": 0, "response_tokens": 0}
    ids, rows = [], []

    def account(messages: list[dict]) -> None:
        counts["conversations"] += 1
        counts["messages"] += len(messages)
        prompts = [m["content"] for m in messages if m["role"] != "assistant"]
        answers = [m["content"] for m in messages if m["role"] == "assistant"]
        counts["prompt_tokens"] += sum(tok.count(prompts)) if prompts else 0
        counts["response_tokens"] += sum(tok.count(answers)) if answers else 0

    files: list[Path] = []
    if fmt == "sharegpt":
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(b"[")
            for k, (cid, messages) in enumerate(_conversations(source)):
                account(messages)
                record = {"id": cid, "conversations": [{"from": SHAREGPT_ROLE.get(m["role"], m["role"]),
                                                        "value": m["content"]} for m in messages]}
                fh.write((b",\n" if k else b"\n") + orjson.dumps(record))
            fh.write(b"\n]\n")
        tmp.replace(out)
        files.append(out)
    elif fmt == "openai":
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "wb") as fh:
            for _, messages in _conversations(source):
                account(messages)
                fh.write(orjson.dumps({"messages": messages}) + b"\n")
        tmp.replace(out)
        files.append(out)
    else:
        (out / "data").mkdir(parents=True, exist_ok=True)

        def flush() -> None:
            path = out / "data" / f"train-{len(files):05d}.parquet"
            pq.write_table(pa.table({"id": pa.array(ids, pa.string()), "messages": pa.array(rows, MESSAGES_TYPE)}),
                           path, compression="zstd")
            files.append(path)
            ids.clear()
            rows.clear()

        for cid, messages in _conversations(source):
            account(messages)
            ids.append(cid)
            rows.append(messages)
            if len(rows) >= ROWS_PER_SHARD:
                flush()
        if rows or not files:
            flush()
    counts["tokens"] = counts["prompt_tokens"] + counts["response_tokens"]
    summary = {"format": fmt, "source": str(source), "tokenizer": tok.name, **counts,
               "files": [str(f) for f in files]}
    if fmt == "hf":
        (out / "README.md").write_text(_card(name, summary, selection), encoding="utf-8")
        (out / "export.json").write_bytes(orjson.dumps({**summary, "selection": selection},
                                                       option=orjson.OPT_INDENT_2))
    return summary


def _card(name: str, summary: dict, selection: dict | None) -> str:
    features = ("dataset_info:", "  features:", "  - name: id", "    dtype: string", "  - name: messages", "    list:",
                "    - name: role", "      dtype: string", "    - name: content", "      dtype: string",
                "task_categories:", "- text-generation")
    lines = [
        *front_matter("data/train-*.parquet", features),
        "",
        f"# {name}",
        "",
        "Instruction-tuning conversations exported by chatsift (`chatsift sft export --format hf`). The",
        "`messages` column holds `{role, content}` turns (system, user, assistant), the conversational",
        "format that TRL's `SFTTrainer` and axolotl's `chat_template` datasets read.",
        "",
        f"- conversations: {summary['conversations']:,}",
        f"- tokens ({summary['tokenizer']}): {summary['tokens']:,} ({summary['prompt_tokens']:,} prompt, "
        f"{summary['response_tokens']:,} response)",
    ]
    if selection:
        lines.append(f"- subset: {selection.get('subset')}; left out: " + (", ".join(
            f"{k} {v:,}" for k, v in (selection.get("left_out") or {}).items() if v) or "nothing"))
        if selection.get("decontamination"):
            d = selection["decontamination"]
            lines.append(f"- decontaminated against {', '.join(d['benchmarks'])}: {d['removed']:,} removed")
    lines += ["", "The conversations keep the licence and terms of the release they came from.", ""]
    return "\n".join(lines)
