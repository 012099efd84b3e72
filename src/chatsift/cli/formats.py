"""``chatsift formats``: the readers and what they expect; with files, what each file is detected as."""

from __future__ import annotations

import click

from chatsift.config import CurateConfig
from chatsift.io.inputs import plan_units, resolve_inputs
from chatsift.io.readers.registry import READER_CLASSES, detect_format
from chatsift.pipeline.plan import first_problem, sample_records


@click.command("formats")
@click.argument("files", nargs=-1)
def formats_command(files: tuple[str, ...]) -> None:
    """List the input formats, or detect the format of FILES."""
    if not files:
        for cls in READER_CLASSES:
            click.echo(f"{cls.name}\n  {cls.description}\n  expects: {cls.expects}\n")
        click.echo("Tool use: chatgpt_export, claude_export, openai_responses, otel_genai and openai_messages "
                   "(tool_calls, tool messages) keep tool calls, tool results, reasoning and attachments in the "
                   "tools.events column of --schema full (kind, name, call_id, content, and 'after': how many "
                   "conversation messages come before); the conversation keeps the user and assistant text; the "
                   "same redaction applies.\n")
        click.echo("Field mapping: --map TARGET=dotted.path (id, model, user, timestamp, language, system, messages) "
                   "for records of another shape, e.g. --map model=metadata.model --map messages=payload.turns.\n")
        click.echo("Containers: JSON lines (.jsonl, .ndjson, .json with one object per line), JSON arrays (.json), "
                   "Parquet; .gz, .bz2, .zst and .lz4 compression. Folders are searched recursively.")
        return
    config = CurateConfig()
    found, warnings = resolve_inputs(list(files))
    units, _ = plan_units(found, config.engine.chunk_bytes)
    first = {}
    for u in (part for unit in units for part in unit.files()):
        first.setdefault(u.file_index, u)
    for f in found:
        samples = sample_records(first[f.index], config.read.max_record_bytes)
        name, message = detect_format(samples, f.label)
        problem = None if samples else first_problem(first[f.index], config.read.max_record_bytes)
        click.echo(f"{f.label}: {name}" if name else f"{f.label}: {problem}" if problem else message)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
