"""kill -9 in the middle of a run, run again: the same release, nothing lost or doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import assert_reconciles, read_release


def _bulk_input(shared: Path, out: Path) -> Path:
    """About 6,000 real conversations in OpenAI format, as ~18 units of 1 MB."""
    lines = []
    for copy in range(4):
        for f in sorted((shared / "arena-hard-auto/v0.1/model_answer").glob("*.jsonl")):
            for line in f.open(encoding="utf-8"):
                r = json.loads(line)
                lines.append(json.dumps({"id": f"{copy}-{r['ans_id']}", "model": r["model"], "user": f"10.0.0.{copy}",
                                         "messages": r["messages"]}))
    lines.insert(100, '{"messages": "broken')  # one bad record to carry through the resume
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _command(inp: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "chatsift.cli.main", "curate", str(inp), "--out", str(out), "--no-progress",
            "--workers", "2", "--schema", "full", "--set", "engine.chunk_bytes=1000000",
            "--set", "user_id.secret=resume-test", "--set", "engine.batch_size=500"]


def _kill_when(out: Path, pattern: str, count: int, cmd: list[str]) -> None:
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if len(list((out / ".chatsift-work").glob(pattern))) >= count:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole tree: the CLI and its workers
                proc.wait()
                return
            if proc.poll() is not None:
                pytest.fail(f"run ended before the kill point: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.02)
        pytest.fail("kill point never reached")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    root = tmp_path_factory.mktemp("resume")
    inp = _bulk_input(SHARED_DATA, root / "bulk.jsonl")
    subprocess.run(_command(inp, root / "clean"), check=True, capture_output=True)
    return inp, root / "clean"


@pytest.mark.parametrize(("pattern", "count"), [("map/*.done.json", 4), ("write/*.done.json", 3)])
def test_killed_run_resumes_to_the_same_release(reference, tmp_path, pattern, count):
    inp, clean = reference
    out = tmp_path / "killed"
    cmd = _command(inp, out)
    _kill_when(out, pattern, count, cmd)
    assert not (out / "manifest.json").exists()
    done_before = len(list((out / ".chatsift-work").glob(pattern)))
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed" in result.stdout
    assert done_before >= count

    a, b = read_release(clean), read_release(out)
    assert a.num_rows == b.num_rows == 6000
    assert a.equals(b)
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (clean, out))
    assert ma["counts"] == mb["counts"]
    assert_reconciles(mb)
    assert pq.read_table(clean / "exclusions.parquet").equals(pq.read_table(out / "exclusions.parquet"))
    assert (clean / "quarantine.jsonl").read_bytes() == (out / "quarantine.jsonl").read_bytes()
    ids = b.column("conversation_id").to_pylist()
    assert len(ids) == len(set(ids))  # nothing doubled


def test_a_changed_input_is_not_resumed_silently(reference, tmp_path):
    inp, _ = reference
    out = tmp_path / "killed"
    cmd = _command(inp, out)
    _kill_when(out, "map/*.done.json", 2, cmd)
    changed = tmp_path / "bulk.jsonl"
    changed.write_bytes(inp.read_bytes() + b'{"messages": [{"role": "user", "content": "new"}]}\n')
    result = subprocess.run(_command(changed, out), capture_output=True, text=True)
    assert result.returncode == 2
    assert "--restart" in result.stderr
    result = subprocess.run([*_command(changed, out), "--restart"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((out / "manifest.json").read_text())["counts"]["released"] == 6001


def _start_and_wait_for_workers(cmd: list[str], out: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if list((out / ".chatsift-work").glob("map/*.done.json")):
            return proc
        if proc.poll() is not None:
            pytest.fail(f"run ended too early: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("the run never started its map phase")


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, shared_data):
    import psutil

    inp = _bulk_input(shared_data, tmp_path / "bulk.jsonl")
    out = tmp_path / "rel"
    first = _start_and_wait_for_workers(_command(inp, out), out)
    try:
        second = subprocess.run(_command(inp, out), capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert f"in use by another chatsift run (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0, first.stderr.read().decode()[-2000:]
    assert not (out / ".chatsift.lock").exists()
    assert_reconciles(json.loads((out / "manifest.json").read_text()))
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(out) in " ".join(p.info["cmdline"] or [])]


def test_workers_die_with_the_main_process(tmp_path, shared_data):
    import psutil

    inp = _bulk_input(shared_data, tmp_path / "bulk.jsonl")
    out = tmp_path / "rel"
    proc = _start_and_wait_for_workers(_command(inp, out), out)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "expected worker processes"
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer does
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, [p.cmdline() for p in alive]
    # Nothing holds the folder now: the same command resumes and finishes.
    rerun = subprocess.run(_command(inp, out), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_reconciles(json.loads((out / "manifest.json").read_text()))
