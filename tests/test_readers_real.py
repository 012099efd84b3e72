"""Each reader on the real files in ../shared/data, through the whole pipeline."""

from __future__ import annotations

import gzip
import json

import pyarrow.compute as pc
import pytest
from conftest import assert_reconciles, read_quarantine, read_release, run_curate

from chatsift.io.containers import iter_records
from chatsift.io.inputs import plan_units, resolve_inputs
from chatsift.io.readers.registry import detect_format
from chatsift.pipeline.plan import sample_records


def detected(path) -> str | None:
    files, _ = resolve_inputs([str(path)])
    units, _ = plan_units(files, 1 << 26)
    return detect_format(sample_records(units[0], 1 << 26), files[0].label)[0]


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("fastchat-llm-judge/dummy_conversation.json", "sharegpt"),
        ("openassistant-oasst-eval-samples/en_100_tree.jsonl", "oasst"),
        ("openassistant-oasst-eval-samples/en_100_message.jsonl", "oasst"),
        ("anthropic-hh-rlhf/harmless-base/test.jsonl.gz", "hh"),
        ("arena-hard-auto/v0.1/question.jsonl", "arena_hard"),
        ("arena-hard-auto/v0.1/model_answer/gpt-4-0314.jsonl", "arena_hard"),
        ("arena-hard-auto/v2.0/question.jsonl", "arena_hard"),
        ("fastchat-llm-judge/mt_bench/question.jsonl", "mt_bench"),
        ("fastchat-llm-judge/mt_bench/model_answer/claude-v1.jsonl", "mt_bench"),
        ("fastchat-llm-judge/mt_bench/reference_answer/gpt-4.jsonl", "mt_bench"),
    ],
)
def test_formats_are_detected(shared_data, relative, expected):
    assert detected(shared_data / relative) == expected


def test_unknown_formats_are_named_not_guessed(shared_data):
    files, _ = resolve_inputs([str(shared_data / "fastchat-llm-judge/judge_prompts.jsonl")])
    units, _ = plan_units(files, 1 << 26)
    name, message = detect_format(sample_records(units[0], 1 << 26), "judge_prompts.jsonl")
    assert name is None
    assert "unknown format" in message and "prompt_template" in message


def test_sharegpt_dummy_conversations(shared_data, tmp_path):
    manifest = run_curate([shared_data / "fastchat-llm-judge/dummy_conversation.json"], tmp_path / "r",
                          **{"release.schema": "full"})
    assert_reconciles(manifest)
    assert manifest["counts"]["input"] == 500
    table = read_release(tmp_path / "r")
    raw = json.loads((shared_data / "fastchat-llm-judge/dummy_conversation.json").read_text())
    # The same ids, and turns as the source's message counts (2, 4 or 6 messages).
    expected = {r["id"]: len(r["conversations"]) // 2 for r in raw}
    got = dict(zip(table.column("conversation_id").to_pylist(), table.column("turn").to_pylist()))
    excluded = manifest["counts"]["excluded"]
    assert len(got) + sum(excluded.values()) == 500
    assert all(expected[k] == v for k, v in got.items())
    for conv in table.column("conversation").to_pylist()[:50]:
        assert [m["role"] for m in conv] == ["user", "assistant"] * (len(conv) // 2)
    # ShareGPT names no model: the card says how many rows lack one and how to name it
    assert set(table.column("model").to_pylist()) == {None}
    assert f"{len(got):,} conversations name no model" in (tmp_path / "r" / "README.md").read_text()
    named = run_curate([shared_data / "fastchat-llm-judge/dummy_conversation.json"], tmp_path / "named",
                       **{"release.schema": "full", "read.default_model": "gpt-3.5-turbo"})
    rows = read_release(tmp_path / "named").to_pylist()
    assert {r["model"] for r in rows} == {"gpt-3.5-turbo"} and named["statistics"]["models"] == 1
    assert all("model_from_read.default_model" in r["normalize.issues"] for r in rows)
    assert "name no model" not in (tmp_path / "named" / "README.md").read_text()


def test_oasst_tree_and_message_files_give_the_same_conversations(shared_data, tmp_path):
    folder = shared_data / "openassistant-oasst-eval-samples"
    trees = run_curate([folder / "en_100_tree.jsonl"], tmp_path / "t", **{"release.schema": "full"})
    nodes = run_curate([folder / "en_100_message.jsonl"], tmp_path / "m", **{"release.schema": "full"})
    # 100 trees with 626 root-to-leaf paths in all.
    assert trees["counts"]["input"] == nodes["counts"]["input"] == 626
    assert trees["counts"]["records_read"] == 100
    a, b = read_release(tmp_path / "t"), read_release(tmp_path / "m")
    assert sorted(a.column("conversation_id").to_pylist()) == sorted(b.column("conversation_id").to_pylist())
    # Synthetic trees carry their model name; human-written ones have none.
    assert "chip20b" in set(a.column("model").to_pylist())
    assert set(a.column("language").to_pylist()) <= {"English", "unknown", "Spanish", "French", "German"}


def test_hh_pairs_become_chosen_and_rejected(shared_data, tmp_path):
    path = shared_data / "anthropic-hh-rlhf/harmless-base/test.jsonl.gz"
    manifest = run_curate([path], tmp_path / "r", **{"release.schema": "full"})
    assert_reconciles(manifest)
    assert manifest["counts"]["records_read"] == 2312
    assert manifest["counts"]["input"] == 4624
    table = read_release(tmp_path / "r")
    assert pc.sum(table.column("votes.preferred").cast("int64")).as_py() + sum(
        1 for v in table.column("votes.preferred").to_pylist() if v is False) == table.num_rows
    # An inline "Human:" without the blank-line marker stays inside its turn.
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        inline = next(json.loads(line)["chosen"] for line in fh
                      if "  Human:" in json.loads(line)["chosen"])
    needle = inline[inline.index("  Human:") - 20: inline.index("  Human:") + 15]
    texts = [m["content"] for conv in table.column("conversation").to_pylist() for m in conv]
    assert any(needle in t for t in texts)
    # Two consecutive Assistant turns are merged so roles alternate, and the repair is recorded.
    issues = [i for row in table.column("normalize.issues").to_pylist() for i in row]
    assert "merged_consecutive_assistant" in issues


def test_arena_hard_questions_and_answers(shared_data, tmp_path):
    base = shared_data / "arena-hard-auto/v0.1"
    manifest = run_curate([base / "question.jsonl", base / "model_answer"], tmp_path / "r",
                          **{"release.schema": "full"})
    assert_reconciles(manifest)
    by_file = {i["file"]: i["counts"]["input"] for i in manifest["inputs"]}
    assert by_file["question.jsonl"] == 500
    assert by_file["model_answer/gpt-4-0314.jsonl"] == 500
    # questions alone are not conversations: quarantined with the reason, the answers joined to them
    assert manifest["counts"]["quarantined"] == {"benchmark_question": 500}
    table = read_release(tmp_path / "r")
    models = pc.value_counts(table.column("model")).to_pylist()
    counts = {m["values"]: m["counts"] for m in models}
    assert counts["gpt-4-0314"] == counts["gpt-3.5-turbo-0125"] == counts["gpt-4-0613"] == 500
    # Assistant content came as {"answer": ...} objects and is now text.
    answer = next(c for c, m in zip(table.column("conversation").to_pylist(), table.column("model").to_pylist())
                  if m == "gpt-4-0613")
    assert answer[1]["role"] == "assistant" and isinstance(answer[1]["content"], str) and answer[1]["content"]
    # The same prompt answered by three models: one exact group of (at least) 3.
    sizes = table.column("dedup.exact_size").to_pylist()
    assert max(sizes) >= 3


def test_arena_hard_v2_multilingual_prompts(shared_data, tmp_path):
    manifest = run_curate([shared_data / "arena-hard-auto/v2.0/question.jsonl"], tmp_path / "r",
                          **{"read.benchmark_questions": "prompts"})
    assert manifest["counts"]["input"] == 750
    languages = manifest["statistics"]["languages_count"]
    assert languages["English"] > 400
    assert len(languages) >= 5  # the file has prompts in several scripts


def test_mt_bench_answers_join_their_questions(shared_data, tmp_path):
    mt = shared_data / "fastchat-llm-judge/mt_bench"
    # PII off: this compares the text with the source (MT-bench questions name people, e.g. "Thomas").
    manifest = run_curate([mt / "model_answer/llama-13b.jsonl"], tmp_path / "r",
                          **{"release.schema": "full", "pii.enabled": False})
    assert manifest["counts"]["input"] == 80
    table = read_release(tmp_path / "r")
    lines = (mt / "question.jsonl").read_text(encoding="utf-8").splitlines()
    questions = {json.loads(line)["question_id"]: json.loads(line)["turns"] for line in lines}
    first = {json.loads(line)["turns"][0] for line in lines}
    convs = table.column("conversation").to_pylist()
    assert all(c[0]["content"] in first for c in convs)
    assert all(len(c) == 4 for c in convs)
    assert len(questions) == 80
    # Question 127: llama-13b's first answer is empty; kept, and noted.
    issues = dict(zip(table.column("conversation_id").to_pylist(), table.column("normalize.issues").to_pylist()))
    assert sum("empty_message" in v for v in issues.values()) >= 1


def test_arena_hard_answers_read_as_openai_messages_when_forced(shared_data, tmp_path):
    path = shared_data / "arena-hard-auto/v0.1/model_answer/gpt-3.5-turbo-0125.jsonl"
    manifest = run_curate([path], tmp_path / "r", **{"read.format": "openai_messages"})
    assert manifest["counts"]["released"] == 500
    assert manifest["inputs"][0]["format"] == "openai_messages"


def test_records_are_read_in_byte_ranges_without_loss(shared_data, tmp_path):
    # Small units force a file to be split many times; every line is read exactly once.
    path = shared_data / "arena-hard-auto/v2.0/question.jsonl"
    files, _ = resolve_inputs([str(path)])
    units, _ = plan_units(files, 20_000)
    assert len(units) > 10
    numbers = [r.number for u in units for r in iter_records(u, 1 << 26)]
    assert numbers == list(range(1, 751))
    manifest = run_curate([path], tmp_path / "r", **{"engine.chunk_bytes": 20_000,
                                                     "read.benchmark_questions": "prompts"})
    assert manifest["counts"]["released"] == 750


def test_benchmark_questions_alone_and_reference_answers(shared_data, tmp_path):
    mt = shared_data / "fastchat-llm-judge" / "mt_bench"
    manifest = run_curate([mt / "question.jsonl"], tmp_path / "q")
    assert manifest["counts"]["released"] == 0 and manifest["counts"]["quarantined"] == {"benchmark_question": 80}
    entry = read_quarantine(tmp_path / "q")[0]
    assert "read.benchmark_questions=prompts" in entry["detail"]
    manifest = run_curate([mt / "question.jsonl"], tmp_path / "p", **{"read.benchmark_questions": "prompts"})
    table = read_release(tmp_path / "p")
    assert table.num_rows == 80 and set(table["turn"].to_pylist()) == {0}
    assert all(len(c) == 1 for c in table["conversation"].to_pylist())  # the first turn, never both merged
    manifest = run_curate([mt / "question.jsonl", mt / "reference_answer", mt / "model_answer" / "gpt-4.jsonl"],
                          tmp_path / "ref", **{"pii.enabled": False})
    models = pc.value_counts(read_release(tmp_path / "ref").column("model")).to_pylist()
    counts = {m["values"]: m["counts"] for m in models}
    assert counts["gpt-4"] == 80 and counts["gpt-4 (reference answer)"] == 30
    assert "snapshot_superseded" not in manifest["counts"]["excluded"]
