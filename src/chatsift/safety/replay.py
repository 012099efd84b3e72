"""``safety run``: replay a safety benchmark against target models and judge every answer.

Each conversation's user turns are sent in order, with the target's own earlier answers, as a real
multi-turn attack would be (``bench.answer.converse``). Every answer is judged (``judge.py``); a
case succeeds when any answer does. A conversation whose request failed (the target errored) is an
``error`` and a case the judge could not decide is ``unjudged``: both are counted and left out of the
rate, never counted as a refusal or a success. Rates come with Wilson 95% intervals, overall, per
tactic and per category of the benchmark item. Raw replays go to ``replays/<target>.jsonl``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from chatsift.bench.answer import converse
from chatsift.bench.layout import jsonl_records, read_questions, safe_name
from chatsift.llm import CHAT, Estimate, LLMClient
from chatsift.safety.judge import SafetyJudge, case_success
from chatsift.safety.mine import wilson


@dataclass
class TargetResult:
    target: str
    cases: int
    judge: str = ""
    successes: int = 0
    judged: int = 0
    errors: int = 0
    unjudged: int = 0
    refused: int = 0
    by_tactic: dict = field(default_factory=dict)
    by_category: dict = field(default_factory=dict)
    flagged_categories: dict = field(default_factory=dict)
    replays: str = ""

    def to_dict(self) -> dict:
        ci = wilson(self.successes, self.judged)
        return {**self.__dict__, "rate": round(self.successes / self.judged, 4) if self.judged else None,
                "ci95": [round(ci[0], 4), round(ci[1], 4)] if ci else None}


def _group_rates(groups: dict[str, list[bool]]) -> dict:
    out = {}
    for name, outcomes in sorted(groups.items()):
        ci = wilson(sum(outcomes), len(outcomes))
        out[name] = {"cases": len(outcomes), "successes": sum(outcomes),
                     "rate": round(sum(outcomes) / len(outcomes), 4), "ci95": [round(ci[0], 4), round(ci[1], 4)]}
    return out


def _items(bench: Path) -> dict[str, dict]:
    path = bench / "question.jsonl" if bench.is_dir() else bench
    return {str(rec.get("uid", rec.get("question_id"))): rec for _, rec in jsonl_records(path)}


def estimate_replay(client: LLMClient, bench: str | Path, max_tokens: int) -> Estimate:
    """Requests, tokens and cost of replaying ``bench`` against one target, without sending anything.

    First turns are checked against the cache; a later turn's prompt is counted with ``max_tokens`` for
    each earlier answer (the answers do not exist yet), so the figure is an upper bound."""
    questions = read_questions(bench)
    first = client.estimate(CHAT, [{"messages": [{"role": "user", "content": q.turns[0]}], "temperature": 0.0,
                                    "max_tokens": max_tokens} for q in questions], max_tokens)
    later_requests = later_prompt = 0
    for q in questions:
        for k in range(1, len(q.turns)):
            later_requests += 1
            later_prompt += sum(len(t) // 4 + 4 for t in q.turns[:k + 1]) + k * (max_tokens + 4)
    prompt = first.prompt_tokens + later_prompt
    completion = first.completion_tokens + later_requests * max_tokens
    return Estimate(first.requests + later_requests, first.cached, prompt, completion,
                    client.endpoint.cost(prompt, completion))


def replay(bench: str | Path, client: LLMClient, judge: SafetyJudge, name: str | None = None,
           max_tokens: int = 1024, out: str | Path | None = None) -> TargetResult:
    bench = Path(bench)
    questions = read_questions(bench)
    items = _items(bench)
    target = name or client.endpoint.model
    result = TargetResult(target, len(questions), judge.name)
    replies = converse(client, [q.turns for q in questions], max_tokens, target)
    answered = [(q, r) for q, r in zip(questions, replies) if r is not None]
    flat = [a for _, r in answered for a in r]
    verdicts = iter(judge.judge(flat))
    tactic_outcomes: dict[str, list[bool]] = defaultdict(list)
    category_outcomes: dict[str, list[bool]] = defaultdict(list)
    flagged_categories: dict[str, int] = defaultdict(int)
    records = []
    by_id = {q.qid: r for q, r in answered}
    for q in questions:
        item = items.get(q.qid, {})
        record = {"uid": q.qid, "target": target, "judge": judge.name}
        reply = by_id.get(q.qid)
        if reply is None:
            result.errors += 1
            records.append({**record, "status": "error", "success": None, "turns": []})
            continue
        case = [next(verdicts) for _ in reply]
        success = case_success(case)
        record["turns"] = [{"user": u, "assistant": a, **v.to_dict()} for u, a, v in zip(q.turns, reply, case)]
        record["success"] = success
        if success is None:
            result.unjudged += 1
            record["status"] = "unjudged"
        else:
            record["status"] = "judged"
            result.judged += 1
            result.successes += int(success)
            result.refused += int(all(v.refused for v in case))
            for tactic in item.get("tactics") or ["(none)"]:
                tactic_outcomes[tactic].append(success)
            for category in item.get("categories") or ["(none)"]:
                category_outcomes[category].append(success)
            for v in case:
                for c in v.categories:
                    flagged_categories[c] += 1
        records.append(record)
    result.by_tactic = _group_rates(tactic_outcomes)
    result.by_category = _group_rates(category_outcomes)
    result.flagged_categories = dict(sorted(flagged_categories.items()))
    folder = Path(out) if out else bench
    path = folder / "replays" / f"{safe_name(target)}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    tmp.replace(path)
    result.replays = str(path)
    return result


def write_results(folder: str | Path, results: list[TargetResult], judge: SafetyJudge) -> Path:
    path = Path(folder) / "safety_results.json"
    existing = orjson.loads(path.read_bytes()) if path.exists() else {}
    targets = existing.get("targets", {})
    for r in results:
        targets[r.target] = r.to_dict()
    # Targets judged in earlier runs keep their own judge (each result names it).
    path.write_bytes(orjson.dumps({"judge": judge.name, "rule": judge.rule, "targets": targets},
                                  option=orjson.OPT_INDENT_2))
    return path
