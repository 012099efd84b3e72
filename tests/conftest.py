"""Shared fixtures: the third-party data folder, a quiet curate helper, a clean environment."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import settings

from chatsift.config import load_config
from chatsift.curate import curate


def _find_shared_data() -> Path:
    """``$CHATSIFT_SHARED_DATA``, else ``../shared/data`` beside the repository, else the workplace copy."""
    candidates = [os.environ.get("CHATSIFT_SHARED_DATA"), Path(__file__).resolve().parents[2] / "shared" / "data",
                  "/work/shared/data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


SHARED_DATA = _find_shared_data()

# The same examples on every run: CI must not turn red on a draw that a local run never saw.
settings.register_profile("chatsift", derandomize=True, deadline=None)
settings.load_profile("chatsift")


@pytest.fixture(scope="session")
def _model_cache(tmp_path_factory):
    """One cache for the whole run: embeddings, LLM answers and word lists are built once."""
    return os.environ.get("CHATSIFT_TEST_CACHE") or str(tmp_path_factory.mktemp("chatsift-cache"))


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch, _model_cache):
    monkeypatch.delenv("CHATSIFT_USER_ID_SECRET", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("CHATSIFT_CACHE", _model_cache)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def run_curate(inputs, out, **overrides):
    """Curate quietly in-process with one worker unless told otherwise; returns the manifest."""
    settings = {"engine.progress": False, "engine.workers": 1, "user_id.secret": "test-key"}
    settings.update(overrides)
    config = load_config(None, settings)
    return curate([str(i) for i in inputs], out, config).manifest


def read_release(out: Path) -> pa.Table:
    return pq.read_table(sorted((Path(out) / "data").glob("*.parquet")))


def read_quarantine(out: Path) -> list[dict]:
    text = (Path(out) / "quarantine.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def assert_reconciles(manifest: dict) -> None:
    for scope in [manifest["counts"], *[i["counts"] for i in manifest["inputs"]]]:
        total = scope["released"] + sum(scope["excluded"].values()) + sum(scope["quarantined"].values())
        assert total == scope["input"], scope


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app):
    """The app on a free loopback port in a thread, for as long as the block runs."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
