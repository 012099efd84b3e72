"""sft select / export: subsets of real releases, decontamination recall on planted benchmark questions,
and exports that datasets and TRL's SFTTrainer read unchanged."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA, read_release, run_curate

from chatsift.analysis.tokenize import ApproxTokenizer
from chatsift.cli.main import cli
from chatsift.demo.sample import write_sample
from chatsift.sft.decontam import PLANTED_EDITS, Decontaminator, plant, read_benchmark
from chatsift.sft.select import SftRules, select_subset

MT_BENCH = SHARED_DATA / "fastchat-llm-judge" / "mt_bench" / "question.jsonl"
ARENA_HARD = SHARED_DATA / "arena-hard-auto" / "v0.1" / "question.jsonl"


@pytest.fixture(scope="module")
def mt_release(tmp_path_factory):
    """MT-bench answers of eight real models (two turns each), curated with the default stages."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    out = tmp_path_factory.mktemp("mt") / "release"
    run_curate([SHARED_DATA / "fastchat-llm-judge" / "mt_bench"], out, **{"release.schema": "full"})
    return out


def _run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_highquality_subset_and_its_reasons_add_up(mt_release, tmp_path):
    out = tmp_path / "hq"
    _run("sft", "select", str(mt_release), "--out", str(out), "--model", "gpt-4", "--model", "gpt-3.5-turbo",
         "--model", "claude-*")
    meta = json.loads((out / "selection.json").read_text())
    assert meta["selected"] + sum(meta["left_out"].values()) == meta["considered"] == read_release(mt_release).num_rows
    chosen = read_release(out)
    assert set(chosen["model"].to_pylist()) <= {"gpt-4", "gpt-3.5-turbo", "claude-v1"}
    # every model answered the same 80 questions: exact dedup keeps one conversation per question
    assert chosen.num_rows == meta["selected"] > 60
    groups = chosen["dedup.exact_group"].to_pylist()
    assert len(set(groups)) == len(groups) and meta["left_out"]["exact duplicate of a selected conversation"] > 100
    assert chosen.schema.names == read_release(mt_release).schema.names
    # the paper's default five do not include MT-bench's "claude-v1"
    default = select_subset(mt_release, SftRules("highquality", exact_dedup=False))
    model_of = dict(zip(*read_release(mt_release).select(["conversation_id", "model"]).to_pydict().values()))
    assert {model_of[c] for c in default.ids} == {"gpt-4", "gpt-3.5-turbo"}
    # five open models, claude-v1, and the 30 reference answers ("gpt-4 (reference answer)")
    assert default.reasons["not a HighQuality model"] == 6 * 80 + 30


def test_decontamination_removes_mt_bench_from_itself(mt_release, tmp_path):
    out = tmp_path / "clean"
    result = _run("sft", "select", str(mt_release), "--out", str(out), "--subset", "custom", "--no-exact-dedup",
                  "--decontaminate", str(MT_BENCH))
    meta = json.loads((out / "selection.json").read_text())
    other = sum(v for k, v in meta["left_out"].items() if not k.startswith("contaminated"))
    # every conversation that passed the other rules asks an MT-bench question, and all are found
    assert meta["selected"] == 0 and meta["decontamination"]["removed"] == meta["considered"] - other > 500
    assert meta["decontamination"]["benchmarks"] == ["fastchat-llm-judge/mt_bench"]
    matches = [json.loads(line) for line in (out / "contaminated.jsonl").read_text().splitlines()]
    methods = Counter(m["method"] for m in matches)
    # copies the PII stage touched (a name became NAME_1) are caught by the n-gram or embedding matchers
    assert methods["exact"] >= 0.9 * len(matches) and all(m["item_id"] for m in matches), methods
    assert "custom: 0 of" in result.output


def test_decontamination_recall_on_planted_questions(tmp_path):
    """Benchmark questions planted, with small edits, among real OASST conversations."""
    rng = random.Random(7)
    items = [it for it in read_benchmark(MT_BENCH) + read_benchmark(ARENA_HARD) if it.turn == 0]
    planted = rng.sample(items, 120)
    records = []
    for k, it in enumerate(planted):
        edit = PLANTED_EDITS[k % len(PLANTED_EDITS)]
        records.append({"conversation_id": f"plant-{edit}-{k}", "model": "m", "conversation": [
            {"role": "user", "content": plant(edit, it.text, rng)}, {"role": "assistant", "content": "An answer."}]})
    src = tmp_path / "planted.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    run_curate([src, SHARED_DATA / "openassistant-oasst-eval-samples" / "en_100_tree.jsonl"], tmp_path / "rel",
               **{"release.schema": "full"})
    decontaminator = Decontaminator(read_benchmark(MT_BENCH) + read_benchmark(ARENA_HARD))
    selection = select_subset(tmp_path / "rel", SftRules("custom", exclude_flagged=False, exact_dedup=False),
                              decontaminator)
    found = {c["conversation_id"]: c for c in selection.contaminated}
    for edit in PLANTED_EDITS:
        ids = [r["conversation_id"] for r in records if f"-{edit}-" in r["conversation_id"]]
        recall = sum(i in found for i in ids) / len(ids)
        assert recall >= (0.95 if edit != "reworded clause" else 0.85), (edit, recall)
    false = [c for cid, c in found.items() if not cid.startswith("plant-")]
    oasst = selection.considered - len(records)
    assert len(false) <= 0.01 * oasst, false
    # the matched item is the planted one
    wrong = [cid for cid, c in found.items() if cid.startswith("plant-")
             and c["item_id"] != planted[int(cid.rsplit("-", 1)[1])].item_id]
    assert not wrong


def test_ngram_matcher_needs_a_shared_13_gram():
    import numpy as np
    import pyarrow as pa

    from chatsift.sft.decontam import normalise

    items = read_benchmark(ARENA_HARD)
    long = next(it for it in items if len(it.text.split()) > 40)
    d = Decontaminator(items, methods=("ngram",))
    words = normalise(pa.array([long.text])).to_pylist()[0].split(" ")
    inside = "Intro text here. " + " ".join(words[5:18]) + " and then something else"
    short = " ".join(words[5:17])  # 12 words: no full 13-gram
    result = d.match([inside, short], np.arange(2), 2)
    assert result[0] is not None and result[0].item_id == long.item_id and result[1] is None


def test_upvote_subset_takes_open_models_with_votes(tmp_path):
    sample = write_sample(tmp_path / "in", n=400)
    run_curate([sample.folder], tmp_path / "rel", **{"release.schema": "full"})
    release = read_release(tmp_path / "rel").to_pylist()
    selection = select_subset(tmp_path / "rel", SftRules("upvote", exact_dedup=False))
    by_id = {r["conversation_id"]: r for r in release}
    assert selection.ids
    for cid in selection.ids:
        row = by_id[cid]
        assert not row["model"].startswith(("gpt", "claude", "palm"))
        assert (row["votes.up"] or 0) > 0 or (row["votes.win"] or 0) > 0
    voted_open = [r for r in release if ((r["votes.up"] or 0) > 0 or (r["votes.win"] or 0) > 0)
                  and not r["model"].startswith(("gpt", "claude", "palm"))]
    assert selection.considered == len(release)
    assert len(selection.ids) <= len(voted_open)


def test_upvote_without_votes_and_unknown_benchmarks_fail_clearly(mt_release, tmp_path):
    lmsys = tmp_path / "lmsys"
    run_curate([MT_BENCH.parent], lmsys)
    result = CliRunner().invoke(cli, ["sft", "select", str(lmsys), "--out", str(tmp_path / "o"), "--subset", "upvote"])
    assert result.exit_code == 2 and "votes.up" in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"question_id": 1, "turns": [""]}) + "\n")
    result = CliRunner().invoke(cli, ["sft", "select", str(mt_release), "--out", str(tmp_path / "o2"),
                                      "--decontaminate", str(empty)])
    assert result.exit_code == 2 and "empty or non-text turn" in result.output


def test_exports_are_read_by_datasets_and_trl(mt_release, tmp_path):
    subset = tmp_path / "hq"
    _run("sft", "select", str(mt_release), "--out", str(subset), "--model", "gpt-4", "--model", "claude-*")
    rows = read_release(subset).to_pylist()
    tok = ApproxTokenizer()
    expected_tokens = sum(sum(tok.count([m["content"] for m in r["conversation"]])) for r in rows)

    result = _run("sft", "export", str(subset), "--format", "sharegpt", "--out", str(tmp_path / "sg.json"))
    assert f"{expected_tokens:,} tokens" in result.output
    sharegpt = json.loads((tmp_path / "sg.json").read_text())
    assert len(sharegpt) == len(rows)
    first = {r["conversation_id"]: r for r in rows}[sharegpt[0]["id"]]
    assert [(t["from"], t["value"]) for t in sharegpt[0]["conversations"]] == [
        ({"user": "human", "assistant": "gpt"}[m["role"]], m["content"]) for m in first["conversation"]]

    _run("sft", "export", str(subset), "--format", "openai", "--out", str(tmp_path / "oa.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "oa.jsonl").read_text().splitlines()]
    assert len(lines) == len(rows) and all(m["role"] in {"user", "assistant"} for x in lines for m in x["messages"])

    _run("sft", "export", str(subset), "--format", "hf", "--out", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    # a cache of its own: datasets keys a local folder's cache by the folder's name, not its path, so a
    # stale "hf" from an earlier run with other rows would be read back instead
    ds = datasets.load_dataset(str(tmp_path / "hf"), split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert ds.num_rows == len(rows)
    string = datasets.Value("string")
    assert ds.features["messages"] == datasets.List({"role": string, "content": string})
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "path: data/train-*.parquet" in card and f"{expected_tokens:,}" in card

    trl = pytest.importorskip("trl")
    transformers = pytest.importorskip("transformers")
    from chatsift.analysis.topics.embed import bundled_minilm_path

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(bundled_minilm_path()))
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id))
    args = trl.SFTConfig(output_dir=str(tmp_path / "trl"), max_steps=2, per_device_train_batch_size=2, report_to=[],
                         max_length=128, use_cpu=True, save_strategy="no", disable_tqdm=True)
    trainer = trl.SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tokenizer)
    assert trl.data_utils.is_conversational(ds[0])
    assert trainer.train().global_step == 2


def test_select_and_export_with_repeated_ids_across_sources(tmp_path):
    def conv(cid, text):
        return {"id": cid, "model": "gpt-4", "messages": [{"role": "user", "content": text},
                                                           {"role": "assistant", "content": "a long enough answer"}]}

    question = read_benchmark(MT_BENCH)[0].text
    (tmp_path / "a.jsonl").write_text(json.dumps(conv("7", "How do I sort a list in Python?")) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps(conv("7", question)) + "\n")
    run_curate([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "rel", **{"release.schema": "full"})
    selection = select_subset(tmp_path / "rel", SftRules("highquality"), Decontaminator(read_benchmark(MT_BENCH)))
    # both conversations carry id 7; only the one asking the MT-bench question is removed
    assert selection.ids == ["7"] and len(selection.contaminated) == 1
    from chatsift.sft.select import write_subset

    write_subset(tmp_path / "rel", selection, tmp_path / "out")
    kept = read_release(tmp_path / "out")
    assert kept.num_rows == 1 and kept["conversation"].to_pylist()[0][0]["content"].startswith("How do I sort")


def test_export_to_a_folder_writes_the_format_file_inside_it(tmp_path):
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "1", "model": "gpt-4", "messages": [
        {"role": "user", "content": "How do I sort a list in Python?"},
        {"role": "assistant", "content": "Use sorted(items) or items.sort()."}]}) + "\n")
    run_curate([tmp_path / "in.jsonl"], tmp_path / "rel")
    result = _run("sft", "export", str(tmp_path / "rel"), "--format", "openai", "--out", str(tmp_path / "dir") + "/")
    assert (tmp_path / "dir" / "openai.jsonl").is_file() and "dir/openai.jsonl" in result.output
    (tmp_path / "existing").mkdir()
    _run("sft", "export", str(tmp_path / "rel"), "--format", "sharegpt", "--out", str(tmp_path / "existing"))
    assert json.loads((tmp_path / "existing" / "sharegpt.json").read_text())[0]["id"] == "1"


def test_default_selection_works_on_a_release_in_the_lmsys_schema(tmp_path):
    def conv(cid, question, answer):
        return {"id": cid, "model": "gpt-4", "messages": [{"role": "user", "content": question},
                                                           {"role": "assistant", "content": answer}]}

    rows = [conv("1", "How do I sort a list in Python?", "Use sorted()."),
            conv("2", "how do I sort a list in python", "Call list.sort()."),  # the same user turn, normalised
            conv("3", "What is a closure?", "A function with its environment."),
            conv("4", "What is a closure?", "A nested function.")]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_curate([tmp_path / "in.jsonl"], tmp_path / "lmsys")
    run_curate([tmp_path / "in.jsonl"], tmp_path / "full", **{"release.schema": "full"})
    plain = select_subset(tmp_path / "lmsys", SftRules("highquality"))
    full = select_subset(tmp_path / "full", SftRules("highquality"))
    # no dedup.exact_group column in the LMSYS schema: the same groups are computed from the user turns
    assert plain.ids == full.ids == ["1", "3"]
    assert plain.reasons == full.reasons
    result = _run("sft", "select", str(tmp_path / "lmsys"), "--out", str(tmp_path / "hq"))
    assert "exact duplicate of a selected conversation 2" in result.output
