"""``curate``: raw conversation logs in, an LMSYS-Chat-1M-style release out.

The public entry point shared by the CLI, notebooks and the service. It plans the run, resumes an
unfinished one in the same output folder when inputs and config are unchanged, lets an executor run
the phases with the release wing's write task (``release.assemble``), then has the wing pack the
release and write its manifest and card (``release.finalize``; the manifest last, so a release without
a manifest is an unfinished one).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatsift.common.files import atomic_write_bytes, read_json, write_json
from chatsift.config import CurateConfig
from chatsift.errors import ReleaseError
from chatsift.executors.base import Executor
from chatsift.executors.local import LocalExecutor
from chatsift.io.chat_store import StagedStores
from chatsift.io.remote import (
    is_remote,
    remote_release_exists,
    stage_input,
    staging_release,
    staging_root,
    upload_release,
)
from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.plan import RunPlan, make_plan
from chatsift.pipeline.workdir import WORK_DIR_NAME, WorkDir
from chatsift.release.assemble import UnitAssembler
from chatsift.release.finalize import RELEASE_DIRS, RELEASE_FILES, clear_release, finalize
from chatsift.schema import release_schema
from chatsift.stages.defaults import build_pipeline

log = logging.getLogger(__name__)

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
    clear_release(out)


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
    # A chat store is read as its FastChat-log export, staged once per run (a resumed run reuses it).
    fresh = restart or overwrite or not work.plan_file.exists()
    stores = StagedStores([str(i) for i in inputs], config.read.since, staging_root(work_dir), fresh and not dry_run)
    inputs = [stage_input(i, work_dir) if is_remote(i) else i for i in stores.inputs]
    try:
        result = _run(inputs, out, work, config, remote_out, executor, overwrite, restart, dry_run, pipeline_hook)
        if not dry_run:
            stores.done()
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
            clear_release(out)
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
        report = executor.run(plan, pipeline, work, UnitAssembler(schema))
        manifest = finalize(plan, pipeline, report, work, schema, executor.name)
        if not config.engine.keep_work:
            work.remove()
        if remote_out:
            upload_release(out, remote_out)
            return CurateResult(remote_out, manifest, resumed)
        return CurateResult(out, manifest, resumed)
