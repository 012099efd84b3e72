"""A folder of small files (one conversation per file, as many services and scrapers dump logs) reads as
packs of files: the same release as one file holding the same records, with counts per file."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from conftest import assert_reconciles, read_quarantine, read_release, run_curate

from chatsift.io.inputs import plan_units, resolve_inputs


def _conversation(i: int) -> dict:
    return {"id": f"c{i}", "model": "vicuna-13b", "messages": [
        {"role": "user", "content": f"How do I convert {i} Celsius into Fahrenheit by hand?"},
        {"role": "assistant", "content": f"Multiply {i} by 9/5 and add 32."}]}


def test_a_folder_of_small_files_gives_the_release_of_one_file(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    lines = []
    for i in range(120):
        record = _conversation(i % 100)  # 20 exact duplicates of earlier conversations, in other files
        record["id"] = f"c{i}"
        text = json.dumps(record)
        if i % 37 == 5:
            text = text[:-9]  # a cut-off file: its record is quarantined
        if i % 41 == 7:
            text = json.dumps({"id": f"c{i}", "messages": []})  # no messages: excluded
        lines.append(text)
        (folder / f"conv{i:04d}.json").write_text(text, encoding="utf-8")
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    files, _ = resolve_inputs([str(folder)])
    units, _ = plan_units(files, 48 * 1024 * 1024)
    assert len(units) == 1 and len(units[0].parts) == 120  # one pack

    one = run_curate([tmp_path / "all.jsonl"], tmp_path / "one", **{"select.exact": "one_per_group"})
    many = run_curate([folder], tmp_path / "many", **{"select.exact": "one_per_group"})
    assert_reconciles(many)
    assert many["counts"]["released"] == one["counts"]["released"]
    assert many["counts"]["excluded"] == one["counts"]["excluded"]
    assert many["counts"]["quarantined"] == one["counts"]["quarantined"]
    rows_one = read_release(tmp_path / "one").to_pylist()
    rows_many = read_release(tmp_path / "many").to_pylist()
    assert sorted(map(json.dumps, rows_one)) == sorted(map(json.dumps, rows_many))
    assert len(many["inputs"]) == 120 and all(i["counts"]["input"] == 1 for i in many["inputs"])
    by_file = {i["file"]: i["counts"] for i in many["inputs"]}
    assert by_file["logs/conv0005.json"]["quarantined"] == {"invalid_json": 1}
    assert sum(by_file["logs/conv0007.json"]["excluded"].values()) == 1
    # every exclusion and quarantine entry names the file it came from
    excl = pq.read_table(tmp_path / "many" / "exclusions.parquet").to_pylist()
    for e in excl:
        assert by_file[e["source_file"]]["released"] == 0 and sum(by_file[e["source_file"]]["excluded"].values()) == 1
    assert {q["file"] for q in read_quarantine(tmp_path / "many")} == {f"logs/conv{i:04d}.json" for i in range(120)
                                                                        if i % 37 == 5 and i % 41 != 7}


def test_large_files_are_not_packed(tmp_path):
    for name, n in (("a.jsonl", 1), ("b.jsonl", 400), ("c.jsonl", 1)):
        (tmp_path / name).write_text("".join(json.dumps(_conversation(i)) + "\n" for i in range(n)), encoding="utf-8")
    files, _ = resolve_inputs([str(tmp_path)])
    units, _ = plan_units(files, 16 * 1024)  # b.jsonl is over chunk_bytes / 16: alone, and split in ranges
    kinds = [(u.container, len(u.parts)) for u in units]
    assert kinds[0] == ("jsonl", 0) and kinds[-1] == ("jsonl", 0)  # a and c are each alone between b's units
    assert sum(1 for u in units if u.file_index == 1) >= 2


def test_inspect_summarises_a_folder_of_files(tmp_path):
    from click.testing import CliRunner

    from chatsift.cli.main import cli

    folder = tmp_path / "logs"
    folder.mkdir()
    for i in range(60):
        (folder / f"c{i:03d}.json").write_text(json.dumps(_conversation(i)) + ("" if i else "}"), encoding="utf-8")
    run_curate([folder], tmp_path / "r")
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) < 20
    assert "inputs: 60 files" in result.output and "59 files [openai_messages]: 59 of 59 released" in result.output
    assert "1 file [format not detected]: 0 of 1 released" in result.output
    assert "most not released: logs/c000.json" in result.output
