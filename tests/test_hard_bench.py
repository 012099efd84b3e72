"""score -> select -> answer -> judge -> leaderboard -> report, end to end through the CLI.

The release is built from arena-bench-v1's 300 real prompts. The models are served by the test
suite's OpenAI-compatible server: raters score long prompts high, the models under test answer with
a quality marker, and the judge compares the markers, so the expected ranking is known.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatsift.cli.main import cli
from chatsift.hard.prompts import CRITERIA_SYSTEM, SCORE_SYSTEM
from tests.conftest import SHARED_DATA, run_curate
from tests.fake_llm import FakeLLM

QUALITY = {"strong": 9, "baseline": 5, "weak": 2}


def scripted(messages: list[dict], model: str) -> str:
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    user = messages[-1]["content"]
    inner = user.split("\n", 1)[-1].rsplit("\n", 1)[0]  # the prompt inside the rater's markers
    if system == SCORE_SYSTEM:
        if "cannot-parse" in model:
            return "This prompt is interesting."
        return "Topic: task. Potential: demanding. [[9]]" if len(inner) > 400 else "Too easy. [[3]]"
    if system == CRITERIA_SYSTEM:
        return "[1, 2, 3, 4, 5, 6]" if len(inner) > 400 else "[1]"
    if "<|User Prompt|>" in user:  # pairwise judging
        if messages[-1]["content"].startswith("Continue your judgment"):
            return "[[A=B]]"
        marks = [int(q) for q in re.findall(r"quality=(\d+)", user)]
        a, b = marks[0], marks[len(marks) // 2]  # A's answer comes first, then B's (one mark per turn)
        if a == b and "turn 2" not in user:
            return "Both are alike, no verdict yet."  # the judge's follow-up turn must recover it
        return "[[A>>B]]" if a - b >= 4 else "[[A>B]]" if a > b else "[[B>>A]]" if b - a >= 4 else "[[B>A]]"
    if "[The Start of Assistant's Answer]" in user:  # single grading against the reference
        graded = user.split("[The Start of Assistant's Answer]")[1]
        return "Rating: [[" + re.findall(r"quality=(\d+)", graded)[0] + "]]"
    name = model.split(":")[-1]
    return f"Answer from {name} with quality={QUALITY.get(name, 1)}." + " details" * QUALITY.get(name, 1)


@pytest.fixture(scope="module")
def bench_release(tmp_path_factory):
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    root = tmp_path_factory.mktemp("hard")
    run_curate([SHARED_DATA / "arena-bench-v1" / "question.jsonl"], root / "release",
               **{"read.benchmark_questions": "prompts"})
    return root


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_hard_chain_end_to_end(bench_release, tmp_path):
    release, cache = bench_release / "release", str(tmp_path / "cache")
    bench = tmp_path / "bench"
    with FakeLLM(chat_by_model=scripted) as server:
        server.inject("/chat/completions", "500", "malformed")
        out = _run(["hard", "score", str(release), "--judge", f"{server.url}:rater-a", "--judge",
                    f"{server.url}:rater-b", "--mode", "both", "--cache-dir", cache, "--no-progress"])
        assert "300 prompts, 1,200 ratings requested; unparsed: 0; failed: 0" in out
        scores = [json.loads(line) for line in (release / "hard" / "scores.jsonl").read_text().splitlines()]
        assert len(scores) == 300 and len({s["conversation_id"] for s in scores}) == 300
        long_ones = sum(1 for s in scores if s["prompt_chars"] > 400)
        assert sum(1 for s in scores if s["min_rater_score"] == 9) == long_ones > 20
        requests = len(server.requests)
        _run(["hard", "score", str(release), "--judge", f"{server.url}:rater-a", "--judge",
              f"{server.url}:rater-b", "--mode", "both", "--cache-dir", cache, "--no-progress"])
        assert len(server.requests) == requests  # a rerun is served from the cache

        out = _run(["hard", "select", str(release), "-o", str(bench), "--threshold", "9", "--top", "20"])
        assert "20 of 300 prompts kept by the paper rule" in out
        questions = [json.loads(line) for line in (bench / "question.jsonl").read_text().splitlines()]
        assert len(questions) == 20 and {"uid", "category", "cluster", "prompt"} <= set(questions[0])
        assert all(len(q["prompt"]) > 400 for q in questions)

        pytest.importorskip("model2vec")
        _run(["topics", str(release), "-k", "6", "--min-users", "1", "--language", "any"])
        out = _run(["hard", "select", str(release), "-o", str(tmp_path / "bb"), "--rule", "benchbuilder",
                    "--prompt-threshold", "6", "--cluster-threshold", "2", "--per-cluster", "2"])
        built = [json.loads(line) for line in (tmp_path / "bb/question.jsonl").read_text().splitlines()]
        per_cluster = {}
        for q in built:
            per_cluster[q["cluster"]] = per_cluster.get(q["cluster"], 0) + 1
        assert built and max(per_cluster.values()) <= 2 and all(q["score"] == 6 for q in built)
        kept = int(re.search(r"from (\d+) clusters", out).group(1))
        assert kept >= len(per_cluster)  # a kept cluster may have no prompt meeting 6 criteria

        for name in ("baseline", "strong", "weak"):
            _run(["bench", "answer", str(bench), "--model", f"{server.url}:{name}", "--cache-dir", cache,
                  "--no-progress"])
        answers = (bench / "model_answer" / "strong.jsonl").read_text().splitlines()
        assert len(answers) == 20 and json.loads(answers[0])["choices"][0]["turns"][0]["content"].startswith("Answer")

        out = _run(["bench", "judge", str(bench), "--judge", f"{server.url}:judge-1", "--baseline", "baseline",
                    "--cache-dir", cache, "--no-progress"])
        assert "80 judgments of 2 model(s); unparsed 0; failed 0" in out
        judged_file = bench / "model_judgment/judge-1/strong.jsonl"
        judged = [json.loads(line) for line in judged_file.read_text().splitlines()]
        assert [g["score"] for g in judged[0]["games"]] == ["B>>A", "A>>B"]  # the position swap
        _check_both_generations(bench)

        requests = len(server.requests)
        _run(["bench", "judge", str(bench), "--judge", f"{server.url}:judge-1", "--baseline", "baseline",
              "--cache-dir", cache, "--no-progress"])
        assert len(server.requests) == requests  # interrupted or repeated judging costs nothing again

        board_json = tmp_path / "board.json"
        out = _run(["leaderboard", str(bench / "model_judgment"), "--rounds", "100", "-o", str(board_json)])
        order = [r["model"] for r in json.loads(board_json.read_text())["rows"]]
        assert order == ["strong", "baseline", "weak"]
        rows = {r["model"]: r for r in json.loads(board_json.read_text())["rows"]}
        assert rows["baseline"]["win_rate"] == 50 and rows["strong"]["win_rate"] > 90 > 10 > rows["weak"]["win_rate"]

        out = _run(["leaderboard", str(bench / "model_judgment"), "--rounds", "30", "--control", "length",
                    "--answers", str(bench / "model_answer")])
        assert "style coefficients: tokens" in out

        out = _run(["bench", "judge", str(bench), "--judge", f"{server.url}:grader", "--mode", "single",
                    "--reference", "baseline", "--model", "strong", "--model", "weak", "--cache-dir", cache,
                    "--judge-prompts", str(SHARED_DATA / "fastchat-llm-judge/judge_prompts.jsonl"),
                    "--prompt", "single-math-v1", "--no-progress"])
        assert "40 judgments of 2 model(s); unparsed 0" in out
        grades = [json.loads(line) for line in (bench / "model_judgment/grader/strong.jsonl").read_text().splitlines()]
        # FastChat's llm_judge/show_result.py reads model, score and turn; judge is [judge model, prompt name]
        assert {g["turn"] for g in grades} == {1} and grades[0]["judge"] == ["grader", "single-math-v1"]
        out = _run(["leaderboard", str(bench / "model_judgment/grader"), "--rounds", "50"])
        assert re.search(r"1\s+strong\s+9\.00", out) and re.search(r"2\s+weak\s+2\.00", out)

    report = tmp_path / "report.html"
    _run(["report", str(release), "-o", str(report), "--no-topics", "--leaderboard", str(board_json)])
    html = report.read_text()
    assert 'id="leaderboard"' in html and "win rate against baseline" in html


def test_bench_bad_input(bench_release, tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "question.jsonl").write_text('{"uid": "q1", "prompt": "hi"}\n{"uid": "q1", "prompt": "again"}\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["bench", "answer", str(bench), "--model", "http://127.0.0.1:9/v1:m"])
    assert result.exit_code == 2 and "duplicate question ids (q1)" in result.output
    (bench / "question.jsonl").write_text('{"uid": "q1", "turns": ["first", "second"]}\n'
                                          '{"uid": "q2", "prompt": "only one"}\n')
    with FakeLLM(chat_by_model=scripted) as server:
        _run(["bench", "answer", str(bench), "--model", f"{server.url}:strong", "--cache-dir", str(tmp_path / "c"),
              "--no-progress"])
        record = json.loads((bench / "model_answer/strong.jsonl").read_text().splitlines()[0])
        assert len(record["choices"][0]["turns"]) == 2  # multi-turn: answered turn by turn
        second = [b for p, b in server.requests if p == "/chat/completions" and len(b["messages"]) == 3]
        assert second and second[0]["messages"][1]["role"] == "assistant"
        result = runner.invoke(cli, ["bench", "judge", str(bench), "--judge", f"{server.url}:j", "--baseline",
                                     "baseline", "--cache-dir", str(tmp_path / "c")])
        assert result.exit_code == 2 and "no answers from the baseline 'baseline'" in result.output
        _run(["bench", "answer", str(bench), "--model", f"{server.url}:baseline", "--cache-dir",
              str(tmp_path / "c"), "--no-progress"])
        lines = (bench / "model_answer/baseline.jsonl").read_text().splitlines()
        (bench / "model_answer/baseline.jsonl").write_text(lines[0] + "\n")  # the baseline misses q2
        out = _run(["bench", "judge", str(bench), "--judge", f"{server.url}:j", "--baseline", "baseline",
                    "--cache-dir", str(tmp_path / "c"), "--no-progress"])
        assert "skipped for a missing answer 1" in out
    single = tmp_path / "single"
    single.mkdir()
    (single / "m.jsonl").write_text('{"question_id": "q", "model": "m", "games": [{"score": "A>B"}]}\n')
    result = runner.invoke(cli, ["leaderboard", str(single), "--baseline", "m"])
    assert result.exit_code == 2 and "no comparisons" in result.output
    empty = Path(tmp_path / "none")
    empty.mkdir()
    result = runner.invoke(cli, ["hard", "select", str(bench_release / "release"), "-o", str(tmp_path / "b2"),
                                 "--scores", str(empty)])
    assert result.exit_code == 2 and "run `chatsift hard score` first" in result.output


def _check_both_generations(bench):
    """The keys each generation of Arena-Hard-Auto's loaders and show_result.py read (re-implemented as a
    schema check; the tools themselves are not installable offline): v0.1 reads answers by
    ``question_id`` with ``choices[0].turns[].content`` and ``conv_metadata``, judgments by ``question_id``,
    ``model`` and ``games[].score``; v2.0 reads answers by ``uid`` with ``messages[-1].content.answer`` and
    ``metadata`` (``token_len``, ``header_count``, ``list_count``, ``bold_count``), judgments by ``uid``,
    ``category``, ``model``, ``judge`` and ``games[].score``."""
    questions = {json.loads(line)["uid"] for line in (bench / "question.jsonl").read_text().splitlines()}
    for path in (bench / "model_answer").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            a = json.loads(line)
            assert a["question_id"] in questions and a["uid"] in questions  # both loaders find it
            assert isinstance(a["choices"][0]["turns"][0]["content"], str)  # v0.1
            assert set(a["conv_metadata"]) >= {"token_len", "header_count", "list_count", "bold_count"}
            assert a["model"] == a["model_id"] and a["ans_id"] == a["answer_id"]  # v2.0
            assert a["messages"][-1]["role"] == "assistant" and isinstance(a["messages"][-1]["content"]["answer"], str)
            assert a["messages"][0]["role"] == "user" and a["metadata"] == a["conv_metadata"]
    for path in (bench / "model_judgment").glob("*/*.jsonl"):
        for line in path.read_text().splitlines():
            j = json.loads(line)
            assert j["question_id"] in questions and j["uid"] in questions and j["category"]
            assert j["model"] and j["judge"] and len(j["games"]) == 2
            assert all("score" in g for g in j["games"])


def test_mt_bench_question_ids_are_written_back_as_integers():
    from chatsift.bench.layout import read_questions
    from chatsift.bench.prompts import load_prompt_file

    questions = read_questions(SHARED_DATA / "fastchat-llm-judge/mt_bench/question.jsonl")
    assert questions[0].qid == "81" and questions[0].out_id == 81  # FastChat's show_result joins on the integer
    prompts = load_prompt_file(SHARED_DATA / "fastchat-llm-judge/judge_prompts.jsonl")
    assert prompts["single-v1-multi-turn"].multi_turn and not prompts["single-v1"].multi_turn
