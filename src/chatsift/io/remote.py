"""Inputs and releases on object stores (s3://, gs://, az://, ... anything fsspec understands).

Remote inputs are copied into a staging folder first (workers then read plain files, and checksums
and byte-range splitting work as for local files); a remote release is built in a local staging
folder, which also holds its resumable work, and uploaded when complete, ``manifest.json`` last so
a reader never sees a half-uploaded release as finished. The staging folder is
``$CHATSIFT_CACHE/staging`` unless ``engine.work_dir`` points at storage shared by a Ray cluster.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from chatsift.common.cache import cache_root
from chatsift.errors import InputError, ReleaseError
from chatsift.optional import require

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
LOCAL_SCHEMES = ("file://", "hf://")


def is_remote(path: str | os.PathLike) -> bool:
    text = str(path)
    return bool(_URL.match(text)) and not text.startswith(LOCAL_SCHEMES)


def staging_root(work_dir: str | None = None) -> Path:
    if work_dir:
        return Path(work_dir) / "staging"
    return cache_root() / "staging"


def _fs(url: str):
    fsspec = require("fsspec", f"{url}: an object-store path", "pip install 'chatsift[cloud]'",
                     package="fsspec and its backend", error=InputError)
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InputError(f"{url}: no filesystem for this URL ({exc}); install its fsspec backend") from None


def stage_input(url: str, work_dir: str | None = None) -> str:
    """Copy a remote file or folder into the staging area; returns the local path to read."""
    fs, root = _fs(url)
    name = root.rstrip("/").rsplit("/", 1)[-1] or "input"
    target = staging_root(work_dir) / "inputs" / hashlib.sha256(url.encode()).hexdigest()[:16] / name
    try:
        if fs.isdir(root):
            files = [f for f in fs.find(root) if not fs.isdir(f)]
            for remote in files:
                local = target / remote[len(root.rstrip("/")) + 1 :]
                _fetch(fs, remote, local)
        elif fs.exists(root):
            _fetch(fs, root, target)
        else:
            raise InputError(f"input not found: {url}")
    except InputError:
        raise
    except Exception as exc:  # backends raise their own types; all mean "cannot read"
        raise InputError(f"could not read {url} ({type(exc).__name__}: {str(exc)[:200]})") from None
    return str(target)


def _fetch(fs, remote: str, local: Path) -> None:
    info = fs.info(remote)
    if local.exists() and local.stat().st_size == info.get("size"):
        return  # staged before (a resumed run); the run's checksums still guard the content
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(local.name + ".part")
    fs.get_file(remote, str(tmp))
    tmp.replace(local)


def staging_release(url: str, work_dir: str | None = None) -> Path:
    return staging_root(work_dir) / "releases" / hashlib.sha256(url.encode()).hexdigest()[:16]


def remote_release_exists(url: str) -> bool:
    fs, root = _fs(url)
    return fs.exists(root.rstrip("/") + "/manifest.json")


def upload_release(local: Path, url: str) -> None:
    """Upload a finished release: data and side files first, the manifest last."""
    fs, root = _fs(url)
    root = root.rstrip("/")
    try:
        # Run state (the work folder, the run's lock) stays local; only the release goes up.
        files = sorted(p for p in local.rglob("*") if p.is_file() and not p.relative_to(local).parts[0].startswith(
            ".chatsift"))
        for path in sorted(files, key=lambda p: p.name == "manifest.json"):
            fs.put_file(str(path), f"{root}/{path.relative_to(local).as_posix()}")
    except Exception as exc:  # backends raise their own types
        raise ReleaseError(f"could not upload the release to {url} ({type(exc).__name__}: {str(exc)[:200]}); "
                           f"it is complete in {local}, run again to retry the upload") from None
