"""The Ray executor: the same release as the local one, through a dying worker too; object stores."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import SHARED_DATA, assert_reconciles

from chatsift.config import load_config
from chatsift.curate import curate
from chatsift.pipeline.stage import BatchStage

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")


class KillOnceStage(BatchStage):
    """Kills the worker process running it the first time (a marker file remembers), then does nothing."""

    name = "kill_once"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def process_batch(self, batch):
        if not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)  # no cleanup, no exception: the process is gone, as in an OOM kill
        return batch


@pytest.fixture(scope="module")
def ray_local():
    # Workers unpickle KillOnceStage from this test module, which they cannot import by name.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    from chatsift.demo.sample import write_sample

    sample = write_sample(tmp_path_factory.mktemp("sample") / "in", n=1200)
    return [sample.folder, SHARED_DATA / "arena-hard-auto/v0.1", SHARED_DATA / "anthropic-hh-rlhf"]


SETTINGS = {"engine.progress": False, "user_id.secret": "parity", "release.schema": "full",
            "engine.chunk_bytes": 600_000, "select.exact": "one_per_group", "sample.n": 5000}


def _run(inputs, out, executor, hook=None):
    config = load_config(None, {**SETTINGS, "engine.executor": executor, "engine.workers": 2})
    return curate([str(i) for i in inputs], out, config, pipeline_hook=hook).manifest


@pytest.fixture(scope="module")
def local_release(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "release"
    _run(inputs, out, "local")
    return out


def _same_release(a: Path, b: Path) -> None:
    ta, tb = pq.read_table(a / "data"), pq.read_table(b / "data")
    assert ta.num_rows == tb.num_rows > 1000
    assert ta.equals(tb)  # same ids, content, annotations, order
    assert pq.read_table(a / "exclusions.parquet").equals(pq.read_table(b / "exclusions.parquet"))
    assert (a / "quarantine.jsonl").read_bytes() == (b / "quarantine.jsonl").read_bytes()
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    assert ma["counts"] == mb["counts"]
    assert [i["counts"] for i in ma["inputs"]] == [i["counts"] for i in mb["inputs"]]
    assert {k: v for k, v in ma["statistics"].items()} == {k: v for k, v in mb["statistics"].items()}
    assert_reconciles(mb)


def test_ray_and_local_releases_are_identical(ray_local, inputs, local_release, tmp_path):
    manifest = _run(inputs, tmp_path / "release", "ray")
    assert manifest["executor"] == "ray"
    assert manifest["counts"]["excluded"]["exact_duplicate"] > 0 and manifest["counts"]["quarantined"]
    _same_release(local_release, tmp_path / "release")


def test_a_worker_killed_mid_run_changes_nothing(ray_local, inputs, local_release, tmp_path):
    marker = tmp_path / "killed.pid"

    def add_fault(pipeline):
        stages = list(pipeline.stages)
        stages.insert(3, KillOnceStage(str(marker)))  # after user_id, in the middle of the map phase
        pipeline.stages = stages
        return pipeline

    _run(inputs, tmp_path / "release", "ray", hook=add_fault)
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker, not this process, died
    _same_release(local_release, tmp_path / "release")


def test_object_store_input_and_release(tmp_path, monkeypatch):
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                           "AWS_DEFAULT_REGION": "us-east-1", "FSSPEC_S3_ENDPOINT_URL": endpoint,
                           "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch.setenv(key, value)
        import s3fs

        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir("corpus")
        fs.put_file(str(SHARED_DATA / "fastchat-llm-judge/dummy_conversation.json"), "corpus/in/sharegpt.json")
        fs.put_file(str(SHARED_DATA / "arena-hard-auto/v0.1/question.jsonl"), "corpus/in/questions.jsonl")
        config = load_config(None, {"engine.progress": False, "engine.workers": 1, "user_id.secret": "s3",
                                    "read.benchmark_questions": "prompts"})
        result = curate(["s3://corpus/in"], "s3://corpus/release", config)
        assert result.out == "s3://corpus/release"
        files = sorted(p.split("corpus/release/", 1)[1] for p in fs.find("corpus/release"))
        assert files == ["README.md", "data/train-00000-of-00001.parquet", "exclusions.parquet", "manifest.json",
                         "quarantine.jsonl"]
        manifest = json.loads(fs.cat("corpus/release/manifest.json"))
        assert manifest["counts"]["input"] == 1000
        assert_reconciles(manifest)
        assert {i["file"] for i in manifest["inputs"]} == {"in/sharegpt.json", "in/questions.jsonl"}
        with pytest.raises(Exception, match="already holds a finished release"):
            curate(["s3://corpus/in"], "s3://corpus/release", config)
    finally:
        server.stop()


def test_ray_run_prints_no_info_lines(tmp_path):
    import subprocess
    import sys

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                                    {"role": "assistant", "content": "answer"}]}) + "\n"
                           for i in range(50)))
    result = subprocess.run([sys.executable, "-m", "chatsift.cli.main", "curate", str(src), "--out",
                             str(tmp_path / "r"), "--executor", "ray", "--workers", "1", "--no-progress", "--set",
                             "user_id.secret=k"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert " INFO " not in result.stderr and "Progress bars disabled" not in result.stderr, result.stderr
