"""A release's part per unit: the decisions applied, the release columns selected and cast to the release
schema, the exclusions with their reasons, and the unit's statistics.

``UnitAssembler(schema)`` is the write callback every executor calls once per unit (a plain
picklable object, so Ray ships it to its workers); the engine never sees the release schema.
``finalize`` packs the parts into the release.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatsift.common.files import read_json, write_json, write_table
from chatsift.io.inputs import Unit
from chatsift.pipeline.reduce import DECISION_ALIVE, DECISION_REASON, DECISION_RELATED, DECISION_STAGE
from chatsift.pipeline.tasks import read_unit_table
from chatsift.pipeline.workdir import WorkDir
from chatsift.privacy.scrub import public_label

EXCLUSION_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("source_file", pa.string()),
        ("source_record", pa.int64()),
        ("reason", pa.string()),
        ("stage", pa.string()),
        ("related_conversation_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class UnitAssembler:
    """The write task: ``assembler(unit, work)`` writes the unit's release part and returns its statistics."""

    schema: pa.Schema

    def __call__(self, unit: Unit, work: WorkDir) -> dict:
        return write_unit(unit, work, self.schema)


def write_unit(unit: Unit, work: WorkDir, release_schema: pa.Schema) -> dict:
    """Apply the decisions to one unit: its release part, its exclusions and its statistics."""
    started = time.perf_counter()
    records = read_unit_table(work, unit.index, "records")
    decisions = pq.read_table(work.decisions_path(unit.index))
    annotations = [c for c in decisions.column_names if not c.startswith("_")]
    for name in annotations:
        records = records.append_column(name, decisions.column(name)) if name not in records.column_names else \
            records.set_column(records.schema.get_field_index(name), name, decisions.column(name))
    alive = decisions.column(DECISION_ALIVE)
    released = records.filter(alive)

    release = pa.table({name: _cast(released.column(name), release_schema.field(name).type)
                        for name in release_schema.names}, schema=release_schema)
    write_table(work.write_path(unit.index, "release.parquet"), release, compression="zstd")

    dropped = pc.invert(alive)
    parts = unit.files()
    if unit.parts:  # a pack: its records are its files' one after another, as many as each file gave
        sizes = [f["conversations"] for f in read_json(work.map_done(unit.index))["per_file"]]
    else:
        sizes = [records.num_rows]
    part_of_row = np.repeat(np.arange(len(parts)), sizes)
    labels = pa.array([p.label for p in parts], pa.string())
    excl = pa.table(
        {
            "conversation_id": records.column("conversation_id").filter(dropped),
            "source_file": labels.take(pa.array(part_of_row)).filter(dropped),
            "source_record": records.column("source.record").filter(dropped),
            "reason": decisions.column(DECISION_REASON).filter(dropped),
            "stage": decisions.column(DECISION_STAGE).filter(dropped),
            "related_conversation_id": decisions.column(DECISION_RELATED).filter(dropped),
        },
        schema=EXCLUSION_SCHEMA,
    )
    read_excl = pq.read_table(work.map_path(unit.index, "readexcl.parquet"))
    if read_excl.num_rows:
        excl = pa.concat_tables([excl, pa.table({
            "conversation_id": pa.nulls(read_excl.num_rows, pa.string()),
            "source_file": read_excl.column("file").fill_null(unit.label),
            "source_record": read_excl.column("record"),
            "reason": read_excl.column("reason"),
            "stage": pa.array(["read"] * read_excl.num_rows, pa.string()),
            "related_conversation_id": pa.nulls(read_excl.num_rows, pa.string()),
        }, schema=EXCLUSION_SCHEMA)])
    per_file = None
    if unit.parts:
        alive_np = np.asarray(alive.to_numpy(zero_copy_only=False), bool)
        by_file = Counter(zip(excl.column("source_file").to_pylist(), excl.column("reason").to_pylist()))
        per_file = [{"file_index": p.file_index, "released": int(alive_np[part_of_row == k].sum()),
                     "excluded": {r: n for (label, r), n in by_file.items() if label == p.label}}
                    for k, p in enumerate(parts)]
    # File names as outputs show them: an e-mail or a token in a name is not written out
    public = pa.array([public_label(v) for v in excl.column("source_file").to_pylist()], pa.string())
    excl = excl.set_column(excl.schema.get_field_index("source_file"), "source_file", public)
    write_table(work.write_path(unit.index, "exclusions.parquet"), excl, compression="zstd")

    users = pc.unique(released.column("user_id").drop_null()) if "user_id" in released.column_names else []
    write_table(work.write_path(unit.index, "users.parquet"), pa.table({"user_id": pa.array(users, pa.string())}))
    stats = {
        "unit": unit.index,
        "file_index": unit.file_index,
        "released": released.num_rows,
        "excluded": dict(Counter(excl.column("reason").to_pylist())),
        "turns": int(pc.sum(released.column("turn")).as_py() or 0),
        "models": _value_counts(released.column("model")),
        "languages": _value_counts(released.column("language")),
        "redacted": int(pc.sum(released.column("redacted").cast(pa.int64())).as_py() or 0),
        "pii": _pii_totals(released),
        "pii_preexisting": _pii_totals(released, "pii.preexisting"),
        "moderation": _moderation_totals(released),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if per_file is not None:
        stats["per_file"] = per_file
    write_json(work.write_done(unit.index), stats)
    return stats


def _moderation_totals(table: pa.Table) -> dict:
    """Who tagged the released rows, how many conversations have a flagged message, unparsed answers."""
    out: dict = {"backends": {}, "flagged_conversations": 0, "unparsed_messages": 0}
    if not table.num_rows:
        return out
    if "moderation.backend" in table.column_names:
        out["backends"] = _value_counts(table.column("moderation.backend"))
        out["unparsed_messages"] = int(pc.sum(table.column("moderation.unparsed")).as_py() or 0)
    out["flagged_conversations"] = flagged_conversations(table.column("openai_moderation"))
    return out


def flagged_conversations(moderation: pa.Array | pa.ChunkedArray) -> int:
    """Conversations with at least one flagged message (null entries and null lists count as not flagged)."""
    mod = moderation.combine_chunks() if isinstance(moderation, pa.ChunkedArray) else moderation
    flat = pc.list_flatten(mod)
    if not len(flat):
        return 0
    flagged = pc.and_kleene(pc.is_valid(flat), pc.fill_null(flat.field("flagged"), False))
    return len(pc.unique(pc.list_parent_indices(mod).filter(flagged)))


def _pii_totals(table: pa.Table, column: str = "pii.counts") -> dict[str, int]:
    if column not in table.column_names or not table.num_rows:
        return {}
    counts = table.column(column).combine_chunks()
    return {f.name: int(pc.sum(counts.field(i)).as_py() or 0) for i, f in enumerate(counts.type)}


def _cast(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    return values if values.type == target else values.cast(target)


def _value_counts(col: pa.ChunkedArray) -> dict[str, int]:
    out = {}
    for item in pc.value_counts(col).to_pylist():
        key = item["values"] if item["values"] is not None else "(none)"
        out[key] = item["counts"]
    return out
