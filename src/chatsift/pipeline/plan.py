"""Plan a run: resolve inputs, detect each file's format, split files into units, fingerprint it all.

The fingerprint (inputs' checksums, the resolved config, the chatsift version) decides whether an
unfinished run in the output folder may be resumed.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from chatsift import __version__
from chatsift.errors import AdaptError
from chatsift.io.containers import DamagedInput, iter_records
from chatsift.io.field_map import before_reader, check_paths, parse_map
from chatsift.io.inputs import InputFile, Unit, plan_units, resolve_inputs
from chatsift.io.readers.registry import detect_format, get_reader
from chatsift.privacy.scrub import public_label, redact_excerpt

if TYPE_CHECKING:  # the type only: config imports the settings of the layers below it, not the other way
    from chatsift.config import CurateConfig

SNIFF_RECORDS = 64


@dataclass
class RunPlan:
    config: CurateConfig
    files: list[InputFile]
    formats: dict[int, str | None]  # file index -> reader name, None when it could not be detected
    format_problems: dict[int, str]  # file index -> why detection failed
    units: list[Unit]
    checksums: dict[int, str]
    warnings: list[str] = field(default_factory=list)
    fingerprint: str = ""

    def to_dict(self) -> dict:
        """What ``plan.json`` in the work folder keeps: the fingerprint a resumed run is checked against, and
        the files and units as outputs name them. Paths are left out (a resumed run plans from its own
        arguments), and labels pass ``public_label``, so a kept or killed run's folder holds no e-mail or
        token from a file name."""
        return {
            "fingerprint": self.fingerprint,
            "files": [{"index": f.index, "label": public_label(f.label), "container": f.container,
                       "compression": f.compression, "size": f.size, "format": self.formats[f.index],
                       "sha256": self.checksums[f.index]} for f in self.files],
            "units": [{"index": u.index, "files": [public_label(part.label) for part in u.files()],
                       "bytes": [u.start, u.end]} for u in self.units],
        }


def sample_records(unit: Unit, max_record_bytes: int) -> list[object]:
    """The first readable records of ``unit`` (at most ``SNIFF_RECORDS``): what format sniffing reads."""
    return [r.obj for r in itertools.islice(iter_records(unit, max_record_bytes), SNIFF_RECORDS * 2)
            if r.error is None][:SNIFF_RECORDS]


def first_problem(unit: Unit, max_record_bytes: int) -> str | None:
    """Why the first records of ``unit`` do not read (its first unreadable record), for a file with no sample."""
    try:
        for r in itertools.islice(iter_records(unit, max_record_bytes), SNIFF_RECORDS * 2):
            if r.error is not None:
                return f"record {r.number}: {r.error}: {r.detail}"
    except DamagedInput as exc:
        return f"record {exc.number}: {exc.detail}"
    return None


def _mapped(record: object, mapping: dict) -> object:
    try:
        return before_reader(record, mapping)
    except AdaptError:
        return record


def make_plan(inputs: list[str], config: CurateConfig, user_secret_digest: str) -> RunPlan:
    files, warnings = resolve_inputs(inputs)
    units, checksums = plan_units(files, config.engine.chunk_bytes)
    formats: dict[int, str | None] = {}
    problems: dict[int, str] = {}
    first_unit = {}
    for u in (part for unit in units for part in unit.files()):
        first_unit.setdefault(u.file_index, u)
    mapping = parse_map(config.read.map)
    sampled: list[object] = []
    for f in files:
        auto = config.read.format == "auto"
        samples = sample_records(first_unit[f.index], config.read.max_record_bytes) if auto or mapping else []
        sampled.extend(samples)
        if not auto:
            formats[f.index] = get_reader(config.read.format).name
            continue
        if mapping:  # detect the format of the records as the reader will see them
            samples = [_mapped(s, mapping) for s in samples]
        if not samples:
            formats[f.index] = None
            if f.container == "unreadable":
                pass  # resolve_inputs warned, and reading quarantines it with the reason
            elif f.size == 0:
                warnings.append(f"{f.label}: empty file")
            else:
                problems[f.index] = f"{f.label}: no readable record among the first lines"
            continue
        name, message = detect_format(samples, f.label)
        formats[f.index] = name
        if name is None:
            problems[f.index] = message
            warnings.append(message + " Its records are quarantined.")
    if mapping:
        check_paths(mapping, sampled)
    # Warnings quote file names and parser messages, which can carry input: redacted once, here, for
    # every place that shows them (stderr, manifest, card).
    plan = RunPlan(config, files, formats, problems, units, checksums, [redact_excerpt(w) for w in warnings])
    plan.fingerprint = _fingerprint(plan, user_secret_digest)
    return plan


def _fingerprint(plan: RunPlan, user_secret_digest: str) -> str:
    config = plan.config.to_dict(redact_secrets=True)
    # Where and how fast it runs does not change the release; how inputs are split into units does.
    config["engine"] = {k: v for k, v in config["engine"].items() if k in {"chunk_bytes"}}
    payload = {
        "version": __version__,
        "config": config,
        "user_secret": user_secret_digest,
        "files": [(f.label, plan.checksums[f.index], plan.formats[f.index]) for f in plan.files],
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
