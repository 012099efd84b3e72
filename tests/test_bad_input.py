"""Bad input ends in quarantine entries or clear messages, never a crash or a silent drop."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import assert_reconciles, read_quarantine, read_release, run_curate

from chatsift.cli.main import cli
from chatsift.errors import InputError


def _line(obj) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def good(i: int) -> bytes:
    return _line({"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": "ok"}]})


def test_every_kind_of_broken_line_is_quarantined_with_its_reason(tmp_path):
    lines = [
        good(1),
        b'{"messages": [{"role": "user", "content": "cut off here',  # truncated JSON
        _line({"messages": [{"role": "sorcerer", "content": "x"}]}),  # wrong role
        _line({"messages": [{"role": "user", "content": "x" * 5_000_000}]}),  # a 5 MB message
        b'{"messages": [{"role": "user", "content": "caf\xe9 latin-1"}]}',  # invalid UTF-8
        _line({"messages": [{"role": "user", "content": {"nested": True}}]}),  # non-text content
        _line({"messages": [{"role": "user"}, {"role": "assistant", "content": "orphan"}]}),  # missing content
        b'{"messages": [{"role": "user", "content": "lone \\ud800 surrogate"}]}',  # broken surrogate: repaired
        _line({"messages": []}),  # empty conversation
        b"   ",  # blank line: not a record
        good(2),
    ]
    (tmp_path / "bad.jsonl").write_bytes(b"\n".join(line.rstrip(b"\n") for line in lines) + b"\n")
    manifest = run_curate([tmp_path / "bad.jsonl"], tmp_path / "r", **{"release.schema": "full"})
    assert_reconciles(manifest)
    c = manifest["counts"]
    assert c["records_read"] == 10
    assert c["quarantined"] == {"invalid_json": 1, "invalid_utf8": 1, "message_too_large": 1, "non_text_content": 1,
                                "unknown_role": 1}
    assert c["excluded"] == {"bad_format": 2}  # the missing content and the empty conversation
    entries = {e["reason"]: e for e in read_quarantine(tmp_path / "r")}
    assert entries["invalid_json"]["record"] == 2
    assert entries["message_too_large"]["record"] == 4
    assert "max_message_chars" in entries["message_too_large"]["detail"]
    assert len(entries["message_too_large"]["raw"]) <= 301  # clipped
    rows = read_release(tmp_path / "r").to_pylist()
    repaired = next(r for r in rows if "surrogate" in r["conversation"][0]["content"])
    assert "\ufffd" in repaired["conversation"][0]["content"]
    assert "repaired_surrogates" in repaired["normalize.issues"]


def test_empty_file_gives_a_warning_and_zero_counts(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "ok.jsonl").write_bytes(good(1))
    manifest = run_curate([tmp_path], tmp_path / "r")
    assert_reconciles(manifest)
    assert any("empty file" in w for w in manifest["warnings"])
    empty = next(i for i in manifest["inputs"] if i["file"].endswith("empty.jsonl"))
    assert empty["counts"]["input"] == 0


def test_a_folder_of_mixed_formats(shared_data, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "chats.jsonl").write_bytes(good(1) + good(2))
    (folder / "sharegpt.json").write_text(json.dumps([{"id": "s1", "conversations": [
        {"from": "human", "value": "hello"}, {"from": "gpt", "value": "hi"}]}]))
    (folder / "notes.md").write_text("not data")
    (folder / "weird.jsonl").write_bytes(_line({"foo": 1}) + _line({"bar": 2}))
    (folder / "half.jsonl").write_bytes(good(3) + _line({"conversations": [{"from": "human", "value": "x"}]}))
    (folder / "arena.jsonl").write_bytes((shared_data / "arena-hard-auto/v0.1/question.jsonl").read_bytes()[:5000]
                                         .rsplit(b"\n", 1)[0] + b"\n")
    manifest = run_curate([folder], tmp_path / "r")
    assert_reconciles(manifest)
    formats = {i["file"]: i["format"] for i in manifest["inputs"]}
    assert formats["mixed/chats.jsonl"] == "openai_messages"
    assert formats["mixed/sharegpt.json"] == "sharegpt"
    assert formats["mixed/arena.jsonl"] == "arena_hard"
    assert formats["mixed/weird.jsonl"] is None and formats["mixed/half.jsonl"] is None
    assert any("notes.md" in w for w in manifest["warnings"])
    mixed_warning = next(w for w in manifest["warnings"] if "half.jsonl" in w)
    assert "openai_messages" in mixed_warning and "sharegpt" in mixed_warning  # names what it looked like
    assert manifest["counts"]["quarantined"] == {"unknown_format": 4}


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        run_curate([tmp_path / "nope.jsonl"], tmp_path / "r")
    result = CliRunner().invoke(cli, ["curate", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "error: input not found" in result.output
    assert "Traceback" not in result.output


def test_records_that_do_not_fit_the_schema_are_quarantined(tmp_path):
    # A model that is a number is kept as text; a non-scalar model fails the schema and is quarantined.
    (tmp_path / "c.jsonl").write_bytes(
        good(1)
        + _line({"model": 13, "messages": [{"role": "user", "content": "a"}]})
        + _line({"model": ["x"], "messages": [{"role": "user", "content": "b"}]})
    )
    manifest = run_curate([tmp_path / "c.jsonl"], tmp_path / "r")
    assert_reconciles(manifest)
    assert manifest["counts"]["released"] == 2
    assert manifest["counts"]["quarantined"] == {"wrong_type": 1}


def test_quarantine_never_holds_a_raw_ip(tmp_path):
    (tmp_path / "2023-01-01-conv.json").write_bytes(
        _line({"tstamp": 1, "type": "chat", "model": "m", "ip": "192.0.2.44",
               "state": {"conv_id": "z" * 32, "messages": [["USER", "hi"]], "offset": 0}})
        + b'{"tstamp": 2, "type": "chat", "ip": "192.0.2.45", "state": {"conv_id": "y'
    )
    run_curate([tmp_path / "2023-01-01-conv.json"], tmp_path / "r", **{"release.schema": "full"})
    text = (tmp_path / "r" / "quarantine.jsonl").read_text()
    assert "invalid_json" in text and "<IP>" in text
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            assert b"192.0.2.4" not in path.read_bytes(), path
