"""Load test of ``chatsift serve``: simulated users chatting and voting against a streaming upstream.

Processes on loopback: a local OpenAI-compatible upstream that streams every answer in ``--chunks``
server-sent events ``--chunk-ms`` apart (Starlette on uvicorn), ``--servers`` ``chatsift serve``
processes on their own ports over one store, and this load generator. Each of ``--users`` users (its
own address behind the trusted proxy, its own cookies) accepts the terms and then, ``--rounds`` times,
fights an anonymous battle (both answers streamed), votes, starts a new round, and asks one
single-chat question and upvotes it. With several servers, a user's successive requests go to the
servers in turn (a proxy without sticky sessions), so its session, votes and limits cross processes.

Reported: requests/s over the whole run; per streamed turn, time to the first delta and to the end,
p50/p95, beside the same request sent straight to the upstream at the same concurrency, and the
difference (what the service adds). Then the checks: every sent turn and vote is in the store once,
every stored conversation is consistent (roles alternate, each answer is the upstream's full answer
to its prompt, ``seq`` counts the turns), nothing is refused. Last, the server is killed with SIGKILL
while answers stream, restarted, and a second, smaller wave runs: the export holds no half-written
answer and the new wave is stored whole. With several servers, only the first is killed; the others go on.

    python benchmarks/bench_serve.py [--users 200 --rounds 3] [--servers 2] [--db postgresql://...] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

HERE = Path(__file__).resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer_to(prompt: str, model: str, chunks: int) -> list[str]:
    """The upstream's deterministic answer, as its chunks (the checks recompute it)."""
    return [f"w{i}{model[-1]} " for i in range(chunks - 1)] + [f"re: {prompt[:40]}"]


# ---------------------------------------------------------------- the upstream (its own process)

def upstream_app(chunks: int, chunk_s: float):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def completions(request: Request):
        body = await request.json()
        prompt, model = body["messages"][-1]["content"], body["model"]

        async def events():
            for part in answer_to(prompt, model, chunks):
                await asyncio.sleep(chunk_s)
                chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": part}}]}
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(_request):
        return JSONResponse({"data": [{"id": "m"}]})

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"]),
                             Route("/v1/models", models)])


def run_upstream(port: int, chunks: int, chunk_ms: float) -> None:
    import uvicorn

    uvicorn.run(upstream_app(chunks, chunk_ms / 1000), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, backlog=4096, timeout_keep_alive=75)


# ---------------------------------------------------------------- processes

def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} exited (its log is in the work folder)")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up in {timeout_s} s")


def start_server(config: Path, port: int, env: dict) -> subprocess.Popen:
    log = (config.parent / "serve.log").open("ab")  # a file, not a pipe nobody reads (a full pipe blocks)
    proc = subprocess.Popen([sys.executable, "-m", "chatsift.cli.main", "serve", "-c", str(config), "--port",
                             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


# ---------------------------------------------------------------- simulated users

class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.first: list[float] = []
        self.total: list[float] = []
        self.refused: list[str] = []
        self.sent_turns: list[tuple[str, str]] = []  # (mode, prompt)
        self.votes = 0
        self.streaming = 0  # turns whose answer has started and not ended


class Hops:
    """Each request of one user to the next server in turn (starting from the user's own)."""

    def __init__(self, bases: list[str], index: int) -> None:
        self.bases, self.next = bases, index

    def __call__(self, http: httpx.AsyncClient) -> httpx.AsyncClient:
        http.base_url = self.bases[self.next % len(self.bases)]
        self.next += 1
        return http


async def stream_turn(http: httpx.AsyncClient, csrf: str, body: dict, stats: Stats) -> list[dict]:
    start = time.perf_counter()
    first = None
    events = []
    async with http.stream("POST", "/api/send", json=body, headers={"X-CSRF-Token": csrf}) as response:
        stats.requests += 1
        if response.status_code != 200:
            stats.refused.append(f"send {response.status_code}: {(await response.aread())[:200]!r}")
            return []
        async for line in response.aiter_lines():
            if not line:
                continue
            event = orjson.loads(line)
            if "delta" in event and first is None:
                first = time.perf_counter() - start
                stats.streaming += 1
            events.append(event)
    stats.streaming -= first is not None
    stats.total.append(time.perf_counter() - start)
    stats.first.append(first if first is not None else stats.total[-1])
    if not events or not events[-1].get("done") or not events[-1].get("saved"):
        stats.refused.append(f"turn not saved: {events[-1] if events else 'no events'}")
    return events


async def user(bases: list[str], index: int, rounds: int, stats: Stats, tag: str) -> None:
    address = f"10.{index // 250}.{index % 250}.{7 if tag == 'main' else 9}"
    hop = Hops(bases, index)
    async with httpx.AsyncClient(headers={"X-Forwarded-For": address}, timeout=120) as http:
        page = (await hop(http).get("/terms")).text
        stats.requests += 1
        csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        response = await hop(http).post("/terms", data={"csrf": csrf, "accept": "yes", "next": "/"})
        stats.requests += 1
        if response.status_code != 303:
            stats.refused.append(f"accept {response.status_code}")
            return
        for r in range(rounds):
            prompt = f"{tag} user {index} battle {r}: explain something"
            if await stream_turn(hop(http), csrf, {"mode": "anony", "text": prompt}, stats):
                stats.sent_turns.append(("anony", prompt))
            kind = ("leftvote", "rightvote", "tievote")[(index + r) % 3]
            vote = await hop(http).post("/api/vote", json={"mode": "anony", "kind": kind},
                                        headers={"X-CSRF-Token": csrf})
            stats.requests += 1
            stats.votes += vote.status_code == 200
            if vote.status_code != 200:
                stats.refused.append(f"vote {vote.status_code}: {vote.text[:200]}")
            await hop(http).post("/clear", data={"csrf": csrf, "mode": "anony"})
            stats.requests += 1
            prompt = f"{tag} user {index} chat {r}: a question"
            if await stream_turn(hop(http), csrf, {"mode": "chat", "text": prompt, "model": "model-a"}, stats):
                stats.sent_turns.append(("chat", prompt))
            up = await hop(http).post("/api/vote", json={"mode": "chat", "kind": "upvote"},
                                      headers={"X-CSRF-Token": csrf})
            stats.requests += 1
            stats.votes += up.status_code == 200


async def direct_users(url: str, users: int, rounds: int, stats: Stats) -> None:
    """The upstream load the service puts on it (per user and round: a battle's two streams at once,
    then one chat stream), sent straight to the upstream from one client per user, as the users are
    simulated: the upstream's own first-delta and total times."""
    async def one(http: httpx.AsyncClient, prompt: str, model: str) -> None:
        start = time.perf_counter()
        seen = None
        body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True}
        async with http.stream("POST", "/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data:") and seen is None:
                    seen = time.perf_counter() - start
        stats.total.append(time.perf_counter() - start)
        stats.first.append(seen or stats.total[-1])

    async def person(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            for r in range(rounds):
                await asyncio.gather(one(http, f"direct {i} {r}", "model-a"), one(http, f"direct {i} {r}", "model-b"))
                await one(http, f"direct chat {i} {r}", "model-a")

    await asyncio.gather(*(person(i) for i in range(users)))


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))] * 1000 if values else float("nan")


# ---------------------------------------------------------------- checks

def check_store(db: str, expected: dict[str, int], prompts: list[tuple[str, str]], chunks: int) -> dict:
    from chatsift.chatstore.store import open_store

    store = open_store(db, migrate=False)
    with store.tx(write=False) as cur:
        rows = cur.all("SELECT conv_id, seq, model, mode, state, finish_reason FROM snapshots ORDER BY conv_id, seq")
        votes = cur.one("SELECT COUNT(*) FROM votes")[0]
        dup_votes = cur.one("SELECT COUNT(*) - COUNT(DISTINCT vote_key) FROM votes")[0]
    store.close()
    problems = []
    by_conv: dict[str, list] = {}
    for conv_id, seq, model, mode, state, finish in rows:
        by_conv.setdefault(conv_id, []).append((seq, model, mode, orjson.loads(state), finish))
    stored_prompts = []
    for conv_id, snaps in by_conv.items():
        for k, (seq, model, mode, state, finish) in enumerate(snaps, start=1):
            messages = state["messages"]
            if seq != k or len(messages) != 2 * seq:
                problems.append(f"{conv_id}: snapshot {seq} holds {len(messages)} messages")
            for i, (role, _) in enumerate(messages):
                if role != ("user", "assistant")[i % 2]:
                    problems.append(f"{conv_id}: message {i} has role {role}")
            for (_, prompt), (_, answer) in zip(messages[::2], messages[1::2]):
                if answer != "".join(answer_to(prompt, model, chunks)) and finish != "stopped":
                    problems.append(f"{conv_id}: an answer is not the upstream's whole answer")
            stored_prompts.append((mode, messages[-2][1]))
    sent = sorted(prompts)
    stored = sorted(stored_prompts)
    missing = len(set(p for _, p in sent) - set(p for _, p in stored))
    return {"snapshots": len(rows), "conversations": len(by_conv), "votes": votes, "duplicate_votes": dup_votes,
            "expected": expected, "missing_turns": missing, "problems": problems[:10], "n_problems": len(problems)}


async def main_async(args) -> dict:
    env = {**os.environ, "CHATSIFT_SERVE_SECRET": "bench-secret", "CHATSIFT_ADMIN_TOKEN": "bench"}
    work = Path(tempfile.mkdtemp(prefix="chatsift-serve-bench-"))
    print(f"work folder (logs, store): {work}", file=sys.stderr)
    db = args.db or f"sqlite:///{work / 'chat.db'}"
    up_port, ports = free_port(), [free_port() for _ in range(args.servers)]
    upstream_log = (work / "upstream.log").open("wb")
    upstream = subprocess.Popen([sys.executable, str(HERE), "--upstream-only", str(up_port), "--chunks",
                                 str(args.chunks), "--chunk-ms", str(args.chunk_ms)],
                                stdout=upstream_log, stderr=subprocess.STDOUT)
    up_url = f"http://127.0.0.1:{up_port}/v1"
    wait_ready(f"{up_url}/models", upstream)
    import yaml

    config = work / "serve.yaml"
    config.write_text(yaml.safe_dump({
        "db": db, "trusted_proxies": ["127.0.0.1/32"], "upstream_concurrency": 512,
        "limits": {"rate_per_minute": 1000},
        "models": [{"name": f"model-{x}", "endpoint": f"{up_url}:model-{x}", "max_tokens": 64} for x in "abcd"]}))
    servers = [start_server(config, port, env) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        direct = Stats()
        await direct_users(up_url, args.users, args.rounds, direct)
        d_first, d_total = direct.first, direct.total
        stats = Stats()
        cpu_before = sum(_cpu_s(s.pid) for s in servers)
        started = time.perf_counter()
        await asyncio.gather(*(user(bases, i, args.rounds, stats, "main") for i in range(args.users)))
        wall = time.perf_counter() - started
        server_cpu = sum(_cpu_s(s.pid) for s in servers) - cpu_before
        expected = {"snapshots": 3 * args.users * args.rounds, "votes": 2 * args.users * args.rounds}
        first_check = check_store(db, expected, stats.sent_turns, args.chunks)

        # Kill the first server mid-stream, restart it, and carry on.
        killed = Stats()
        wave = asyncio.gather(*(user(bases, i, 1, killed, "killed") for i in range(20)), return_exceptions=True)
        deadline = time.monotonic() + 30
        while killed.streaming < 10 and time.monotonic() < deadline:  # answers are on their way
            await asyncio.sleep(0.01)
        streaming_at_kill = killed.streaming
        servers[0].send_signal(signal.SIGKILL)
        servers[0].wait()
        await wave
        servers[0] = start_server(config, ports[0], env)
        after = Stats()
        await asyncio.gather(*(user(bases, i, 1, after, "after") for i in range(20)))
        export = work / "logs"
        subprocess.run([sys.executable, "-m", "chatsift.cli.main", "export", db, "-o", str(export)], check=True,
                       env=env, capture_output=True)
        records = [orjson.loads(line) for p in export.glob("*.json") for line in p.read_bytes().splitlines()]
        half = [r for r in records if r["type"] == "chat" and any(
            a != "".join(answer_to(q, r["model"], args.chunks))
            for (_, q), (_, a) in zip(r["state"]["messages"][::2], r["state"]["messages"][1::2]))
            and r.get("finish_reason") != "stopped"]
        after_prompts = {p for _, p in after.sent_turns}
        exported_prompts = {r["state"]["messages"][-2][1] for r in records if r["type"] == "chat"}
        final_check = check_store(db, {}, stats.sent_turns + killed.sent_turns + after.sent_turns, args.chunks)
    finally:
        for server in servers:
            server.kill()
        upstream.kill()
    turns = len(stats.total)
    result = {
        "users": args.users, "rounds": args.rounds, "servers": args.servers,
        "db": "postgresql" if db.startswith("postgres") else "sqlite",
        "upstream": {"chunks": args.chunks, "chunk_ms": args.chunk_ms},
        "wall_s": round(wall, 2), "server_cpu_per_wall": round(server_cpu / wall, 2), "requests": stats.requests,
        "requests_per_s": round(stats.requests / wall, 1),
        "streamed_turns": turns, "turns_per_s": round(turns / wall, 1),
        "first_delta_ms": {"p50": round(pct(stats.first, 50), 1), "p95": round(pct(stats.first, 95), 1)},
        "turn_ms": {"p50": round(pct(stats.total, 50), 1), "p95": round(pct(stats.total, 95), 1)},
        "upstream_direct_first_ms": {"p50": round(pct(d_first, 50), 1), "p95": round(pct(d_first, 95), 1)},
        "upstream_direct_total_ms": {"p50": round(pct(d_total, 50), 1), "p95": round(pct(d_total, 95), 1)},
        "refused": stats.refused[:10], "n_refused": len(stats.refused), "votes_accepted": stats.votes,
        "store": first_check,
        "sigkill": {"streaming_at_kill": streaming_at_kill, "wave_turns_completed_before_kill": len(killed.sent_turns),
                    "after_restart_turns": len(after.sent_turns), "after_restart_refused": len(after.refused),
                    "half_written_in_export": len(half),
                    "after_restart_all_exported": after_prompts <= exported_prompts,
                    "final_store_problems": final_check["n_problems"],
                    "final_missing_turns": final_check["missing_turns"]},
    }
    result["added_ms"] = {
        "first_delta_p50": round(result["first_delta_ms"]["p50"] - result["upstream_direct_first_ms"]["p50"], 1),
        "first_delta_p95": round(result["first_delta_ms"]["p95"] - result["upstream_direct_first_ms"]["p95"], 1),
        "turn_p50": round(result["turn_ms"]["p50"] - result["upstream_direct_total_ms"]["p50"], 1),
        "turn_p95": round(result["turn_ms"]["p95"] - result["upstream_direct_total_ms"]["p95"], 1)}
    ok = (streaming_at_kill > 0 and first_check["snapshots"] == expected["snapshots"]
          and first_check["votes"] == expected["votes"]
          and first_check["n_problems"] == 0 and first_check["missing_turns"] == 0 and not stats.refused
          and not half and after_prompts <= exported_prompts and final_check["n_problems"] == 0
          and not after.refused)
    result["ok"] = ok
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", type=int, default=1, help="chatsift serve processes over the one store")
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--chunk-ms", type=float, default=100.0)
    parser.add_argument("--db", help="store URL (default: a new SQLite file); a PostgreSQL database must be empty")
    parser.add_argument("--json", help="also write the result here")
    parser.add_argument("--upstream-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream_only:
        run_upstream(args.upstream_only, args.chunks, args.chunk_ms)
        return
    result = asyncio.run(main_async(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if not result["ok"]:
        raise SystemExit("FAILED: a check did not hold (see above)")


if __name__ == "__main__":
    main()
