"""Moderation: the local model on real labelled data, every backend through curate and `moderate`, tooling."""

from __future__ import annotations

import json
import re
import socket

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import assert_reconciles, read_release, run_curate
from fake_llm import FakeLLM

from chatsift.cli.main import cli
from chatsift.llm import CHAT, MODERATIONS
from chatsift.moderation.apply import tag
from chatsift.moderation.backends import LocalBackend
from chatsift.moderation.categories import CATEGORIES, HEADS
from chatsift.moderation.data import load_benign, load_labelled
from chatsift.moderation.evaluate import evaluate
from chatsift.moderation.features import Featurizer
from chatsift.moderation.guard import parse_llama_guard, parse_paper
from chatsift.moderation.local import LocalModerator, ModerationOutput
from chatsift.moderation.train import TrainSettings, train_moderator
from chatsift.safety.detector import JailbreakDetector
from chatsift.schema import LMSYS_SCHEMA, MODERATION_TYPE, Conversation, Message

QUICK = TrainSettings(c_grid=(16.0,), folds=3)


def _split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = int(n * 0.8)
    return order[:cut], order[cut:]


def test_local_model_learns_real_toxicchat_labels(shared_data):
    data = load_labelled(shared_data / "toxicchat-train" / "toxic_chat_train.json")
    assert data.format == "toxicchat" and len(data) == 2801 and np.nansum(data.labels[:, -1]) == 384
    train, test = _split(len(data))
    model = train_moderator(data.subset(train), QUICK)
    report = evaluate(data.subset(test), model.moderate([data.texts[i] for i in test]))
    # A held-out fifth of real user prompts: the OpenAI moderation baseline on ToxicChat is F1 0.61.
    assert report["binary"]["f1"] >= 0.6, report["binary"]
    assert report["binary"]["auprc"] >= 0.6


def test_local_model_learns_openai_categories_with_partial_labels(shared_data):
    data = load_labelled(shared_data / "openai-moderation-api-release" / "samples-1680.jsonl.gz")
    # A missing key is unknown, never negative.
    assert np.isnan(data.labels[:, HEADS.index("harassment/threatening")]).all()
    assert (~np.isnan(data.labels[:, HEADS.index("hate")])).sum() == 771
    train, test = _split(len(data), seed=1)
    model = train_moderator(data.subset(train), QUICK)
    assert not model.trained[HEADS.index("self-harm/intent")]  # no labels: that head stays silent
    report = evaluate(data.subset(test), model.moderate([data.texts[i] for i in test]))
    assert report["binary"]["f1"] >= 0.65, report["binary"]
    assert report["categories"]["sexual"]["f1"] >= 0.6
    assert report["micro_f1"] >= 0.4


def test_bundled_model_is_quiet_on_technical_text(shared_data):
    model = LocalModerator.load()
    assert model.meta["trained_on"] and "threshold_note" in model.meta
    answers = []
    for line in (shared_data / "fastchat-llm-judge" / "mt_bench" / "model_answer" / "gpt-4.jsonl").open():
        answers += json.loads(line)["choices"][0]["turns"]
    out = model.moderate(answers)
    assert out.flagged.mean() < 0.05  # MT-bench answers were never seen in training (13% before benign negatives)
    threat = model.moderate(["I am going to kill you and your whole family tonight, you worthless piece of trash"])
    assert threat.flagged[0]


def test_model_round_trip_and_scoring_path_match(tmp_path, shared_data):
    data = load_labelled(shared_data / "toxicchat-train" / "toxic_chat_train.json").subset(np.arange(600))
    model = train_moderator(data, TrainSettings(c_grid=(4.0,), folds=3))
    again = LocalModerator.load(model.save(tmp_path / "m"))
    texts = [*data.texts[:200], "", "ÄÖÜ ß 漢字 😀", None]
    np.testing.assert_allclose(again.probabilities(texts), model.probabilities(texts), atol=2e-3)
    # The fast scoring path equals the explicit feature matrix times the weights.
    f = model.featurizer
    explicit = f.matrix(texts) @ model.weights.astype(np.float64)
    fast = f.project(texts, model.weights[:len(f.word_vocab)], model.weights[len(f.word_vocab):])
    np.testing.assert_allclose(fast, explicit, atol=1e-4)


def test_ascii_texts_split_by_bytes_as_the_regex_splits_them(shared_data):
    import pyarrow.compute as pc

    from chatsift.moderation.features import LS, _split_regex, tokenize

    data = load_labelled(shared_data / "toxicchat-train" / "toxic_chat_train.json")
    texts = [*data.texts[:3000], "", None, "Don't STOP", "''", "1,2,3", "ÄÖ abc", "x" * 5000, "tab\there"]
    assert 0 < sum(t is not None and not t.isascii() for t in texts) < len(texts) / 2  # both paths run
    lowered = pc.utf8_lower(pc.utf8_slice_codeunits(pc.fill_null(pa.array(texts, pa.string()).cast(LS), ""), 0, 500))
    words, doc = _split_regex(lowered)
    tok = tokenize(texts, 500)
    assert tok.words.equals(words) and np.array_equal(tok.doc, doc) and tok.n == len(texts)
    sliced = tokenize(pa.array(texts, pa.string()).slice(7, 900), 500)  # an offset into the buffers
    assert sliced.words.equals(tokenize(texts[7:907], 500).words)


def test_repeated_texts_score_as_they_do_alone(shared_data):
    model = LocalModerator.load(None)
    texts = load_labelled(shared_data / "toxicchat-train" / "toxic_chat_train.json").texts[:200]
    batch = [*texts, *texts[:50], None, "", None, texts[3]]
    alone = np.vstack([model.logits([t]) for t in batch])
    np.testing.assert_allclose(model.logits(batch), alone, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.logits(pa.chunked_array([batch[:120], batch[120:]], pa.string())), alone,
                               rtol=1e-5, atol=1e-5)
    detector = JailbreakDetector.load(None)  # the same featurizer path
    np.testing.assert_allclose(detector.scores(batch), np.concatenate([detector.scores([t]) for t in batch]),
                               rtol=1e-5, atol=1e-6)


def test_featurizer_handles_degenerate_texts():
    f = Featurizer.fit(["hello world", "hello there", "world peace"], min_df=1)
    x = f.matrix(["", None, "!!!", "hello " * 10_000, "a" * 5_000_000])
    assert x.shape == (5, f.size)
    assert x[0].nnz == 0 and x[1].nnz == 0 and x[2].nnz == 0
    assert np.isclose(np.linalg.norm(x[3, :len(f.word_vocab)].toarray()), 1.0)


def test_bad_messages_get_a_defined_result():
    backend = LocalBackend()
    conv = pa.array([[{"content": "", "role": "user"}, {"content": None, "role": "assistant"}],
                     [{"content": "x" * 5_000_000, "role": "user"}], [], None], pa.list_(LMSYS_SCHEMA.field(
                         "conversation").type.value_type))
    result = tag(conv, pa.nulls(4, MODERATION_TYPE), backend)
    rows = result.moderation.to_pylist()
    assert [len(r) for r in rows[:3]] == [2, 1, 0] and rows[3] == []
    assert rows[0][0]["flagged"] is False and set(rows[0][0]["categories"]) == set(CATEGORIES)
    assert result.backend == [backend.name] * 4


def _lmsys_input(tmp_path, rows: list[Conversation]):
    path = tmp_path / "lmsys.parquet"
    pq.write_table(pa.Table.from_pylist([r.to_row() for r in rows], schema=LMSYS_SCHEMA), path)
    return path


def _tags(flagged: bool, n: int) -> list[dict]:
    entry = {"categories": {c: flagged and c == "hate" for c in CATEGORIES},
             "category_scores": {c: 0.9 if flagged and c == "hate" else 0.0 for c in CATEGORIES}, "flagged": flagged}
    return [entry] * n


def test_curate_tags_every_message_and_fills_table2(tmp_path, shared_data):
    out = tmp_path / "rel"
    manifest = run_curate([shared_data / "anthropic-hh-rlhf" / "harmless-base" / "test.jsonl.gz"], out,
                          **{"release.schema": "full"})
    assert_reconciles(manifest)
    table = read_release(out)
    mod = table.column("openai_moderation").to_pylist()
    conv = table.column("conversation").to_pylist()
    assert all(m is not None and len(m) == len(c) for m, c in zip(mod, conv))
    assert set(table.column("moderation.backend").to_pylist()) == {"local:default-v4+static"}
    stats = manifest["statistics"]["moderation"]
    # Red-team transcripts: a real share of them is harmful, far from none and far from all.
    assert 0.05 < stats["flagged_conversations"] / table.num_rows < 0.8
    assert "## Moderation" in (out / "README.md").read_text()
    from chatsift.analysis.stats import compute_stats

    described = compute_stats(out)["moderation"]
    assert described["table2"]["flagged"] == stats["flagged_conversations"]
    assert sum(row["jailbreak_attempts"] for row in described["table4"]) > 0


def test_source_tags_are_kept_unless_recomputed(tmp_path):
    rows = [Conversation(f"c{i}", [Message("user", "you are all idiots and I hate you"), Message("assistant", "ok")],
                         model="m", openai_moderation=_tags(False, 2)) for i in range(3)]
    rows.append(Conversation("short", [Message("user", "hi"), Message("assistant", "hello")], model="m",
                             openai_moderation=_tags(True, 1)))  # misaligned: one result for two messages
    src = _lmsys_input(tmp_path, rows)
    manifest = run_curate([src], tmp_path / "kept", **{"release.schema": "full"})
    table = read_release(tmp_path / "kept").to_pylist()
    by_id = {r["conversation_id"]: r for r in table}
    assert by_id["c0"]["moderation.backend"] == "source" and by_id["c0"]["openai_moderation"] == _tags(False, 2)
    assert by_id["short"]["moderation.backend"] == "local:default-v4+static"
    assert "moderation_misaligned" in by_id["short"]["normalize.issues"]
    assert manifest["statistics"]["moderation"]["backends"] == {"source": 3, "local:default-v4+static": 1}
    run_curate([src], tmp_path / "new", **{"release.schema": "full", "moderation.recompute": True})
    again = read_release(tmp_path / "new").to_pylist()
    assert {r["moderation.backend"] for r in again} == {"local:default-v4+static"}


def test_openai_backend_through_curate_and_moderate(tmp_path):
    rows = [Conversation(f"c{i}", [Message("user", text), Message("assistant", "no")], model="m")
            for i, text in enumerate(["I will kill him", "how to steal a car", "hello there", ""])]
    src = _lmsys_input(tmp_path, rows)
    with FakeLLM() as server:
        endpoint = f"openai:{server.url}:omni-moderation-latest"
        manifest = run_curate([src], tmp_path / "rel", **{"moderation.backend": "openai", "release.schema": "full",
                                                          "moderation.endpoint": endpoint})
        # The workers' calls are in the run's ledger, beside the release and in the manifest.
        assert manifest["llm"]["total"]["calls"] == server.count(MODERATIONS) > 0
        assert json.loads((tmp_path / "rel" / "llm-ledger.json").read_text())["runs"][0] == manifest["llm"]
        by_id = {r["conversation_id"]: r for r in read_release(tmp_path / "rel").to_pylist()}
        assert by_id["c0"]["openai_moderation"][0]["categories"]["violence"]
        # omni's "illicit" has no column; the API's flag still stands.
        steal = by_id["c1"]["openai_moderation"][0]
        assert steal["flagged"] and not any(steal["categories"].values())
        assert by_id["c3"]["openai_moderation"][0]["flagged"] is False  # empty message, no call
        assert by_id["c0"]["moderation.backend"] == "openai:omni-moderation-latest"
        assert server.count(MODERATIONS) > 0


def _to_send(output: str) -> int:
    return int(re.search(r"([\d,]+) to send", output).group(1).replace(",", ""))


def test_moderate_resumes_after_an_endpoint_failure_without_paying_twice(tmp_path, shared_data):
    out = tmp_path / "rel"
    run_curate([shared_data / "fastchat-llm-judge" / "mt_bench" / "model_answer" / "gpt-4.jsonl"], out,
               **{"moderation.backend": "passthrough"})
    assert all(m is None for m in read_release(out).column("openai_moderation").to_pylist())
    runner = CliRunner()
    with FakeLLM() as server:
        config = tmp_path / "llm.yaml"
        fake = f"{{base_url: '{server.url}', model: text-moderation-latest, max_concurrency: 1}}"
        config.write_text(f"llm:\n  max_attempts: 2\n  cache_dir: {tmp_path / 'cache'}\n  endpoints:\n"
                          f"    fake: {fake}\n")
        args = ["moderate", str(out), "--moderator", "openai:fake", "--no-progress", "-c", str(config)]
        dry = runner.invoke(cli, [*args, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        needed = _to_send(dry.output)
        assert needed > 4 and server.count(MODERATIONS) == 0
        server.inject(MODERATIONS, "ok", "ok", "ok", "500", "500")  # three answers, then the endpoint fails
        failed = runner.invoke(cli, args)
        assert failed.exit_code == 2 and "rerun the same command" in failed.output
        assert server.count(MODERATIONS) == 5
        assert _to_send(runner.invoke(cli, [*args, "--dry-run"]).output) == needed - 3
        done = runner.invoke(cli, args)
        assert done.exit_code == 0, done.output
        assert server.count(MODERATIONS) == 5 + needed - 3  # nothing answered before was paid again
        assert "messages without an answer: 0" in done.output
        assert all(m is not None for m in read_release(out).column("openai_moderation").to_pylist())
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["moderation_runs"][-1]["backend"] == "openai:text-moderation-latest"
        assert json.loads((out / "llm-ledger.json").read_text())["runs"][-1]["total"]["calls"] == needed - 3
        again = runner.invoke(cli, [*args, "--recompute"])
        assert again.exit_code == 0 and server.count(MODERATIONS) == 5 + needed - 3  # all from the cache


def _guard(messages: list[dict]) -> str:
    text = messages[-1]["content"].lower()
    if "hate" in text:
        return "It attacks a protected group. [[1. hate]]"
    if "gibberish" in text:
        return "I cannot decide."
    return "Nothing harmful here. [[6. None of the above]]"


def test_llm_guard_backend_and_unparsed_answers(tmp_path):
    rows = [Conversation("a", [Message("user", "I hate people of that religion"), Message("assistant", "gibberish")],
                         model="m"),
            Conversation("b", [Message("user", "write a poem"), Message("assistant", "roses are red")], model="m")]
    src = _lmsys_input(tmp_path, rows)
    with FakeLLM(chat=_guard) as server:
        manifest = run_curate([src], tmp_path / "rel", **{"moderation.backend": "llm",
                                                          "moderation.endpoint": f"{server.url}:guard-model",
                                                          "release.schema": "full"})
        prompts = [body["messages"] for path, body in server.requests if path == CHAT]
    by_id = {r["conversation_id"]: r for r in read_release(tmp_path / "rel").to_pylist()}
    first = by_id["a"]["openai_moderation"]
    assert first[0]["categories"]["hate"] and first[0]["flagged"]
    assert first[1] is None and by_id["a"]["moderation.unparsed"] == 1
    assert not by_id["b"]["openai_moderation"][0]["flagged"]
    assert manifest["statistics"]["moderation"]["unparsed_messages"] == 1
    assert prompts[0][0]["role"] == "system" and "[[1. hate]]" in prompts[0][0]["content"]


def test_guard_answer_parsing():
    assert parse_paper("explanation... [[1. hate]]").categories == ("hate",)
    assert parse_paper("[[6. None of the above]]").flagged is False
    assert parse_paper("so [[5]] it is").categories == ("harassment",)
    assert parse_paper("[[sexual]]").categories == ("sexual",)
    assert parse_paper("I refuse to answer that.") is None
    assert parse_paper("[[9. other]]") is None
    assert parse_llama_guard("safe").flagged is False
    v = parse_llama_guard("unsafe\nS10,S11")
    assert v.flagged and v.categories == ("hate", "self-harm")
    assert parse_llama_guard("unsafe\nS7").categories == ()  # privacy has no column; flagged only
    assert parse_llama_guard("Sure! Here is a poem") is None


def test_micro_f1_counts_message_category_pairs():
    labels = np.full((3, len(HEADS)), np.nan)
    labels[:, HEADS.index("hate")] = [1, 0, 0]
    labels[:, HEADS.index("sexual")] = [0, 1, 0]
    labels[:, HEADS.index("flagged")] = [1, 1, 0]
    from chatsift.moderation.data import LabelledSet

    data = LabelledSet(["a", "b", "c"], labels, "test", "test")
    out = ModerationOutput.empty(3)
    out.decisions[0, CATEGORIES.index("hate")] = True  # TP
    out.decisions[2, CATEGORIES.index("sexual")] = True  # FP; message b's sexual is a FN
    out.flagged[[0, 2]] = True
    report = evaluate(data, out)
    assert report["micro_f1"] == round(2 * 1 / (2 * 1 + 1 + 1), 4)
    assert report["binary"]["precision"] == 0.5 and report["binary"]["recall"] == 0.5


def test_train_and_eval_commands(tmp_path, shared_data):
    runner = CliRunner()
    model = tmp_path / "model"
    benign = shared_data / "jailbreak-classification" / "balanced" / "jailbreak_dataset_train_balanced.csv"
    assert len(load_benign(benign)) == 517  # benign rows only
    result = runner.invoke(cli, ["moderator", "train", str(shared_data / "toxicchat-train" / "toxic_chat_train.json"),
                                 "--benign", str(benign), "--out", str(model), "--folds", "3"])
    assert result.exit_code == 0, result.output
    assert "flagged" in result.output and (model / "model.json").exists()
    meta = json.loads((model / "model.json").read_text())
    assert [s["format"] for s in meta["trained_on"]] == ["toxicchat", "benign"]
    labelled = shared_data / "openai-moderation-api-release" / "samples-1680.jsonl.gz"
    result = runner.invoke(cli, ["moderator", "eval", str(labelled), "--backend", str(model), "--backend", "local",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["backends"]) == {"local:model", "local:default-v4+static"}
    # Scored only where the overall label is known (a positive, or all eight keys present).
    known = int(load_labelled(labelled).known("flagged").sum())
    assert report["backends"]["local:model"]["binary"]["n"] == known < 1680
    assert "categories" in report["backends"]["local:default-v4+static"]
    table = runner.invoke(cli, ["moderator", "eval", str(labelled), "--backend", "local", "--limit", "100"])
    assert table.exit_code == 0 and "micro-F1" in table.output and "per category" in table.output


def test_build_set_from_a_tagged_release(tmp_path, shared_data):
    out = tmp_path / "rel"
    run_curate([shared_data / "anthropic-hh-rlhf" / "harmless-base" / "test.jsonl.gz"], out)
    runner = CliRunner()
    with FakeLLM(chat=lambda m: "Because it describes harm.") as server:
        result = runner.invoke(cli, ["moderator", "build-set", str(out), "--out", str(tmp_path / "set"),
                                     "--per-category", "20", "--benign", "30", "--explain", f"{server.url}:gpt-4",
                                     "--no-progress", "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
    sharegpt = [json.loads(line) for line in (tmp_path / "set" / "sharegpt.jsonl").open()]
    openai = [json.loads(line) for line in (tmp_path / "set" / "openai_messages.jsonl").open()]
    labels = [json.loads(line) for line in (tmp_path / "set" / "labels.jsonl").open()]
    assert len(sharegpt) == len(openai) == len(labels) > 30
    assert sum(1 for r in labels if not r["flagged"]) == 30
    assert all(r["conversations"][1]["value"].startswith("Because") for r in sharegpt)
    assert all(r["messages"][-1]["content"].rstrip().endswith("]]") for r in openai)
    assert len({r["text"] for r in labels}) == len(labels)
    # The set trains a model: the paper's loop, closed.
    assert load_labelled(tmp_path / "set" / "labels.jsonl").format == "chatsift-labels"


def test_unreachable_endpoint_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = _lmsys_input(tmp_path, [Conversation("a", [Message("user", "hi"), Message("assistant", "yo")])])
    run_curate([src], tmp_path / "rel", **{"moderation.backend": "passthrough"})
    result = CliRunner().invoke(cli, ["moderate", str(tmp_path / "rel"), "--moderator",
                                      f"llm:http://127.0.0.1:{port}/v1:m", "--no-progress"])
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot reach") and len(result.output.strip().splitlines()) == 1


def test_scores_do_not_depend_on_batching(shared_data):
    # The Ray executor batches differently from the local one; the releases must still be identical.
    model = LocalModerator.load()
    texts = load_labelled(shared_data / "toxicchat-train" / "toxic_chat_train.json").texts[:700]
    whole = model.probabilities(texts)
    pieces = np.vstack([model.probabilities(texts[i:i + 97]) for i in range(0, len(texts), 97)])
    alone = np.vstack([model.probabilities([t]) for t in texts[:50]])
    assert np.array_equal(whole, pieces) and np.array_equal(whole[:50], alone)


def test_moderator_specs_and_config_errors():
    from chatsift.config import load_config
    from chatsift.errors import ConfigError
    from chatsift.moderation.backends import parse_moderator

    assert parse_moderator("openai") == {"backend": "openai", "endpoint": "openai:omni-moderation-latest"}
    assert parse_moderator("llm:vllm:qwen") == {"backend": "llm", "endpoint": "vllm:qwen"}
    assert parse_moderator("models/mine") == {"backend": "local", "model": "models/mine"}
    with pytest.raises(ConfigError, match="name an endpoint"):
        parse_moderator("llm:")
    with pytest.raises(ConfigError, match=r"moderation\.backend"):
        load_config(overrides={"moderation.backend": "perspective"})
    with pytest.raises(ConfigError, match=r"needs moderation\.endpoint"):
        load_config(overrides={"moderation.backend": "llm"})
    with pytest.raises(ConfigError, match="not a moderator model folder"):
        LocalModerator.load("/nonexistent/model")
    result = CliRunner().invoke(cli, ["curate", "x.jsonl", "--out", "/tmp/never", "--moderator", "llm:"])
    assert result.exit_code == 2 and "error: --moderator llm: name an endpoint" in result.output


def test_moderate_resumes_shard_by_shard(tmp_path, shared_data):
    from chatsift.release.retag import STATE_DIR, tag_release

    answers = shared_data / "arena-hard-auto" / "v0.1" / "model_answer"
    out = tmp_path / "rel"
    run_curate([answers / "gpt-4-0613.jsonl", answers / "gpt-3.5-turbo-0125.jsonl"], out,
               **{"moderation.backend": "passthrough", "release.shard_max_bytes": 100_000,
                  "engine.chunk_bytes": 200_000})  # several units (two small files would be one pack)
    shards = sorted((out / "data").glob("*.parquet"))
    assert len(shards) >= 2

    class Flaky:
        name = identity = "flaky"

        def __init__(self, fail_after: int | None) -> None:
            self.inner, self.calls, self.fail_after = LocalBackend(), 0, fail_after

        def moderate(self, texts):
            self.calls += 1
            if self.fail_after is not None and self.calls > self.fail_after:
                raise RuntimeError("killed")
            return self.inner.moderate(texts)

    with pytest.raises(RuntimeError):
        tag_release(out, Flaky(fail_after=1))
    assert len(list((out / STATE_DIR).glob("*.done"))) == 1
    resumed = Flaky(None)
    report = tag_release(out, resumed)
    assert report.skipped_shards == 1 and resumed.calls == len(shards) - 1
    assert not (out / STATE_DIR).exists()
    assert all(m is not None for m in read_release(out).column("openai_moderation").to_pylist())
    assert report.conversations == read_release(out).num_rows



def test_a_recompute_that_tags_nothing_keeps_the_old_tags_and_fails(tmp_path):
    """An endpoint whose every answer is unusable: the release keeps the tags it had, and the command
    says so with exit status 2 instead of writing nulls over them."""
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"question number {i}"}, {"role": "assistant", "content": "an answer"}]}) + "\n"
        for i in range(4)))
    out = tmp_path / "rel"
    run_curate([tmp_path / "in.jsonl"], out)
    before = read_release(out).column("openai_moderation").to_pylist()
    assert all(m is not None for m in before)
    with FakeLLM(chat=lambda messages: "I cannot decide.") as server:
        result = CliRunner().invoke(cli, ["moderate", str(out), "--moderator", f"llm:{server.url}:guard",
                                          "--recompute", "--no-progress", "--set", "llm.cache_dir=" + str(tmp_path)])
    assert result.exit_code == 2 and "every existing tag was kept" in result.output, result.output
    assert read_release(out).column("openai_moderation").to_pylist() == before
