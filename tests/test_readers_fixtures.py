"""Readers for formats with no real file in ../shared/data: fixtures built from their documented schemas.

FastChat logs follow reference/paper.md section 3.4; LMSYS-Chat-1M and WildChat follow their
Hugging Face cards (the features listed there, including WildChat's UTC timestamps).
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import assert_reconciles, read_quarantine, read_release, run_curate

from chatsift.demo.sample import NETWORK_ERROR, write_fastchat_logs
from chatsift.schema import LMSYS_SCHEMA, MODERATION_CATEGORIES

CONV_A = "a" * 32
CONV_B = "b" * 32


def _state(conv_id, messages, offset=0, model="vicuna-13b"):
    return {"template_name": "vicuna_v1.1", "system_message": "A chat.", "roles": ["USER", "ASSISTANT"],
            "messages": messages, "offset": offset, "conv_id": conv_id, "model_name": model}


def _chat(tstamp, conv_id, messages, model="vicuna-13b", ip="203.0.113.9", **kw):
    return {"tstamp": tstamp, "type": "chat", "model": model, "gen_params": {}, "start": tstamp, "finish": tstamp,
            "state": _state(conv_id, messages, model=model, **kw), "ip": ip}


def _write_lines(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_fastchat_snapshots_votes_and_extraction_rules(tmp_path):
    logs = tmp_path / "server0"
    logs.mkdir()
    few_shot = [["Human", "What is 2+2?"], ["Assistant", "4"]]  # template examples skipped by offset
    records = [
        _chat(1.0, CONV_A, [*few_shot, ["USER", "hi"], ["ASSISTANT", "hello"]], offset=2),
        _chat(2.0, CONV_A, [*few_shot, ["USER", "hi"], ["ASSISTANT", "hello"], ["USER", "more"], ["ASSISTANT", "ok"]],
              offset=2),
        # The paper's order: a later snapshot that hit the network error is dropped, the earlier one stays.
        _chat(3.0, CONV_B, [["USER", "q1"], ["ASSISTANT", "a1"]], model="bard"),
        _chat(4.0, CONV_B, [["USER", "q1"], ["ASSISTANT", "a1"], ["USER", "q2"], ["ASSISTANT", NETWORK_ERROR]],
              model="bard"),
        {"tstamp": 5.0, "type": "upvote", "model": "vicuna-13b", "state": _state(CONV_A, []), "ip": "203.0.113.9"},
        {"tstamp": 6.0, "type": "leftvote", "models": ["", ""], "states": [_state(CONV_A, []), _state(CONV_B, [])],
         "ip": "203.0.113.9"},
        {"tstamp": 7.0, "type": "share", "models": ["", ""], "states": [_state(CONV_A, []), _state(CONV_B, [])],
         "ip": "203.0.113.9"},
        # Early v0.2.3 state (the Conversation object) with a pending assistant turn: bad_format.
        {"tstamp": 8.0, "type": "chat", "model": "koala-13b", "state": {
            "system": "sys", "roles": ["USER", "ASSISTANT"], "messages": [["USER", "x"], ["ASSISTANT", None]],
            "offset": 0, "sep": " ", "sep2": "</s>", "conv_id": "c" * 32}, "ip": "198.51.100.7"},
        {"tstamp": 9.0, "type": "chat", "model": "koala-13b", "state": {"messages": [], "conv_id": None},
         "ip": "198.51.100.7"},
    ]
    _write_lines(logs / "2023-05-01-conv.json", records)
    manifest = run_curate([logs], tmp_path / "r", **{"release.schema": "full", "release.keep_private": True})
    assert_reconciles(manifest)
    c = manifest["counts"]
    assert c["input"] == 9
    assert c["released"] == 2
    assert c["excluded"] == {"bad_format": 1, "network_error": 1, "no_conversation": 1, "snapshot_superseded": 1,
                             "vote_event": 2}
    assert c["quarantined"] == {"invalid_conv_id": 1}
    rows = {r["conversation_id"]: r for r in read_release(tmp_path / "r").to_pylist()}
    a, b = rows[CONV_A], rows[CONV_B]
    assert [m["content"] for m in a["conversation"]] == ["hi", "hello", "more", "ok"]  # offset applied
    assert a["turn"] == 2 and a["system_prompt"] == "A chat."
    assert (a["votes.up"], a["votes.win"], a["votes.loss"]) == (1, 1, 0)
    assert (b["votes.loss"], b["votes.up"]) == (1, 0)
    assert b["model"] == "palm-2"  # bard renamed as the paper did
    assert b["turn"] == 1  # the earlier clean snapshot survived
    assert a["user_id"] == b["user_id"] and len(a["user_id"]) == 32
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            assert b"203.0.113.9" not in path.read_bytes(), path


def test_fastchat_generated_logs_at_volume(tmp_path):
    rng = random.Random(3)
    convs = [{"model": rng.choice(["vicuna-13b", "claude-v1"]),
              "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{k}-{i}"}
                           for i in range(2 * rng.randint(1, 4))]} for k in range(300)]
    counts = write_fastchat_logs(tmp_path / "2023-06-01-conv.json", convs, rng)
    manifest = run_curate([tmp_path / "2023-06-01-conv.json"], tmp_path / "r")
    assert_reconciles(manifest)
    assert manifest["counts"]["released"] == 300  # one conversation per conv_id
    assert manifest["counts"]["excluded"]["snapshot_superseded"] == counts["chat"] - 300
    assert manifest["statistics"]["models_count"].keys() == {"vicuna-13b", "claude-1"}


def _moderation(flag_sexual: bool) -> dict:
    cats = {c: (c == "sexual" and flag_sexual) for c in MODERATION_CATEGORIES}
    scores = {c: (0.9 if cats[c] else 0.001) for c in MODERATION_CATEGORIES}
    return {"categories": cats, "category_scores": scores, "flagged": flag_sexual}


def test_lmsys_parquet_passes_annotations_through(tmp_path):
    rows = [
        {"conversation_id": f"{i:032x}", "model": "vicuna-13b",
         "conversation": [{"content": f"Bonjour, peux-tu m'aider avec mon devoir numéro {i} ?", "role": "user"},
                          {"content": "Oui, bien sûr.", "role": "assistant"}],
         "turn": 1, "language": "French", "openai_moderation": [_moderation(i == 3), _moderation(False)],
         "redacted": i % 2 == 0}
        for i in range(20)
    ]
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=LMSYS_SCHEMA), path, row_group_size=7)
    manifest = run_curate([path], tmp_path / "r")
    assert manifest["inputs"][0]["format"] == "lmsys"
    out = read_release(tmp_path / "r")
    assert out.schema.equals(LMSYS_SCHEMA)
    assert out.to_pylist() == rows  # nothing changed: ids, language, moderation and redacted pass through


def test_wildchat_parquet_and_jsonl(tmp_path):
    ts = dt.datetime(2023, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    turn_type = pa.struct([("content", pa.string()), ("country", pa.string()), ("hashed_ip", pa.string()),
                           ("language", pa.string()), ("redacted", pa.bool_()), ("role", pa.string()),
                           ("timestamp", pa.timestamp("us", tz="UTC")), ("toxic", pa.bool_()),
                           ("turn_identifier", pa.int64())])
    schema = pa.schema([("conversation_hash", pa.string()), ("model", pa.string()),
                        ("timestamp", pa.timestamp("us", tz="UTC")), ("conversation", pa.list_(turn_type)),
                        ("turn", pa.int64()), ("language", pa.string()), ("toxic", pa.bool_()),
                        ("redacted", pa.bool_()), ("state", pa.string()), ("country", pa.string()),
                        ("hashed_ip", pa.string())])
    rows = []
    for i in range(10):
        turn = {"country": "Brazil", "hashed_ip": f"h{i % 3}", "language": "Portuguese", "redacted": False,
                "timestamp": ts, "toxic": False, "turn_identifier": i}
        rows.append({"conversation_hash": f"{i:032x}", "model": "gpt-4-0314", "timestamp": ts,
                     "conversation": [dict(turn, content="Olá, tudo bem? Preciso de ajuda.", role="user"),
                                      dict(turn, content="Claro!", role="assistant")],
                     "turn": 1, "language": "Portuguese", "toxic": False, "redacted": False, "state": "Sao Paulo",
                     "country": "Brazil", "hashed_ip": f"h{i % 3}"})
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "wildchat.parquet")
    jsonl = [dict(r, timestamp=r["timestamp"].isoformat(),
                  conversation=[dict(t, timestamp=t["timestamp"].isoformat()) for t in r["conversation"]])
             for r in rows]
    _write_lines(tmp_path / "wildchat.jsonl", [dict(r, conversation_hash="j" + r["conversation_hash"]) for r in jsonl])
    manifest = run_curate([tmp_path / "wildchat.parquet", tmp_path / "wildchat.jsonl"], tmp_path / "r",
                          **{"release.schema": "full", "release.keep_private": True})
    assert [i["format"] for i in manifest["inputs"]] == ["wildchat", "wildchat"]
    out = read_release(tmp_path / "r")
    assert out.num_rows == 20
    assert set(out.column("tstamp").to_pylist()) == {ts.timestamp()}
    assert manifest["statistics"]["users"] == 3  # hashed_ip keyed again: three users
    assert set(out.column("language").to_pylist()) == {"Portuguese"}


def test_openai_messages_with_parts_system_and_metadata(tmp_path):
    records = [
        {"id": "x1", "model": "gpt-4o", "user": "u1", "created": 1_700_000_000_000,
         "messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": [{"type": "text", "text": "Describe"},
                                                   {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]},
                      {"role": "assistant", "content": "A cat."}]},
        {"conversation": [{"role": "Human", "content": "hey"}, {"role": "GPT", "content": "hi"}]},
    ]
    _write_lines(tmp_path / "chats.jsonl", records)
    run_curate([tmp_path / "chats.jsonl"], tmp_path / "r",
               **{"release.schema": "full", "release.keep_private": True})
    rows = read_release(tmp_path / "r").to_pylist()
    first = rows[0]
    assert first["system_prompt"] == "Be brief."
    assert first["conversation"] == [{"content": "Describe", "role": "user"},
                                     {"content": "A cat.", "role": "assistant"}]
    assert first["tstamp"] == 1_700_000_000.0  # milliseconds recognised
    assert "dropped_image_url_part" in first["normalize.issues"]
    assert "system_moved" in first["normalize.issues"]
    assert [m["role"] for m in rows[1]["conversation"]] == ["user", "assistant"]
    assert len(rows[1]["conversation_id"]) == 32  # derived, stable id


def test_derived_ids_are_stable_across_runs(tmp_path):
    _write_lines(tmp_path / "c.jsonl", [{"messages": [{"role": "user", "content": f"q{i}"}]} for i in range(5)])
    run_curate([tmp_path / "c.jsonl"], tmp_path / "a")
    run_curate([tmp_path / "c.jsonl"], tmp_path / "b")
    ids_a = read_release(tmp_path / "a").column("conversation_id").to_pylist()
    assert ids_a == read_release(tmp_path / "b").column("conversation_id").to_pylist()
    assert len(set(ids_a)) == 5


def test_quarantine_names_file_line_and_reason(tmp_path):
    _write_lines(tmp_path / "c.jsonl", [{"messages": [{"role": "user", "content": "fine"}]},
                                        {"messages": [{"role": "narrator", "content": "{}"}]}])
    run_curate([tmp_path / "c.jsonl"], tmp_path / "r")
    (entry,) = read_quarantine(tmp_path / "r")
    assert entry["file"] == "c.jsonl" and entry["record"] == 2 and entry["reason"] == "unknown_role"
    assert "narrator" in entry["detail"]
