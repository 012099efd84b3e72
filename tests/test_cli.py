"""The CLI surface: help texts, the demo, and the Hub path when the Hub cannot be reached."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import assert_reconciles

from chatsift.cli.main import cli


@pytest.mark.parametrize("command", [[], ["curate"], ["inspect"], ["formats"], ["demo"], ["moderate"], ["moderator"],
                                     ["moderator", "train"], ["moderator", "eval"], ["moderator", "build-set"],
                                     ["safety"], ["safety", "mine"], ["safety", "build"], ["safety", "run"],
                                     ["safety", "validate"], ["safety", "detector-train"], ["sft"],
                                     ["sft", "select"], ["sft", "export"]])
def test_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_demo_curates_the_synthetic_sample(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path), "-n", "600", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "synthetic" in result.output and "card:" in result.output
    manifest = json.loads((tmp_path / "release" / "manifest.json").read_text())
    assert_reconciles(manifest)
    c = manifest["counts"]
    # What the sample plants, each found: snapshots, votes, the three filters, five malformed records.
    assert c["excluded"]["snapshot_superseded"] > 0 and c["excluded"]["vote_event"] > 0
    for reason in ("network_error", "anonymized", "blocked_word", "bad_format"):
        assert c["excluded"][reason] == 1, reason
    assert sum(c["quarantined"].values()) == 5
    assert manifest["statistics"]["languages"] >= 6
    card = (tmp_path / "release" / "README.md").read_text()
    assert "synthetic" in card


def test_demo_is_deterministic(tmp_path):
    from chatsift.demo.sample import write_sample

    a = write_sample(tmp_path / "a", n=300)
    b = write_sample(tmp_path / "b", n=300)
    for path in sorted(a.folder.rglob("*")):
        if path.is_file():
            assert path.read_bytes() == (b.folder / path.relative_to(a.folder)).read_bytes()


def test_hub_input_fails_clearly_offline(tmp_path):
    result = CliRunner().invoke(cli, ["curate", "hf://lmsys/lmsys-chat-1m", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "could not fetch hf://lmsys/lmsys-chat-1m" in result.output
    assert "huggingface-cli download" in result.output


def test_a_missing_optional_package_says_how_to_install_it(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # an import of "ray" now raises ImportError
    (tmp_path / "in.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["curate", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "r"),
                                      "--executor", "ray"])
    assert result.exit_code == 2, result.output
    assert "--executor ray needs Ray Data: pip install 'chatsift[ray]'" in result.output


def test_config_errors_come_before_any_work(tmp_path, shared_data):
    src = shared_data / "fastchat-llm-judge" / "mt_bench" / "model_answer" / "gpt-4.jsonl"
    out = tmp_path / "rel"
    bad = CliRunner().invoke(cli, ["curate", str(src), "--out", str(out), "--no-progress",
                                   "--set", "pii.kinds=email,foo"])
    assert bad.exit_code == 2 and "pii.kinds: unknown kind(s) ['foo']" in bad.output
    assert not out.exists()  # nothing to resume: the corrected command simply runs
    good = CliRunner().invoke(cli, ["curate", str(src), "--out", str(out), "--no-progress",
                                    "--set", "pii.kinds=email"])
    assert good.exit_code == 0, good.output


def test_an_empty_release_exits_non_zero_with_the_reasons(tmp_path, shared_data):
    src = shared_data / "dices-judgebench" / "dices_990.json"
    result = CliRunner().invoke(cli, ["curate", str(src), "--out", str(tmp_path / "rel"), "--no-progress"])
    assert result.exit_code == 1
    assert "nothing was released; top quarantined reasons:" in result.output
    assert "error: no conversation was released" in result.output
    # what says why is kept; nothing looks like a finished release (no card, no data, no "release:" line)
    assert (tmp_path / "rel" / "manifest.json").exists() and (tmp_path / "rel" / "quarantine.jsonl").exists()
    assert not (tmp_path / "rel" / "README.md").exists() and not (tmp_path / "rel" / "data").exists()
    assert "release:" not in result.output and "card:" not in result.output and "quarantine.jsonl" in result.output
    again = CliRunner().invoke(cli, ["curate", str(src), "--out", str(tmp_path / "rel2"), "--no-progress",
                                     "--allow-empty"])
    assert again.exit_code == 0 and (tmp_path / "rel2" / "README.md").exists()


def test_no_user_id_warning_for_a_release_without_user_id(tmp_path, caplog):
    from conftest import run_curate

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
                               "user": "someone"}) + "\n")
    with caplog.at_level("WARNING"):
        run_curate([src], tmp_path / "public", **{"user_id.secret": ""})
    assert "no user-id secret" not in caplog.text
    with caplog.at_level("WARNING"):
        run_curate([src], tmp_path / "private", **{"user_id.secret": "", "release.schema": "full",
                                                    "release.keep_private": True})
    assert "no user-id secret" in caplog.text


def test_distilling_the_static_embedder_rebuilds_the_shipped_one_and_prints_nothing(tmp_path, capfd):
    pytest.importorskip("model2vec.distill")
    from chatsift.common.static_embedder import FILES, StaticEmbedder, bundled_embedder_path

    result = CliRunner().invoke(cli, ["moderator", "distill-embedder", "--out", str(tmp_path / "e")])
    assert result.exit_code == 0, result.output
    out, err = capfd.readouterr()
    assert "LOAD REPORT" not in out + err and "Encoding tokens" not in out + err
    # the same command wrote the table chatsift ships (byte for byte on the machine that built it; here,
    # the same vectors): the moderator's heads were trained over them
    assert all((tmp_path / "e" / name).exists() for name in FILES)
    texts = ["Will I get pregnant this month?", "putting all apples in an array and sort them", "Danke!"]
    vectors = StaticEmbedder(tmp_path / "e").embed(texts)
    shipped = StaticEmbedder(bundled_embedder_path()).embed(texts)
    assert vectors.shape == (3, 256) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float((vectors * shipped).sum(axis=1).min()) > 0.999
    assert "sentence-transformers/all-MiniLM-L6-v2" in (tmp_path / "e" / "config.json").read_text()


def test_formats_names_the_break_in_a_truncated_json_file(tmp_path):
    whole = json.dumps([{"messages": [{"role": "user", "content": "hi"}]}] * 3)
    (tmp_path / "cut.json").write_text(whole[:-30], encoding="utf-8")
    result = CliRunner().invoke(cli, ["formats", str(tmp_path / "cut.json")])
    assert result.exit_code == 0
    assert "cut.json: record 1: invalid_json" in result.output and "Unterminated string" in result.output


def test_table1_counts_no_unnamed_model_or_unknown_language(tmp_path):
    from conftest import run_curate

    from chatsift.analysis.stats import compute_stats

    rows = [{"messages": [{"role": "user", "content": "Please summarise the attached report for me."},
                          {"role": "assistant", "content": "Here is a short summary of the report."}], "model": m}
            for m in ("gpt-4o", "", None)]
    rows.append({"messages": [{"role": "user", "content": "1234 5678"}, {"role": "assistant", "content": "?"}],
                 "model": "gpt-4o"})
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run_curate([tmp_path / "in.jsonl"], tmp_path / "r", **{"filters.min_user_chars": 0})
    stats = compute_stats(tmp_path / "r")
    languages = set(stats["languages_top"])
    assert stats["table1"]["models"] == 1 and stats["models"] == {"gpt-4o": 2, "(none)": 2}
    assert stats["table1"]["languages"] == len(languages - {"unknown", "Unknown", ""})
