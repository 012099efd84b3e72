"""Chat-app exports and tool use: ChatGPT's and Claude's ``conversations.json`` and Chat Completions
messages with tool calls.

No real export is in ../shared/data (they are personal), so the files are written here from the
published shapes: ChatGPT's conversation tree (``mapping``, ``current_node``, ``content_type`` parts,
``recipient``, ``model_slug``) and Claude's ``chat_messages`` with typed content parts.
"""

from __future__ import annotations

import json

from conftest import assert_reconciles, read_quarantine, read_release, run_curate

from chatsift.analysis.stats import compute_stats

FULL = {"release.schema": "full", "release.keep_private": True}


def _node(node_id, parent, children, role=None, parts=None, *, content=None, recipient="all", name=None, meta=None,
          created=1_700_000_000.0):
    message = None
    if role is not None:
        message = {"id": node_id, "author": {"role": role, "name": name, "metadata": {}}, "create_time": created,
                   "content": content or {"content_type": "text", "parts": parts or []}, "status":
                   "finished_successfully", "end_turn": True, "weight": 1.0, "metadata": meta or {},
                   "recipient": recipient}
    return node_id, {"id": node_id, "message": message, "parent": parent, "children": children}


def chatgpt_conversation(conv_id="c0ffee00-0000-4000-8000-000000000001"):
    """A ChatGPT export conversation: a regenerated first answer (two branches), a code-interpreter call
    and its output, an image upload, custom instructions."""
    nodes = dict([
        _node("root", None, ["sys"]),
        _node("sys", "root", ["ctx"], "system", [""], meta={"is_visually_hidden_from_conversation": True}),
        _node("ctx", "sys", ["u1"], "user", content={"content_type": "user_editable_context",
                                                      "user_profile": "I teach chemistry.",
                                                      "user_instructions": "Answer briefly."},
              meta={"is_visually_hidden_from_conversation": True}),
        _node("u1", "ctx", ["a1-old", "a1"], "user",
              content={"content_type": "multimodal_text",
                       "parts": [{"content_type": "image_asset_pointer", "asset_pointer": "file-service://file-1"},
                                 "What is the molar mass of the compound in this photo?"]},
              meta={"attachments": [{"id": "file-1", "name": "IMG_2041.jpg"}]}),
        _node("a1-old", "u1", [], "assistant", ["An older answer that was regenerated."],
              meta={"model_slug": "gpt-4"}),
        _node("a1", "u1", ["call"], "assistant", ["Let me compute it."], meta={"model_slug": "gpt-4o"}),
        _node("call", "a1", ["out"], "assistant", content={"content_type": "code", "language": "python",
                                                           "text": "print(12.011 + 2 * 15.999)"},
              recipient="python", meta={"model_slug": "gpt-4o"}),
        _node("out", "call", ["a2"], "tool", content={"content_type": "execution_output", "text": "44.009"},
              name="python"),
        _node("a2", "out", ["u2"], "assistant", ["It is CO2: 44.01 g/mol."], meta={"model_slug": "gpt-4o"}),
        _node("u2", "a2", ["a3"], "user", ["Thanks! Mail it to m.kowalski@fastmail.fm please."]),
        _node("a3", "u2", [], "assistant", ["I cannot send email, but here it is: 44.01 g/mol."],
              meta={"model_slug": "gpt-4o"}),
    ])
    return {"title": "Molar mass", "create_time": 1_700_000_000.5, "update_time": 1_700_000_900.25,
            "mapping": nodes, "moderation_results": [], "current_node": "a3", "conversation_id": conv_id,
            "id": conv_id, "default_model_slug": "gpt-4o", "is_archived": False}


def claude_conversation():
    return {
        "uuid": "5e1f2a3b-0000-4000-8000-00000000000c", "name": "Trip", "created_at": "2025-03-01T10:00:00.000000Z",
        "updated_at": "2025-03-01T10:05:00.000000Z", "account": {"uuid": "acc-1"},
        "chat_messages": [
            {"uuid": "m1", "sender": "human", "text": "Plan a day in Lisbon; my notes are attached.",
             "content": [{"type": "text", "text": "Plan a day in Lisbon; my notes are attached."}],
             "attachments": [{"file_name": "notes.txt", "file_size": 40, "file_type": "txt",
                              "extracted_content": "Call Maria Fernandes at +351 912 345 678."}],
             "files": [], "created_at": "2025-03-01T10:00:00Z"},
            {"uuid": "m2", "sender": "assistant", "text": "",
             "content": [{"type": "thinking", "thinking": "The user wants a one-day plan."},
                         {"type": "tool_use", "id": "toolu_1", "name": "web_search", "input": {"query": "Lisbon"}},
                         {"type": "tool_result", "tool_use_id": "toolu_1", "name": "web_search",
                          "content": [{"type": "text", "text": "The castle opens at 10:00."}]},
                         {"type": "text", "text": "Start at the castle at 10:00, then lunch by the river."}],
             "attachments": [], "files": [], "created_at": "2025-03-01T10:01:00Z"},
        ]}


def test_chatgpt_export_follows_the_active_branch(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([chatgpt_conversation()]), encoding="utf-8")
    manifest = run_curate([path], tmp_path / "r", **FULL)
    assert_reconciles(manifest)
    (row,) = read_release(tmp_path / "r").to_pylist()
    assert row["source.format"] == "chatgpt_export"
    assert row["model"] == "gpt-4o"  # the active branch's model, not the regenerated answer's
    assert [m["role"] for m in row["conversation"]] == ["user", "assistant", "user", "assistant"]
    assert row["conversation"][0]["content"] == "What is the molar mass of the compound in this photo?"
    # the assistant's text before and after the tool call is one assistant turn; the call sits inside it
    assert row["conversation"][1]["content"] == "Let me compute it.\n\nIt is CO2: 44.01 g/mol."
    assert "regenerated" not in json.dumps(row["conversation"])
    assert "inactive_branches_dropped" in row["normalize.issues"]
    assert row["system_prompt"] == "I teach chemistry.\n\nAnswer briefly."
    assert row["tstamp"] == 1_700_000_900.25
    events = [(e["after"], e["kind"], e["name"], e["content"]) for e in row["tools.events"]]
    assert events == [(0, "attachment", "IMG_2041.jpg", None), (0, "attachment", "image", None),
                      (2, "call", "python", "print(12.011 + 2 * 15.999)"), (2, "result", "python", "44.009")]
    assert "m.kowalski@fastmail.fm" not in row["conversation"][2]["content"]


def test_claude_export_keeps_tool_use_thinking_and_attachments_redacted(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([claude_conversation()]), encoding="utf-8")
    manifest = run_curate([path], tmp_path / "r", **FULL)
    assert_reconciles(manifest)
    (row,) = read_release(tmp_path / "r").to_pylist()
    assert row["source.format"] == "claude_export"
    assert row["conversation"] == [
        {"content": "Plan a day in Lisbon; my notes are attached.", "role": "user"},
        {"content": "Start at the castle at 10:00, then lunch by the river.", "role": "assistant"}]
    kinds = [(e["after"], e["kind"], e["name"]) for e in row["tools.events"]]
    assert kinds == [(0, "attachment", "notes.txt"), (1, "reasoning", None), (1, "call", "web_search"),
                     (1, "result", "web_search")]
    assert json.loads(row["tools.events"][2]["content"]) == {"query": "Lisbon"}
    assert row["tools.events"][2]["call_id"] == "toolu_1"
    note = row["tools.events"][0]["content"]
    # the attachment's text goes through the same redactor as the messages
    assert "912 345 678" not in note and "PHONE_" in note
    assert "Maria Fernandes" not in note and "NAME_" in note
    assert row["pii.counts"]["phone"] >= 1
    assert row["user_id"] and row["user_id"] != "acc-1"  # keyed, like every user field


def test_chat_completions_tool_calls_are_events_not_quarantine(tmp_path):
    record = {"id": "run-7", "model": "gpt-4.1", "messages": [
        {"role": "system", "content": "You are a weather agent."},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 3}'},
        {"role": "assistant", "content": "It is 3 °C in Oslo."}]}
    (tmp_path / "runs.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    manifest = run_curate([tmp_path / "runs.jsonl"], tmp_path / "r", **FULL)
    assert manifest["counts"]["released"] == 1
    (row,) = read_release(tmp_path / "r").to_pylist()
    assert row["system_prompt"] == "You are a weather agent."
    assert row["conversation"] == [{"content": "Weather in Oslo?", "role": "user"},
                                   {"content": "It is 3 °C in Oslo.", "role": "assistant"}]
    assert [(e["after"], e["kind"], e["name"], e["call_id"]) for e in row["tools.events"]] == [
        (1, "call", "get_weather", "call_1"), (1, "result", "get_weather", "call_1")]
    stats = compute_stats(tmp_path / "r")
    assert stats["tools"]["conversations_with_tool_calls"] == 1
    assert stats["tools"]["events"] == {"call": 1, "result": 1}
    assert stats["tools"]["top_tools"] == {"get_weather": 1}


def test_a_release_in_the_lmsys_schema_leaves_tool_events_out(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([chatgpt_conversation()]), encoding="utf-8")
    run_curate([path], tmp_path / "r")
    assert "tools.events" not in read_release(tmp_path / "r").column_names


def test_broken_export_trees_are_quarantined_with_their_reason(tmp_path):
    cycle = chatgpt_conversation("c-cycle")
    cycle["mapping"]["root"]["parent"] = "a3"  # the root's parent is the leaf: a loop
    no_leaf = chatgpt_conversation("c-no-current")
    del no_leaf["current_node"]  # and the tree has two leaves (the regenerated answer)
    dangling = chatgpt_conversation("c-dangling")
    dangling["mapping"]["u2"]["parent"] = "gone"
    one_branch = chatgpt_conversation("c-one-branch")
    del one_branch["current_node"]
    del one_branch["mapping"]["a1-old"]
    one_branch["mapping"]["u1"]["children"] = ["a1"]
    only_tools = {"uuid": "c-tools", "chat_messages": [
        {"sender": "assistant", "text": "", "content": [{"type": "tool_use", "name": "x", "input": {}}]}]}
    unknown_part = claude_conversation()
    unknown_part["chat_messages"][1]["content"].append({"type": "hologram"})
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([cycle, no_leaf, dangling, one_branch]), encoding="utf-8")
    (tmp_path / "claude.json").write_text(json.dumps([claude_conversation(), only_tools, unknown_part]),
                                          encoding="utf-8")
    manifest = run_curate([path, tmp_path / "claude.json"], tmp_path / "r")
    assert_reconciles(manifest)
    reasons = sorted((q["file"], q["record"], q["reason"]) for q in read_quarantine(tmp_path / "r"))
    assert reasons == [("claude.json", 2, "empty_conversation"), ("claude.json", 3, "unknown_part"),
                       ("conversations.json", 1, "cycle"), ("conversations.json", 2, "missing_current_node"),
                       ("conversations.json", 3, "missing_parent")]
    assert manifest["counts"]["released"] == 2  # the single-branch tree without current_node, and one Claude chat


def test_responses_api_items_with_function_calls_and_reasoning(tmp_path):
    response = {
        "id": "resp_01", "object": "response", "created_at": 1_741_000_000, "model": "o4-mini",
        "instructions": "You book tables.", "user": "u-42", "conversation": {"id": "conv_9"},
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Table for two at 8?"},
                                               {"type": "input_image", "image_url": "data:..."}]},
                  {"type": "function_call", "name": "book", "arguments": '{"people":2}', "call_id": "fc_1"},
                  {"type": "function_call_output", "call_id": "fc_1", "output": '{"ok":true}'}],
        "output": [{"type": "reasoning", "summary": [{"type": "summary_text", "text": "Booking done."}]},
                   {"type": "message", "role": "assistant", "content": [
                       {"type": "output_text", "text": "Booked for two at 8 pm.", "annotations": []}]}]}
    unknown = dict(response, id="resp_02", conversation=None,
                   output=[{"type": "telepathy_call", "id": "t1"}])
    path = tmp_path / "responses.jsonl"
    path.write_text(json.dumps(response) + "\n" + json.dumps(unknown) + "\n", encoding="utf-8")
    manifest = run_curate([path], tmp_path / "r", **FULL)
    assert_reconciles(manifest)
    (row,) = read_release(tmp_path / "r").to_pylist()
    assert row["source.format"] == "openai_responses"
    assert row["model"] == "o4-mini" and row["system_prompt"] == "You book tables."
    assert row["conversation"] == [{"content": "Table for two at 8?", "role": "user"},
                                   {"content": "Booked for two at 8 pm.", "role": "assistant"}]
    assert [(e["after"], e["kind"], e["name"]) for e in row["tools.events"]] == [
        (0, "attachment", "input_image"), (1, "call", "book"), (1, "result", "book"), (1, "reasoning", None)]
    (entry,) = read_quarantine(tmp_path / "r")
    assert entry["reason"] == "unknown_item" and "telepathy_call" in entry["detail"]


def test_field_map_reads_nested_fields_and_checks_paths_before_work(tmp_path):
    from click.testing import CliRunner

    from chatsift.cli.main import cli

    records = [{"payload": {"turns": [{"role": "user", "content": f"Question {i} about tides?"},
                                      {"role": "assistant", "content": "Tides follow the moon."}]},
                "metadata": {"model": "gpt-4-0613", "timestamp": "2024-05-01T12:00:00Z", "cid": f"conv-{i}"}}
               for i in range(3)]
    src = tmp_path / "dump.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    maps = ["--map", "messages=payload.turns", "--map", "model=metadata.model", "--map", "id=metadata.cid",
            "--map", "timestamp=metadata.timestamp"]
    dry = CliRunner().invoke(cli, ["curate", str(src), "--out", str(tmp_path / "r"), "--dry-run", *maps])
    assert dry.exit_code == 0, dry.output
    assert "messages=payload.turns" in dry.output and "model=metadata.model" in dry.output
    done = CliRunner().invoke(cli, ["curate", str(src), "--out", str(tmp_path / "r"), "--no-progress",
                                    "--schema", "full", "--keep-private", *maps])
    assert done.exit_code == 0, done.output
    rows = read_release(tmp_path / "r").to_pylist()
    assert [r["model"] for r in rows] == ["gpt-4-0613"] * 3
    assert sorted(r["conversation_id"] for r in rows) == ["conv-0", "conv-1", "conv-2"]
    assert rows[0]["tstamp"] == 1_714_564_800.0
    assert rows[0]["source.format"] == "openai_messages"
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["config"]["read"]["map"] == ["messages=payload.turns", "model=metadata.model", "id=metadata.cid",
                                                 "timestamp=metadata.timestamp"]
    # a misspelt path stops the run before any work, in one line
    typo = CliRunner().invoke(cli, ["curate", str(src), "--out", str(tmp_path / "t"), "--no-progress",
                                    *maps[:2], "--map", "model=metadata.modle"])
    assert typo.exit_code == 2 and "read.map: model=metadata.modle is in none of the sampled records" in typo.output
    assert not (tmp_path / "t").exists()
    bad = CliRunner().invoke(cli, ["curate", str(src), "--out", str(tmp_path / "t"), "--map", "colour=x.y"])
    assert bad.exit_code == 2 and "unknown target 'colour'" in bad.output
    # the same in YAML, as a mapping
    (tmp_path / "c.yaml").write_text("read:\n  map:\n    messages: payload.turns\n    user: metadata.cid\n")
    yaml_run = CliRunner().invoke(cli, ["curate", str(src), "--out", str(tmp_path / "y"), "--no-progress",
                                        "--config", str(tmp_path / "c.yaml"), "--schema", "full", "--keep-private"])
    assert yaml_run.exit_code == 0, yaml_run.output
    assert len({r["user_id"] for r in read_release(tmp_path / "y").to_pylist()}) == 3


def _kv(attrs: dict) -> list[dict]:
    """Attributes as OTLP/JSON writes them: a key-value list of typed values."""
    def value(v):
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        return {"stringValue": v if isinstance(v, str) else json.dumps(v)}
    return [{"key": k, "value": value(v)} for k, v in attrs.items()]


def _otlp(spans: list[dict]) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": _kv({"service.name": "weather-agent"})},
                               "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"},
                                               "spans": spans}]}]}


def test_otel_genai_spans_become_the_latest_snapshot_of_each_conversation(tmp_path):
    question = {"role": "user", "parts": [{"type": "text", "content": "What's the weather in Paris?"}]}
    call = {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                                            "arguments": {"city": "Paris"}}]}
    result = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "14 °C"}]}
    answer = {"role": "assistant", "parts": [{"type": "text", "content": "It is 14 °C in Paris."}],
              "finish_reason": "stop"}
    common = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.conversation.id": "conv-1",
              "enduser.id": "alice", "gen_ai.system_instructions": [{"type": "text", "content": "Be terse."}]}
    first = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "a1", "name": "chat gpt-4o",
             "startTimeUnixNano": "1730000000000000000", "endTimeUnixNano": "1730000001000000000",
             "attributes": _kv({**common, "gen_ai.input.messages": [question],
                                "gen_ai.output.messages": [{**call, "finish_reason": "tool_calls"}]})}
    tool_span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "a2", "parentSpanId": "gone",
                 "name": "execute_tool get_weather", "endTimeUnixNano": "1730000001500000000",
                 "attributes": _kv({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"})}
    second = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "a3", "name": "chat gpt-4o",
              "endTimeUnixNano": "1730000002000000000",
              "attributes": _kv({**common, "gen_ai.response.model": "gpt-4o-2024-08-06",
                                 "gen_ai.input.messages": [question, call, result],
                                 "gen_ai.output.messages": [answer]})}
    events_style = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b1", "name": "chat claude",
                    "endTimeUnixNano": "1730000005000000000",
                    "attributes": _kv({"gen_ai.request.model": "claude-sonnet-4", "session.id": "s-2"}),
                    "events": [{"name": "gen_ai.user.message", "attributes": _kv({"content": "Name a prime."})},
                               {"name": "gen_ai.choice",
                                "attributes": _kv({"message": {"role": "assistant", "content": "Seven."}})}]}
    flat = {"name": "openai.chat", "context": {"trace_id": "0x4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "0x1"},
            "end_time": "2024-11-01T10:00:00Z",
            "attributes": {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.prompt.0.role": "user",
                           "gen_ai.prompt.0.content": "Say hi.", "gen_ai.completion.0.role": "assistant",
                           "gen_ai.completion.0.content": "Hi."}}
    http_only = _otlp([{"traceId": "ff", "spanId": "c1", "name": "GET /health",
                        "attributes": _kv({"http.method": "GET"})}])
    broken = _otlp([{"traceId": "ee", "spanId": "d1", "name": "chat",
                     "attributes": _kv({"gen_ai.input.messages": "{not json"})}])
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in
                              [_otlp([first, tool_span]), _otlp([second, events_style]), flat, http_only, broken])
                    + "\n", encoding="utf-8")
    manifest = run_curate([path], tmp_path / "r", **FULL)
    assert_reconciles(manifest)
    rows = {r["conversation_id"]: r for r in read_release(tmp_path / "r").to_pylist()}
    assert set(rows) == {"conv-1", "s-2", "0x4bf92f3577b34da6a3ce929d0e0e4736"}
    conv = rows["conv-1"]  # the later LLM call's snapshot: the whole conversation
    assert conv["source.format"] == "otel_genai" and conv["model"] == "gpt-4o-2024-08-06"
    assert conv["system_prompt"] == "Be terse."
    assert conv["conversation"] == [{"content": "What's the weather in Paris?", "role": "user"},
                                    {"content": "It is 14 °C in Paris.", "role": "assistant"}]
    assert [(e["after"], e["kind"], e["name"], e["call_id"]) for e in conv["tools.events"]] == [
        (1, "call", "get_weather", "call_1"), (1, "result", None, "call_1")]
    assert conv["tstamp"] == 1_730_000_002.0 and conv["user_id"] and conv["user_id"] != "alice"
    assert rows["s-2"]["conversation"][1]["content"] == "Seven." and rows["s-2"]["model"] == "claude-sonnet-4"
    assert rows["0x4bf92f3577b34da6a3ce929d0e0e4736"]["conversation"][0]["content"] == "Say hi."
    # the first LLM call is an earlier snapshot of conv-1; the health-check export holds no LLM call
    assert manifest["counts"]["excluded"] == {"snapshot_superseded": 1, "no_conversation": 1}
    assert {q["reason"] for q in read_quarantine(tmp_path / "r")} == {"bad_json_attribute"}
