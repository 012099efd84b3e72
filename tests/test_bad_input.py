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
    manifest = run_curate([folder], tmp_path / "r", **{"read.benchmark_questions": "prompts"})
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


def _quarantine_reasons(out) -> dict[str, int]:
    from collections import Counter

    return dict(Counter(q["reason"] for q in read_quarantine(out)))


def test_json_nested_too_deep_is_one_quarantine_entry(tmp_path):
    deep = b'{"messages": ' + b"[" * 1100 + b"]" * 1100 + b"}"
    (tmp_path / "deep.jsonl").write_bytes(good(1) + deep + b"\n" + good(2))
    manifest = run_curate([tmp_path / "deep.jsonl"], tmp_path / "r")
    assert_reconciles(manifest)
    assert manifest["counts"]["released"] == 2 and _quarantine_reasons(tmp_path / "r") == {"invalid_json": 1}
    (tmp_path / "deep.json").write_bytes(deep)
    result = CliRunner().invoke(cli, ["formats", str(tmp_path / "deep.json")])
    assert result.exit_code == 0 and "Traceback" not in result.output


@pytest.mark.parametrize("suffix, compress", [
    (".gz", lambda b: __import__("gzip").compress(b)),
    (".bz2", lambda b: __import__("bz2").compress(b)),
    (".zst", lambda b: __import__("pyarrow").compress(b, codec="zstd", asbytes=True)),
])
def test_truncated_compressed_file_keeps_its_readable_prefix(tmp_path, suffix, compress):
    body = b"".join(good(i) for i in range(30000))
    blob = compress(body)
    (tmp_path / f"cut.jsonl{suffix}").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "fine.jsonl").write_bytes(good(9999))
    manifest = run_curate([tmp_path], tmp_path / "r")
    assert_reconciles(manifest)
    reasons = _quarantine_reasons(tmp_path / "r")
    assert reasons.get("damaged_file") == 1, reasons
    entry = next(q for q in read_quarantine(tmp_path / "r") if q["reason"] == "damaged_file")
    assert "breaks off" in entry["detail"] or "cannot" in entry["detail"]
    # the records before the damage are kept (bz2 decompresses in 900 kB blocks: its cut block is lost whole)
    assert manifest["counts"]["released"] >= 1 + (0 if suffix == ".bz2" else 5000)


def test_garbage_parquet_and_gzip_are_quarantined_not_fatal(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet at all")
    (tmp_path / "bad.json.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    (tmp_path / "ok.jsonl").write_bytes(good(1))
    manifest = run_curate([tmp_path], tmp_path / "r")
    assert_reconciles(manifest)
    assert manifest["counts"]["released"] == 1
    assert _quarantine_reasons(tmp_path / "r") == {"damaged_file": 2}


def test_dangling_symlinks_loops_hidden_and_csv_files_are_reported(tmp_path):
    src = tmp_path / "in"
    (src / ".hidden").mkdir(parents=True)
    (src / ".hidden" / "a.jsonl").write_bytes(good(1))
    (src / ".dot.jsonl").write_bytes(good(2))
    (src / "real").mkdir()
    (src / "real" / "b.jsonl").write_bytes(good(3))
    (src / "linked").symlink_to(src / "real", target_is_directory=True)
    (src / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    (src / "loop1.jsonl").symlink_to(src / "loop2.jsonl")
    (src / "loop2.jsonl").symlink_to(src / "loop1.jsonl")
    (src / "table.csv").write_text("prompt,answer\nhi,hello\n")
    manifest = run_curate([src], tmp_path / "r")
    assert_reconciles(manifest)
    assert manifest["counts"]["released"] == 1
    assert _quarantine_reasons(tmp_path / "r") == {"unreadable_file": 3}
    details = {q["detail"] for q in read_quarantine(tmp_path / "r")}
    assert any("dangling symlink" in d for d in details) and any("symlink loop" in d for d in details)
    text = "\n".join(manifest["warnings"])
    for expected in ("hidden folder", "hidden file", "symlinked folder", "CSV is not an input format",
                     "dangling symlink", "symlink loop"):
        assert expected in text, expected
    # A symlinked file pointing outside the input folder is not followed (another folder's data, or
    # /etc/passwd, would otherwise land in the release or its quarantine excerpts).
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.jsonl").write_bytes(good(4))
    (src / "escape.jsonl").symlink_to(outside / "secret.jsonl")
    (src / "inside.jsonl").symlink_to(src / "real" / "b.jsonl")  # within the folder: read (once)
    manifest = run_curate([src], tmp_path / "r3")
    assert manifest["counts"]["released"] == 1
    assert any("symlink to a file outside" in w for w in manifest["warnings"])
    only_csv = tmp_path / "csv"
    only_csv.mkdir()
    (only_csv / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="CSV is not an input format"):
        run_curate([only_csv], tmp_path / "r2")


def _curate_cmd(src, out) -> list[str]:
    import sys

    return [sys.executable, "-m", "chatsift.cli.main", "curate", str(src), "--out", str(out), "--no-progress",
            "--set", "user_id.secret=k", "--no-pii"]


def test_file_size_limit_gives_one_line_cleans_up_and_resumes(tmp_path):
    import resource
    import subprocess

    from chatsift.demo.sample import write_sample

    sample = write_sample(tmp_path / "in", n=3000)
    limit = 64 * 1024  # bytes; the release needs more, so a write fails part way

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    failed = subprocess.run(_curate_cmd(sample.folder, tmp_path / "out"), preexec_fn=cap, capture_output=True,
                            text=True)
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("error: a file grew past") and \
        "Traceback" not in failed.stderr
    assert not list((tmp_path / "out").rglob("*.tmp"))
    done = subprocess.run(_curate_cmd(sample.folder, tmp_path / "out"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    clean = subprocess.run(_curate_cmd(sample.folder, tmp_path / "clean"), capture_output=True, text=True)
    assert clean.returncode == 0
    resumed, fresh = (json.loads((tmp_path / d / "manifest.json").read_text())["counts"] for d in ("out", "clean"))
    assert resumed == fresh


def test_read_only_out_is_one_clear_line(tmp_path):
    import os
    import subprocess

    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                                                    capture_output=True).returncode == 0
    if not mounted and os.geteuid() == 0:
        pytest.skip("root ignores permissions and no read-only tmpfs could be mounted here")
    if not mounted:
        ro.chmod(0o555)
    try:
        (tmp_path / "a.jsonl").write_bytes(good(1))
        result = subprocess.run(_curate_cmd(tmp_path / "a.jsonl", ro / "rel"), capture_output=True, text=True)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "read-only or not yours to write" in result.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(ro)], check=True)


def test_big_integer_ids_stay_exact(tmp_path):
    rows = [{"conversation_id": 10**30 + i, "model": "m", "conversation": [
        {"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(2)]
    (tmp_path / "ids.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = run_curate([tmp_path / "ids.jsonl"], tmp_path / "r")
    assert manifest["counts"]["released"] == 2
    assert sorted(read_release(tmp_path / "r")["conversation_id"].to_pylist()) == [str(10**30), str(10**30 + 1)]


def test_bom_utf16_and_a_pretty_printed_conversation(tmp_path):
    rec = {"conversation_id": "x1", "model": "m", "conversation": [{"role": "user", "content": "hello there"},
                                                                    {"role": "assistant", "content": "hi"}]}
    rec2 = dict(rec, conversation_id="x2")
    lines = (json.dumps(rec) + "\n" + json.dumps(rec2) + "\n").encode()
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + lines)
    (tmp_path / "bom_array.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([rec, rec2]).encode())
    (tmp_path / "pretty.json").write_text(json.dumps(rec, indent=2))
    for name, released in (("bom.jsonl", 2), ("bom_array.json", 2), ("pretty.json", 1)):
        manifest = run_curate([tmp_path / name], tmp_path / f"r-{name}")
        assert manifest["counts"]["released"] == released and not manifest["counts"]["quarantined"], name
    (tmp_path / "u16.jsonl").write_bytes(lines.decode().encode("utf-16"))
    result = CliRunner().invoke(cli, ["curate", str(tmp_path / "u16.jsonl"), "--out", str(tmp_path / "r16"),
                                      "--no-progress", "--set", "user_id.secret=k"])
    assert result.exit_code == 1
    assert "UTF-16-encoded (chatsift reads UTF-8)" in result.output and "iconv -f UTF-16" in result.output
    assert _quarantine_reasons(tmp_path / "r16") == {"unreadable_file": 1}


def test_wildchat_metadata_assistant_role_names_and_image_only_turns(tmp_path):
    rows = [
        {"conversation_hash": "h1", "metadata": {"model": "gpt-4-0314", "timestamp": "2023-05-01T10:00:00"},
         "conversation": [{"role": "user", "content": "hi", "turn_identifier": 1},
                          {"role": "assistant", "content": "hello", "turn_identifier": 1}]},
        {"metadata": {"conversation_hash": "h2", "model": "gpt-3.5-turbo"},
         "conversation": [{"role": "user", "content": "search this", "turn_identifier": 2},
                          {"role": "bing", "content": "found it", "turn_identifier": 2}]},
        {"conversation_hash": "h3", "model": "gpt-4-vision",
         "conversation": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}],
                           "turn_identifier": 3},
                          {"role": "assistant", "content": "a cat", "turn_identifier": 3}]},
    ]
    (tmp_path / "wild.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = run_curate([tmp_path / "wild.jsonl"], tmp_path / "r", **{"pii.enabled": False})
    assert_reconciles(manifest)
    table = read_release(tmp_path / "r").sort_by("conversation_id")
    assert table["conversation_id"].to_pylist() == ["h1", "h2"]
    assert table["model"].to_pylist() == ["gpt-4-0314", "gpt-3.5-turbo"]
    assert [m["role"] for m in table["conversation"].to_pylist()[1]] == ["user", "assistant"]
    assert _quarantine_reasons(tmp_path / "r") == {"non_text_message": 1}


def test_shared_ids_in_unrelated_files_are_kept_and_counted(tmp_path):
    def conv(cid, text):
        return {"id": cid, "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]}

    (tmp_path / "a.jsonl").write_text("".join(json.dumps(conv(i, f"alpha {i}")) + "\n" for i in ("1", "2")))
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(conv(i, f"beta {i}")) + "\n" for i in ("1", "2", "2")))
    manifest = run_curate([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "r")
    assert_reconciles(manifest)
    # within b.jsonl the repeated id 2 is a snapshot; across files the ids name different conversations
    assert manifest["counts"]["released"] == 4
    assert manifest["counts"]["excluded"] == {"snapshot_superseded": 1}
    assert manifest["statistics"]["id_collisions"] == 2
    assert any("occur more than once" in w for w in manifest["warnings"])
    assert sorted(read_release(tmp_path / "r")["conversation_id"].to_pylist()) == ["1", "1", "2", "2"]
    manifest = run_curate([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "g", **{"snapshot.scope": "global"})
    assert manifest["counts"]["released"] == 2 and manifest["statistics"]["id_collisions"] == 0


def test_an_inflating_line_is_cut_off_as_it_streams(tmp_path, monkeypatch):
    """A small gzip whose one line inflates to 64 MB: the line is counted as it streams past (never
    gathered), quarantined as too large, and the records after it are read."""
    import gzip
    import resource

    good = json.dumps({"messages": [{"role": "user", "content": "after the big one"}]}).encode()
    with gzip.open(tmp_path / "bomb.jsonl.gz", "wb", compresslevel=9) as fh:
        fh.write(b'{"messages": [{"role": "user", "content": "')
        for _ in range(64):
            fh.write(b"a" * (1 << 20))
        fh.write(b'"}]}\n' + good + b"\n")
    assert (tmp_path / "bomb.jsonl.gz").stat().st_size < 200_000
    (tmp_path / "warm.jsonl").write_bytes(good + b"\n")
    run_curate([tmp_path / "warm.jsonl"], tmp_path / "warm")  # the stages' models loaded before measuring
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    manifest = run_curate([tmp_path / "bomb.jsonl.gz"], tmp_path / "r",
                          **{"read.max_record_bytes": 1_000_000, "filters.min_user_chars": 0})
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 60_000  # KiB
    assert manifest["counts"]["quarantined"] == {"record_too_large": 1} and manifest["counts"]["released"] == 1
    (entry,) = read_quarantine(tmp_path / "r")
    size = len(b'{"messages": [{"role": "user", "content": "') + 64 * (1 << 20) + len(b'"}]}')
    assert entry["record"] == 1 and f"{size:,} bytes" in entry["detail"]  # counted whole, never held

    from chatsift.io import containers

    monkeypatch.setattr(containers, "MAX_JSON_FILE_BYTES", 10_000)
    (tmp_path / "big.json").write_text(json.dumps([json.loads(good)] * 500), encoding="utf-8")
    manifest = run_curate([tmp_path / "big.json"], tmp_path / "r2", **{"filters.min_user_chars": 0})
    assert manifest["counts"]["quarantined"] == {"file_too_large": 1}
