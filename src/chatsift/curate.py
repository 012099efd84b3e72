"""``curate``: raw conversation logs in, an LMSYS-Chat-1M-style release out.

The public entry point shared by the CLI, notebooks and the service. It plans the run, resumes an
unfinished one in the same output folder when inputs and config are unchanged, lets an executor run
the phases, then packs the release and writes its manifest and card (the manifest last, so a
release without a manifest is an unfinished one).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatsift.common.files import atomic_write_bytes, read_json, write_json
from chatsift.config import CurateConfig
from chatsift.errors import ReleaseError
from chatsift.executors.base import Executor, PhaseReport
from chatsift.executors.local import LocalExecutor
from chatsift.io.remote import (
    is_remote,
    remote_release_exists,
    stage_input,
    staging_release,
    staging_root,
    upload_release,
)
from chatsift.llm.ledger import Ledger
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan, make_plan
from chatsift.pipeline.workdir import WORK_DIR_NAME, WorkDir
from chatsift.release.card import render_card
from chatsift.release.manifest import build_manifest
from chatsift.release.shards import pack_shards
from chatsift.schema import release_schema
from chatsift.serve.store import is_store_url
from chatsift.stages.defaults import build_pipeline

log = logging.getLogger(__name__)

RELEASE_FILES = ("manifest.json", "README.md", "exclusions.parquet", "quarantine.jsonl", "llm-ledger.json")
RELEASE_DIRS = ("data",)
LOCK_NAME = ".chatsift.lock"


@dataclass
class CurateResult:
    out: Path | str  # a folder, or the object-store URL the release was uploaded to
    manifest: dict
    resumed: bool


@dataclass
class DryRun:
    plan: RunPlan
    pipeline: Pipeline

    def describe(self) -> str:
        lines = [f"inputs: {len(self.plan.files)} file(s), {len(self.plan.units)} unit(s)"]
        for f in self.plan.files:
            fmt = self.plan.formats[f.index] or "UNDETECTED (records will be quarantined)"
            lines.append(f"  {f.label}: {fmt}, {f.container}, {f.size:,} bytes")
        lines.extend(f"warning: {w}" for w in self.plan.warnings)
        lines.append(self.pipeline.describe())
        cfg = self.plan.config.release
        lines.append(f"release: schema={cfg.schema}, keep_private={cfg.keep_private}, "
                     f"shards of at most {cfg.shard_max_bytes:,} bytes")
        return "\n".join(lines)


def _resolve_secret(config: CurateConfig, work: WorkDir) -> tuple[bytes, bool]:
    """The user-id key: from config, from the environment, from an unfinished run, or a new one-off key."""
    if config.user_id.secret:
        return config.user_id.secret.encode("utf-8"), False
    env = os.environ.get(config.user_id.secret_env)
    if env:
        return env.encode("utf-8"), False
    if work.secret_file.exists():
        return work.secret_file.read_bytes(), True
    return secrets.token_bytes(32), True


def _clear_release(out: Path) -> None:
    for name in RELEASE_FILES:
        (out / name).unlink(missing_ok=True)
    for name in RELEASE_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)


def make_executor(config: CurateConfig) -> Executor:
    if config.engine.executor == "ray":
        from chatsift.executors.ray import RayExecutor

        return RayExecutor(config.engine.ray_address, config.engine.progress, config.engine.workers or None,
                           config.engine.batch_size)
    return LocalExecutor(config.engine.workers, config.engine.progress)


@contextlib.contextmanager
def exclusive(out: Path):
    """Hold ``out`` for this run: a second run into the same folder is refused at once. The kernel
    drops the lock when the holder dies, so a killed run never leaves it held (its workers die with it)."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise ReleaseError(f"{out} is in use by another chatsift run ({holder}); wait for it to finish or choose "
                           "another --out") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}")
    fh.flush()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
        if created and not any(out.iterdir()):
            out.rmdir()  # a run that failed before writing anything leaves no folder behind


def _check_empty(out: Path) -> None:
    """Refuse a folder that holds anything but release files (leftovers of a killed finish are cleared)."""
    if not out.exists():
        return
    known = {*RELEASE_FILES, *RELEASE_DIRS, WORK_DIR_NAME, LOCK_NAME}
    unknown = sorted(p.name for p in out.iterdir() if p.name not in known)
    if unknown:
        raise ReleaseError(f"{out} is not empty and is not a chatsift release (it holds {', '.join(unknown[:5])}); "
                           "choose an empty or new folder for --out")
    _clear_release(out)


def curate(inputs: list[str], out: str | os.PathLike, config: CurateConfig | None = None, *,
           executor: Executor | None = None, overwrite: bool = False, restart: bool = False,
           dry_run: bool = False, pipeline_hook: Callable[[Pipeline], Pipeline] | None = None
           ) -> CurateResult | DryRun:
    """Curate ``inputs`` into a release at ``out`` (a folder or an object-store URL).

    ``pipeline_hook`` may return a changed pipeline (extra stages from a plugin, or a test's fault).
    See ``chatsift curate --help`` for the rest.
    """
    config = config or CurateConfig()
    work_dir = config.engine.work_dir
    remote_out = str(out) if is_remote(out) else None
    if remote_out:
        if remote_release_exists(remote_out) and not (overwrite or dry_run):
            raise ReleaseError(f"{remote_out} already holds a finished release; pass --overwrite to replace it")
        out = staging_release(remote_out, work_dir)
    out = Path(out)
    work = WorkDir(out, Path(work_dir) / f"work-{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]}"
                   if work_dir else None)
    stores = [str(i) for i in inputs if is_store_url(str(i))]
    if stores:  # a chat store is read as its FastChat-log export, staged once per run (a resumed run reuses it)
        from chatsift.serve.export import parse_since, staged_export

        fresh = restart or overwrite or not work.plan_file.exists()
        since = parse_since(config.read.since)
        staged = {s: str(staged_export(s, since, staging_root(work_dir), fresh and not dry_run)) for s in stores}
        inputs = [staged.get(str(i), i) for i in inputs]
    inputs = [stage_input(str(i), work_dir) if is_remote(i) else str(i) for i in inputs]
    try:
        result = _run(inputs, out, work, config, remote_out, executor, overwrite, restart, dry_run, pipeline_hook)
        if stores and not dry_run:  # the release is complete: the next run exports the store afresh
            for folder in staged.values():
                shutil.rmtree(Path(folder).parent, ignore_errors=True)
        return result
    except Exception as exc:
        failure = storage_failure(exc)
        if failure is None:
            raise
        for folder in {out, work.root}:
            for leftover in (folder.rglob("*.tmp") if folder.exists() else ()):
                leftover.unlink(missing_ok=True)
        raise ReleaseError(_storage_message(failure, out)) from None


# Storage errors get one line with what to do (and partial files are removed), never a traceback.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


def storage_failure(exc: BaseException) -> OSError | None:
    """The disk-full, file-too-large or read-only error behind ``exc`` (a worker's arrives wrapped), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
            return exc
        if isinstance(exc, OSError) and "No space left on device" in str(exc):  # pyarrow may drop errno
            return OSError(errno.ENOSPC, str(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _storage_message(exc: OSError, out: Path) -> str:
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    if exc.errno in {errno.ENOSPC, errno.EDQUOT}:
        return (f"no space left on the device that holds {out}{where}; free some space (or choose another --out or "
                "engine.work_dir) and run the same command again: it resumes where it stopped")
    if exc.errno == errno.EFBIG:
        return (f"a file grew past this shell's file-size limit (ulimit -f) while writing {out}{where}; raise the "
                "limit (ulimit -f unlimited) or lower release.shard_max_bytes, then run the same command again: "
                "it resumes where it stopped")
    return f"cannot write to {out}{where}: the folder is read-only or not yours to write; choose a writable --out"


def _run(inputs, out: Path, work: WorkDir, config: CurateConfig, remote_out, executor, overwrite: bool, restart: bool,
         dry_run: bool, pipeline_hook) -> CurateResult | DryRun:
    with contextlib.nullcontext() if dry_run else exclusive(out):
        if remote_out and (out / "manifest.json").exists() and not (overwrite or dry_run):
            upload_release(out, remote_out)  # finished earlier, upload interrupted: finish the upload
            return CurateResult(remote_out, read_json(out / "manifest.json"), True)
        if (out / "manifest.json").exists() and not dry_run:
            if not overwrite:
                what = "a finished release" if (out / "data").exists() else "a run that released nothing"
                raise ReleaseError(f"{out} already holds {what}; pass --overwrite to replace it")
            _clear_release(out)
            work.remove()
        if restart:
            work.remove()

        secret, generated = _resolve_secret(config, work)
        digest = hashlib.sha256(secret).hexdigest()
        plan = make_plan([str(i) for i in inputs], config, digest)
        pipeline = build_pipeline(config, secret, work_dir=str(work.root))
        if pipeline_hook is not None:
            pipeline = pipeline_hook(pipeline)
            pipeline.validate()
        if dry_run:
            return DryRun(plan, pipeline)

        resumed = False
        if work.plan_file.exists():
            previous = read_json(work.plan_file)
            if previous.get("fingerprint") != plan.fingerprint:  # type: ignore[union-attr]
                raise ReleaseError(
                    f"{out} holds an unfinished run with different inputs, config or user-id key; pass --restart "
                    "to discard it, or choose another --out"
                )
            resumed = True
            log.info("resuming the unfinished run in %s", out)
        else:
            _check_empty(out)
            work.create()
            if generated:
                atomic_write_bytes(work.secret_file, secret)
                os.chmod(work.secret_file, 0o600)
            write_json(work.plan_file, plan.to_dict())
        writes_user_id = "user_id" in release_schema(config.release.schema, config.release.keep_private).names
        if generated and not resumed and writes_user_id:  # a release without user_id has nothing to match
            log.warning("no user-id secret configured (%s or user_id.secret): using a one-off key, so user_id "
                        "values will not match those of other releases", config.user_id.secret_env)

        schema = release_schema(config.release.schema, config.release.keep_private)
        executor = executor or make_executor(config)
        report = executor.run(plan, pipeline, work, list(schema.names), schema)
        manifest = finalize(plan, pipeline, report, work, schema, executor.name)
        if not config.engine.keep_work:
            work.remove()
        if remote_out:
            upload_release(out, remote_out)
            return CurateResult(remote_out, manifest, resumed)
        return CurateResult(out, manifest, resumed)


def finalize(plan: RunPlan, pipeline: Pipeline, report: PhaseReport, work: WorkDir, schema: pa.Schema,
             executor_name: str) -> dict:
    """Pack shards, gather exclusions and quarantine, write the card, then the manifest."""
    out, cfg = work.out, plan.config.release
    _clear_release(out)
    shutil.rmtree(work.final, ignore_errors=True)
    work.final.mkdir(parents=True)
    parts = [work.write_path(u.index, "release.parquet") for u in plan.units]
    shard_paths = pack_shards(parts, work.final / "data", schema, cfg.shard_max_bytes, cfg.compression)

    exclusions = [pq.read_table(work.write_path(u.index, "exclusions.parquet")) for u in plan.units]
    pq.write_table(pa.concat_tables(exclusions), work.final / "exclusions.parquet", compression="zstd")
    with open(work.final / "quarantine.jsonl", "wb") as fh:
        for u in plan.units:
            fh.write(work.map_path(u.index, "quarantine.jsonl").read_bytes())

    shards = []
    for p in shard_paths:
        rows = pq.ParquetFile(p).metadata.num_rows
        shards.append({"path": f"data/{p.name}", "rows": rows, "bytes": p.stat().st_size})
    ledger = _worker_ledgers(work)
    if ledger.entries:
        ledger.write(work.final / "llm-ledger.json")
    statistics = _statistics(plan, report, work)
    statistics["id_collisions"] = _id_collisions(shard_paths)
    if statistics["id_collisions"]:
        plan.warnings.append(f"{statistics['id_collisions']:,} conversation ids occur more than once in the release: "
                             "different sources used the same ids (each kept as given; snapshot.scope=global "
                             "treats them as snapshots of one conversation)")
    manifest = build_manifest(plan, pipeline, report, shards, statistics, executor_name, list(schema.names))
    if ledger.entries:
        manifest["llm"] = ledger.to_dict()
    (work.final / "README.md").write_text(render_card(manifest), encoding="utf-8")

    (work.final / "data").replace(out / "data")
    for name in ("exclusions.parquet", "quarantine.jsonl", "README.md", "llm-ledger.json"):
        if (work.final / name).exists():
            (work.final / name).replace(out / name)
    write_json(out / "manifest.json", manifest)
    return manifest


def _id_collisions(shard_paths: list[Path]) -> int:
    """How many conversation ids occur more than once among the released rows."""
    if not shard_paths:
        return 0
    ids = pq.read_table([str(p) for p in shard_paths], columns=["conversation_id"]).column("conversation_id")
    counts = pc.value_counts(ids.combine_chunks())
    return int(pc.sum(pc.greater(counts.field("counts"), 1)).as_py() or 0)


def _worker_ledgers(work: WorkDir) -> Ledger:
    """The LLM calls the workers made (all attempts of this run, a resumed one too), added up."""
    total = Ledger()
    for path in sorted(work.root.glob("llm-ledger.*.json")):
        total.merge(Ledger.from_dict(read_json(path)))
    return total


def _statistics(plan: RunPlan, report: PhaseReport, work: WorkDir) -> dict:
    from collections import Counter

    models: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    pii: Counter[str] = Counter()
    preexisting: Counter[str] = Counter()
    backends: Counter[str] = Counter()
    flagged = unparsed = 0
    for s in report.write_stats:
        mod = s.get("moderation", {})
        backends.update(mod.get("backends", {}))
        flagged += mod.get("flagged_conversations", 0)
        unparsed += mod.get("unparsed_messages", 0)
        models.update(s["models"])
        languages.update(s["languages"])
        pii.update(s.get("pii", {}))
        preexisting.update(s.get("pii_preexisting", {}))
    released = sum(s["released"] for s in report.write_stats)
    turns = sum(s["turns"] for s in report.write_stats)
    users_tables = [pq.read_table(work.write_path(u.index, "users.parquet")) for u in plan.units]
    users_col = pa.concat_tables(users_tables).column("user_id") if users_tables else pa.chunked_array([], pa.string())
    n_users = len(pc.unique(users_col)) if len(users_col) else None
    return {
        "conversations": released,
        # A missing or empty model and an undetected language are not one more model or language (Table 1).
        "models": len([m for m in models if m not in ("(none)", "")]),
        "users": n_users,
        "languages": len([lang for lang in languages if lang not in ("(none)", "", "unknown")]),
        "mean_turns": turns / released if released else 0.0,
        "redacted": sum(s["redacted"] for s in report.write_stats),
        "pii_replacements": dict(sorted(pii.items())),
        "pii_preexisting": {k: v for k, v in sorted(preexisting.items()) if v},
        "moderation": {"backends": dict(backends.most_common()), "flagged_conversations": flagged,
                       "unparsed_messages": unparsed},
        "top_models": models.most_common(10),
        "top_languages": languages.most_common(10),
        "models_count": dict(models.most_common()),
        "languages_count": dict(languages.most_common()),
    }
