"""Reader throughput for the chat-export and agent-trace readers (issue 27), in-process.

Each reader's records are built in its published shape around the conversations of the low-repeat
corpus (``corpus.py --low-repeat``; real texts from ../shared/data, every message distinct), N records
per reader, and ``adapt`` is timed over them (records/s and conversations/s, one core, median of R runs).
The whole pipeline's cost is ``bench_curate.py``'s; this isolates the readers.

    python benchmarks/bench_readers.py --n 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_curate import corpus_conversations  # noqa: E402

from chatsift.config import ReadConfig  # noqa: E402
from chatsift.io.readers.base import RecordContext  # noqa: E402
from chatsift.io.readers.registry import get_reader  # noqa: E402


def conversations(n: int) -> list[list[dict]]:
    """User-assistant conversations of the corpus (its system messages and odd roles left out)."""
    return [c for c in corpus_conversations(2 * n) if all(m["role"] in ("user", "assistant") for m in c)][:n]


def chatgpt(i: int, messages: list[dict]) -> dict:
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": ["n0"]}}
    for k, m in enumerate(messages):
        mapping[f"n{k}"] = {"id": f"n{k}", "parent": "root" if k == 0 else f"n{k - 1}",
                            "children": [f"n{k + 1}"] if k + 1 < len(messages) else [],
                            "message": {"author": {"role": m["role"]}, "create_time": 1.7e9 + k,
                                        "content": {"content_type": "text", "parts": [m["content"]]},
                                        "recipient": "all", "metadata": {"model_slug": "gpt-4o"}}}
    return {"conversation_id": f"c{i}", "title": "t", "create_time": 1.7e9, "mapping": mapping,
            "current_node": f"n{len(messages) - 1}"}


def claude(i: int, messages: list[dict]) -> dict:
    return {"uuid": f"c{i}", "created_at": "2025-01-01T00:00:00Z", "account": {"uuid": "a"},
            "chat_messages": [{"sender": "human" if m["role"] == "user" else "assistant", "text": m["content"],
                               "content": [{"type": "text", "text": m["content"]}]} for m in messages]}


def responses(i: int, messages: list[dict]) -> dict:
    return {"id": f"resp_{i}", "object": "response", "model": "gpt-4.1", "created_at": 1.7e9,
            "input": [{"role": m["role"], "content": m["content"]} for m in messages[:-1]],
            "output": [{"type": "message", "role": "assistant",
                        "content": [{"type": "output_text", "text": messages[-1]["content"]}]}]}


def otel(i: int, messages: list[dict]) -> dict:
    def parts(m):
        return {"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]}
    attrs = {"gen_ai.conversation.id": f"c{i}", "gen_ai.request.model": "gpt-4o",
             "gen_ai.input.messages": json.dumps([parts(m) for m in messages[:-1]]),
             "gen_ai.output.messages": json.dumps([parts(messages[-1])])}
    span = {"traceId": f"{i:032x}", "spanId": "1", "name": "chat", "endTimeUnixNano": "1730000000000000000",
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()]}
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}


def chat_completions(i: int, messages: list[dict]) -> dict:
    return {"id": f"c{i}", "model": "gpt-4o", "messages": [
        *messages[:1], {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "search", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "result"}, *messages[1:]]}


BUILDERS = {"chatgpt_export": chatgpt, "claude_export": claude, "openai_responses": responses,
            "otel_genai": otel, "openai_messages": chat_completions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    convs = conversations(args.n)
    config = ReadConfig()
    for name, build in BUILDERS.items():
        records = [json.loads(json.dumps(build(i, m))) for i, m in enumerate(convs)]
        reader = get_reader(name)
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            rows = 0
            for k, record in enumerate(records):
                rows += sum(1 for _ in reader.adapt(record, RecordContext("bench", k + 1, config)))
            times.append(time.perf_counter() - started)
        assert rows == len(records), (name, rows)
        print(f"{name:18} {len(records) / statistics.median(times):>10,.0f} records/s", flush=True)


if __name__ == "__main__":
    main()
