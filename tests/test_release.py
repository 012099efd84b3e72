"""End to end through the CLI: the release layout, its schema, and the tools that must load it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from conftest import assert_reconciles, read_release, run_curate

from chatsift.cli.main import cli
from chatsift.schema import LMSYS_SCHEMA

# The features block of the public LMSYS-Chat-1M dataset card (huggingface.co/datasets/lmsys/lmsys-chat-1m).
_CATS = ["harassment", "harassment/threatening", "hate", "hate/threatening", "self-harm", "self-harm/instructions",
         "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic"]
LMSYS_CARD_FEATURES = yaml.safe_load(
    """
- name: conversation_id
  dtype: string
- name: model
  dtype: string
- name: conversation
  list:
  - name: content
    dtype: string
  - name: role
    dtype: string
- name: turn
  dtype: int64
- name: language
  dtype: string
- name: openai_moderation
  list:
  - name: categories
    struct: CATEGORIES_BOOL
  - name: category_scores
    struct: CATEGORIES_FLOAT
  - name: flagged
    dtype: bool
- name: redacted
  dtype: bool
"""
)
LMSYS_CARD_FEATURES[5]["list"][0]["struct"] = [{"name": c, "dtype": "bool"} for c in _CATS]
LMSYS_CARD_FEATURES[5]["list"][1]["struct"] = [{"name": c, "dtype": "float64"} for c in _CATS]


@pytest.fixture(scope="module")
def release(tmp_path_factory, shared_data_module) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    data = shared_data_module
    inputs = [data / "fastchat-llm-judge/dummy_conversation.json",
              data / "openassistant-oasst-eval-samples/en_100_tree.jsonl",
              data / "arena-hard-auto/v2.0/question.jsonl"]
    result = CliRunner().invoke(cli, ["curate", *map(str, inputs), "--out", str(root / "release"), "--no-progress",
                                      "--workers", "2", "--set", "user_id.secret=k",
                                      "--set", "engine.chunk_bytes=200000"])
    assert result.exit_code == 0, result.output
    assert "released" in result.output
    return root / "release"


@pytest.fixture(scope="module")
def shared_data_module():
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def test_layout_and_manifest(release):
    names = sorted(p.name for p in release.iterdir())
    assert names == ["README.md", "data", "exclusions.parquet", "manifest.json", "quarantine.jsonl"]
    manifest = json.loads((release / "manifest.json").read_text())
    assert_reconciles(manifest)
    assert manifest["counts"]["input"] == 500 + 626 + 750
    for item in manifest["inputs"]:
        assert len(item["sha256"]) == 64 and item["bytes"] > 0
    assert manifest["config"]["user_id"]["secret"] == "***"  # never the secret itself
    assert manifest["versions"]["pyarrow"]
    assert [s["stage"] for s in manifest["pipeline"]][:2] == ["normalize_v1", "user_id_v1"]
    shard_rows = sum(s["rows"] for s in manifest["shards"])
    assert shard_rows == manifest["counts"]["released"]
    assert all(s["path"].startswith("data/train-") for s in manifest["shards"])
    assert not (release / ".chatsift-work").exists()


def test_lmsys_schema_is_exactly_the_card(release):
    schema = pq.read_schema(next((release / "data").glob("*.parquet")))
    assert schema.equals(LMSYS_SCHEMA)
    from datasets import Features

    assert Features.from_arrow_schema(schema) == Features._from_yaml_list(LMSYS_CARD_FEATURES)


def test_loads_with_datasets_duckdb_polars_pyarrow(release):
    import duckdb
    import polars as pl
    from datasets import load_dataset

    manifest = json.loads((release / "manifest.json").read_text())
    n = manifest["counts"]["released"]
    ds = load_dataset("parquet", data_files=str(release / "data" / "*.parquet"), split="train",
                      cache_dir=str(release.parent / "hf-cache"))
    assert ds.num_rows == n
    assert set(ds.features) == set(LMSYS_SCHEMA.names)
    glob = str(release / "data" / "*.parquet")
    con = duckdb.connect()
    assert con.execute(f"select count(*) from read_parquet('{glob}')").fetchall()[0][0] == n
    turns = con.execute(f"select avg(turn) from read_parquet('{glob}')").fetchall()[0][0]
    assert abs(turns - manifest["statistics"]["mean_turns"]) < 1e-9
    assert pl.scan_parquet(glob).select(pl.len()).collect().item() == n
    assert read_release(release).num_rows == n


def test_card_has_counts_and_table1_basics(release):
    card = (release / "README.md").read_text()
    manifest = json.loads((release / "manifest.json").read_text())
    assert card.startswith("---\nconfigs:")
    assert f"{manifest['counts']['released']:,}" in card
    for column in ("conversations", "models", "users", "languages", "mean turns"):
        assert column in card
    assert "| conversation_id |" in card


def test_card_declares_the_features_the_hub_shows(release, tmp_path):
    import yaml
    from datasets import load_dataset
    from datasets.features import Features

    card = (release / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    declared = Features._from_yaml_list(header["dataset_info"]["features"])
    loaded = load_dataset("parquet", data_files=str(release / "data" / "*.parquet"), split="train",
                          cache_dir=str(tmp_path / "hf-cache")).features
    assert declared == loaded  # the block says exactly what the shards hold


def test_exclusions_hold_every_removed_record(release):
    manifest = json.loads((release / "manifest.json").read_text())
    excl = pq.read_table(release / "exclusions.parquet")
    assert excl.num_rows == sum(manifest["counts"]["excluded"].values())
    assert set(excl.column_names) == {"conversation_id", "source_file", "source_record", "reason", "stage",
                                      "related_conversation_id"}


def test_inspect_agrees_with_the_manifest(release):
    result = CliRunner().invoke(cli, ["inspect", str(release), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["problems"] == []
    assert info["shards"]["rows"] == info["counts"]["released"]
    text = CliRunner().invoke(cli, ["inspect", str(release)])
    assert "mean turns" in text.output


def test_full_schema_keeps_annotations_and_drops_private_columns(shared_data_module, tmp_path):
    result = CliRunner().invoke(cli, ["curate", str(shared_data_module / "arena-hard-auto/v0.1/question.jsonl"),
                                      "--out", str(tmp_path / "r"), "--schema", "full", "--no-progress",
                                      "--workers", "1", "--set", "read.benchmark_questions=prompts"])
    assert result.exit_code == 0, result.output
    schema = pq.read_schema(next((tmp_path / "r" / "data").glob("*.parquet")))
    assert "dedup.exact_group" in schema.names and "language_code" in schema.names
    assert "user_id" not in schema.names and "tstamp" not in schema.names


def test_a_finished_release_is_not_overwritten_by_accident(shared_data_module, tmp_path):
    path = str(shared_data_module / "arena-hard-auto/v0.1/question.jsonl")
    args = ["curate", path, "--out", str(tmp_path / "r"), "--no-progress", "--workers", "1", "--set",
            "read.benchmark_questions=prompts"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0


def test_refuses_a_folder_that_is_not_a_release(shared_data_module, tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "thesis.tex").write_text("precious")
    result = CliRunner().invoke(cli, ["curate", str(shared_data_module / "arena-hard-auto/v0.1/question.jsonl"),
                                      "--out", str(tmp_path / "r"), "--no-progress"])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "r" / "thesis.tex").read_text() == "precious"


def test_dry_run_prints_config_and_plan_without_writing(shared_data_module, tmp_path):
    result = CliRunner().invoke(cli, ["curate", str(shared_data_module / "fastchat-llm-judge/dummy_conversation.json"),
                                      "--out", str(tmp_path / "r"), "--dry-run", "--sample", "10"])
    assert result.exit_code == 0, result.output
    assert "sample_v1" in result.output and "map phase" in result.output and "sharegpt" in result.output
    assert "n: 10" in result.output
    assert not (tmp_path / "r").exists()


def test_formats_command_lists_and_detects(shared_data_module):
    listing = CliRunner().invoke(cli, ["formats"])
    assert listing.exit_code == 0
    for name in ("fastchat_logs", "lmsys", "wildchat", "sharegpt", "openai_messages", "oasst", "hh", "arena_hard",
                 "mt_bench"):
        assert name in listing.output
    detect = CliRunner().invoke(cli, ["formats", str(shared_data_module / "anthropic-hh-rlhf")])
    assert "harmless-base/test.jsonl.gz: hh" in detect.output


def test_bad_config_fails_before_work(tmp_path):
    (tmp_path / "c.yaml").write_text("select:\n  exactt: one_per_group\n")
    (tmp_path / "in.jsonl").write_text('{"messages": [{"role": "user", "content": "x"}]}\n')
    result = CliRunner().invoke(cli, ["curate", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "r"),
                                      "-c", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2
    assert "unknown config key select.exactt" in result.output and "exact" in result.output
    assert not (tmp_path / "r").exists()


def test_card_names_the_licences_beside_the_inputs(shared_data_module, tmp_path):
    src = tmp_path / "corpus"
    (src / "part").mkdir(parents=True)
    (src / "LICENSE").write_text("MIT License\n\nCopyright (c) 2024 Someone\n")
    (src / "part" / "a.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                                                    {"role": "assistant", "content": "yo"}]}) + "\n")
    (tmp_path / "bare.jsonl").write_text((src / "part" / "a.jsonl").read_text())
    manifest = run_curate([src, tmp_path / "bare.jsonl"], tmp_path / "r")
    licences = {i["file"]: i["license"] for i in manifest["inputs"]}
    assert licences["corpus/part/a.jsonl"] == {"file": "corpus/LICENSE", "title": "MIT License"}
    card = (tmp_path / "r" / "README.md").read_text()
    assert "## Licence and attribution" in card and "`corpus/LICENSE` (MIT License): `corpus/part/a.jsonl`" in card
    assert "no licence file found for: `bare.jsonl`" in card
    assert str(tmp_path) not in json.dumps(licences)  # named like the inputs, never by local path
