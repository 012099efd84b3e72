"""Rankings reproduced on published data: Evalica's golden scores, Ko-Arena-Hard's leaderboard, arena-bench-v1."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from chatsift.arena.battles import Battles, RankingError
from chatsift.arena.leaderboard import rank_battles, rank_grades
from chatsift.arena.ratings import average_win_rate, bradley_terry, counting, fit_bt, online_elo
from chatsift.arena.sources import ReadReport, read_grades, read_judgments, read_votes
from chatsift.arena.verdicts import parse_criteria, parse_rating, parse_verdict
from chatsift.cli.main import cli

KO_BASELINE = "claude-3.7-sonnet"


def _golden(path) -> dict[str, dict[str, float]]:
    gold: dict[str, dict[str, float]] = {}
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            gold.setdefault(row["algorithm"], {})[row["item"]] = float(row["score"])
    return gold


@pytest.mark.parametrize("name", ["simple", "food", "llmfao"])
def test_evalica_golden_scores(shared_data, name):
    folder = shared_data / "llmfao-pairwise-votes"
    battles, report = read_votes([folder / f"{name}.csv"])
    assert report.games == len((folder / f"{name}.csv").read_text().splitlines()) - 1
    gold = _golden(folder / f"{name}-golden.csv")
    fit = bradley_terry(battles)
    assert fit.exact
    ours = {"bradley_terry": fit.strengths(), "counting": counting(battles),
            "average_win_rate": average_win_rate(battles), "elo": online_elo(battles)}
    for algorithm, values in ours.items():
        assert set(gold[algorithm]) == set(battles.models)
        for model, expected in gold[algorithm].items():
            assert values[battles.index(model)] == pytest.approx(expected, abs=1e-6), (algorithm, model)


def test_ko_arena_hard_scores_and_intervals(shared_data):
    folder = shared_data / "arena-hard-ko-judgments"
    battles, report, baseline = read_judgments([folder / "model_judgment" / "ensemble"], KO_BASELINE)
    assert report.games == 75_999 and baseline == KO_BASELINE
    board = rank_battles(battles, report, baseline=baseline, rounds=1000, convention="arena-hard")
    text = (folder / "leaderboard/arena_hard_leaderboard_20250423_ensemble/no_control.csv").read_text(encoding="utf-8")
    published = {r["model"]: r for r in csv.DictReader(text.splitlines())}
    rows = {r.model: r for r in board.rows}
    assert set(rows) == set(published)
    for model, pub in published.items():
        row = rows[model]
        assert row.win_rate == pytest.approx(float(pub["score"]), abs=0.1), model
        assert row.win_rate_lower == pytest.approx(float(pub["rating_q025"]), abs=1.0), model
        assert row.win_rate_upper == pytest.approx(float(pub["rating_q975"]), abs=1.0), model
    # The plain bootstrap gives wider intervals than the published convention (SOURCE.md: about 0.37x).
    plain = {r.model: r for r in rank_battles(battles, report, baseline=baseline, rounds=200).rows}
    widths = [(plain[m].win_rate_upper - plain[m].win_rate_lower) / (rows[m].win_rate_upper - rows[m].win_rate_lower)
              for m in rows if m != baseline]
    assert np.median(widths) > 1.5
    assert board.quality.separability > 0.8


def test_arena_bench_v1_average_grades(shared_data):
    expected = {"gpt-4-1106-preview": 8.87, "gpt-4-0314": 8.55, "gpt-3.5-turbo": 6.76, "claude-2.1": 6.44,
                "mistralai/Mixtral-8x7B-Instruct-v0.1": 6.54, "palm-2-chat-bison-001": 3.25, "llama-13b": 1.48}
    grades = read_grades([shared_data / "arena-bench-v1" / "model_judgment"])
    assert grades.report.skipped["unparsed grade"] == 39
    board = rank_grades(grades, rounds=100)
    means = {r.model: r.rating for r in board.rows}
    assert len(means) == 15
    for model, mean in expected.items():
        assert round(means[model], 2) == mean
    recovered = read_grades([shared_data / "arena-bench-v1" / "model_judgment"], reparse=True)
    assert recovered.report.skipped["recovered from the judgment text (counted)"] == 4  # [[9.5]] and [[7.5]]
    assert recovered.report.skipped["unparsed grade"] == 35


def test_cli_leaderboard_on_votes_and_judgments(shared_data, tmp_path):
    runner = CliRunner()
    out = tmp_path / "lb.json"
    result = runner.invoke(cli, ["leaderboard", "--votes", str(shared_data / "llmfao-pairwise-votes/llmfao.csv"),
                                 "--rounds", "50", "--json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rows"][0]["model"] == "GPT 4" and json.loads(out.read_text()) == data
    # LLM-judge verdicts on the crowd pairs, ranked with the crowd's ranking as the reference
    gpt4 = tmp_path / "gpt4.csv"
    gpt4.write_text((shared_data / "llmfao-pairwise-votes/llmfao/gpt4-crowd-comparisons.csv").read_text())
    result = runner.invoke(cli, ["leaderboard", "--votes", str(gpt4), "--rounds", "50", "--reference", str(out)])
    assert result.exit_code == 0, result.output
    assert "Spearman" in result.output and "Brier" in result.output and "agreement" in result.output
    result = runner.invoke(cli, ["leaderboard", str(shared_data / "arena-hard-ko-judgments/model_judgment"),
                                 "--baseline", KO_BASELINE, "--rounds", "20"])
    assert result.exit_code == 0, result.output
    assert "o3-high" in result.output.splitlines()[3]


def test_verdict_and_rating_parsing_survives_real_output():
    assert parse_verdict("...so B wins.\n\nMy final verdict is: **[[B>>A]]**") == "B>>A"
    assert parse_verdict("[[ A < B ]]") == "B>A"
    assert parse_verdict("tie [[A=B]]. Final: [[A=B]]") == "A=B"
    assert parse_verdict("[[A>B]] or maybe [[B>A]]") is None  # contradictory: unparsed, never guessed
    assert parse_verdict("A is better") is None and parse_verdict(None) is None
    assert parse_verdict("[[C]]") == "A=B"  # MT-bench pair-v2
    assert parse_rating("Rating: [[9.5]]") == 9.5
    assert parse_rating("[[3]] ... Rating: [[7]]") == 7
    assert parse_rating("Rating: [8]") == 8
    assert parse_rating('{"topic_modeling": "x", "score_reason": "y", "score_value": 6}') == 6
    assert parse_rating("[[11]]") is None and parse_rating("no rating") is None
    assert parse_criteria("[1, 2, 4]") == {"specificity": True, "domain_knowledge": True, "complexity": False,
                                           "problem_solving": True, "creativity": False,
                                           "technical_accuracy": False, "real_world": False}
    assert parse_criteria("[1, 2] then [3]") is None
    assert sum(parse_criteria("[]").values()) == 0


def test_bad_comparisons_get_clear_messages(tmp_path):
    one = Battles.from_rows([("a", "a", 1.0)])
    with pytest.raises(RankingError, match="no comparisons"):
        rank_battles(one, ReadReport())
    ties = Battles.from_rows([("a", "b", 0.5), ("b", "c", 0.5), ("a", "c", 0.5)] * 5)
    board = rank_battles(ties, ReadReport(), rounds=50)
    assert {round(r.rating, 6) for r in board.rows} == {1000.0}
    assert board.quality.separability == 0.0
    # one model wins everything: no finite MLE, and the result says so
    sweep = Battles.from_rows([("a", "b", 1.0), ("a", "c", 1.0), ("b", "c", 1.0), ("c", "b", 1.0)])
    fit = bradley_terry(sweep)
    assert not fit.exact and np.isfinite(fit.theta).all() and fit.theta[0] > fit.theta[1]
    with pytest.raises(RankingError, match="at least two"):
        fit_bt(np.zeros((1, 1)))
    bad = tmp_path / "judgments.jsonl"
    rows = [{"question_id": "q1", "model": "m", "games": [{"score": "A>B"}, {"score": "garbage"}]},
            {"question_id": "q1", "model": "m", "games": [{"score": "A>B"}, {"score": "B>A"}]},
            "not json"]
    bad.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    with pytest.raises(RankingError, match="baseline"):
        read_judgments([bad])
    battles, report, _ = read_judgments([bad], "base")
    assert report.skipped == {"unparsed verdict": 1, "duplicate (judge, model, question)": 1,
                              "malformed JSON line": 1}
    assert len(battles) == 1
    votes = tmp_path / "votes.csv"
    votes.write_text("model_a,model_b,winner\nx,y,model_a\nx,x,tie\nx,,model_b\ny,x,maybe\n")
    battles, report = read_votes([votes])
    assert len(battles) == 1 and sum(report.skipped.values()) == 3
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(cli, ["leaderboard", "--votes", str(wrong)])
    assert result.exit_code == 2 and "needs columns model_a, model_b, winner" in result.output


def test_style_control_counts_a_strong_verdict_as_often_as_arena_hard_does():
    """Arena-Hard writes a strong verdict as three battle rows and standardises the style features over
    those rows; a weight of 3 must give the same ratings and coefficients as the three copies."""
    import numpy as np

    from chatsift.arena.battles import Battles
    from chatsift.arena.style import fit_style_controlled

    rng = np.random.default_rng(7)
    models = ["base", "m1", "m2", "m3"]
    rows, weights, tokens_a, tokens_b = [], [], [], []
    for _ in range(400):
        a, b = rng.choice(4, 2, replace=False)
        ta, tb = rng.integers(50, 2000, 2)
        win = 1.0 / (1.0 + np.exp(-(a - b) * 0.4 - (ta - tb) / 800))
        rows.append((models[a], models[b], float(rng.random() < win)))
        weights.append(3.0 if rng.random() < 0.4 else 1.0)  # strong verdicts
        tokens_a.append(ta)
        tokens_b.append(tb)
    battles = Battles.from_rows(rows, weights)
    battles.style = {"tokens": (np.array(tokens_a, float), np.array(tokens_b, float))}
    weighted, coef_w = fit_style_controlled(battles, "length", anchor=0)
    expanded, coef_e = fit_style_controlled(battles.expanded(), "length", anchor=0)
    assert np.allclose(weighted, expanded, atol=1e-6) and abs(coef_w["tokens"] - coef_e["tokens"]) < 1e-9


def test_chatbot_arena_battle_dumps_curate_as_conversations_and_rank_as_votes(tmp_path):
    from conftest import assert_reconciles, read_release, run_curate

    def side(question, answer):
        return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]

    battles = [
        {"question_id": "q1", "model_a": "vicuna-13b", "model_b": "alpaca-13b", "winner": "model_a",
         "judge": "arena_user_1",
         "conversation_a": side("Why is the sky blue?", "Rayleigh scattering of sunlight."),
         "conversation_b": side("Why is the sky blue?", "Because it is."), "turn": 1, "anony": True,
         "language": "English", "tstamp": 1682351591.1, "openai_moderation": {"flagged": False}},
        {"question_id": "q2", "model_a": "alpaca-13b", "model_b": "vicuna-13b", "winner": "model_b",
         "judge": "arena_user_2",
         "conversation_a": side("Name a prime.", "Nine."), "conversation_b": side("Name a prime.", "Seven."),
         "turn": 1, "anony": True, "language": "English", "tstamp": 1682351600.0},
        {"question_id": "q3", "model_a": "vicuna-13b", "model_b": "koala-13b", "winner": "tie (bothbad)",
         "judge": "arena_user_1", "conversation_a": side("2+2?", "5"), "conversation_b": side("2+2?", "22"),
         "turn": 1, "anony": False, "language": "English", "tstamp": 1682351700.0},
        {"question_id": "q4", "model_a": "koala-13b", "model_b": "alpaca-13b", "winner": "model_a", "turn": 1,
         "anony": True, "tstamp": 1682351800.0},  # a vote row without conversations (clean_battle's shape)
    ]
    path = tmp_path / "clean_battle_20230501.json"
    path.write_text(json.dumps(battles, indent=1), encoding="utf-8")  # one JSON array, as FastChat writes it
    manifest = run_curate([path], tmp_path / "r", **{"release.schema": "full", "filters.min_user_chars": 0})
    assert_reconciles(manifest)
    rows = {r["conversation_id"]: r for r in read_release(tmp_path / "r").to_pylist()}
    assert set(rows) == {"q1-a", "q1-b", "q2-a", "q2-b", "q3-a", "q3-b"}
    assert rows["q1-a"]["model"] == "vicuna-13b" and rows["q1-a"]["votes.win"] == 1
    assert rows["q1-b"]["votes.loss"] == 1
    assert rows["q2-b"]["votes.win"] == 1 and rows["q3-a"]["votes.tie"] == 1 == rows["q3-b"]["votes.tie"]
    assert manifest["counts"]["excluded"].get("vote_event") == 1  # q4: votes only
    result = CliRunner().invoke(cli, ["leaderboard", "--votes", str(path), "--rounds", "20"])
    assert result.exit_code == 0, result.output
    assert "read 4 records from 1 file(s), 4 comparisons" in result.output
    ranks = {line.split()[0]: line.split()[1] for line in result.output.splitlines() if line[:4].strip().isdigit()}
    assert ranks["3"] == "alpaca-13b"  # lost every battle: last
    # three battles per model are too few for an interval: the ratings stand, the intervals are not made up
    assert sum("too few battles" in line for line in result.output.splitlines() if line[:4].strip().isdigit()) == 3
    assert "separability" not in result.output


def test_leaderboards_per_topic_from_arena_votes_and_a_topic_map(tmp_path):
    pytest.importorskip("model2vec")
    import random

    from conftest import run_curate

    from chatsift.analysis.topics.model import TopicSettings, build_topics

    rng = random.Random(3)
    code = ["Write a Python function that {} a list of {} and returns the {}",
            "How do I {} a {} in JavaScript without a loop over the {}?",
            "Fix this Rust compile error when I {} a {} inside the {} module"]
    food = ["Give me a recipe to {} {} with garlic, butter and {}",
            "How long should I {} the {} in the oven before adding {}?",
            "What spices go well when you {} {} for a dinner with {}?"]
    verbs = ["sort", "parse", "filter", "merge", "roast", "bake", "grill", "simmer"]
    nouns = ["strings", "integers", "records", "tuples", "potatoes", "salmon", "carrots", "lentils"]
    battles = []
    for i in range(160):
        cooking = i % 2 == 1
        prompt = rng.choice(food if cooking else code).format(rng.choice(verbs), rng.choice(nouns),
                                                            rng.choice(nouns))
        a, b = rng.sample(["coder", "chef", "plain"], 2)
        best = "chef" if cooking else "coder"
        winner = "model_a" if a == best else "model_b" if b == best else rng.choice(["model_a", "model_b"])
        battles.append({"question_id": f"q{i}", "model_a": a, "model_b": b, "winner": winner,
                        "judge": f"arena_user_{i % 40}", "anony": True, "tstamp": 1_700_000_000 + i,
                        "conversation_a": [{"role": "user", "content": prompt},
                                           {"role": "assistant", "content": "A."}],
                        "conversation_b": [{"role": "user", "content": prompt},
                                           {"role": "assistant", "content": "B."}]})
    path = tmp_path / "battles.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in battles), encoding="utf-8")
    run_curate([path], tmp_path / "r", **{"release.schema": "full", "filters.min_user_chars": 0})
    build_topics(tmp_path / "r", TopicSettings(k=2, min_users=1, dedup=False))
    out = tmp_path / "board.json"
    result = CliRunner().invoke(cli, ["leaderboard", "--votes", str(path), "--topics", str(tmp_path / "r"),
                                      "--rounds", "50", "--min-topic-battles", "30", "-o", str(out)])
    assert result.exit_code == 0, result.output
    by_topic = json.loads(out.read_text())["by_topic"]
    assert by_topic["unmatched"] == 0 and sum(t["battles"] for t in by_topic["topics"]) == 160
    leaders = {t["leaderboard"]["rows"][0]["model"] for t in by_topic["topics"] if t["leaderboard"]}
    assert leaders == {"coder", "chef"}  # each topic has its own winner; overall neither is clearly first
    assert "Per topic (160 battles, 0 not in the topic map" in result.output


def test_leaderboards_per_topic_from_arena_hard_judgments_and_its_questions(tmp_path, shared_data):
    """Judgments name their question: curating Arena-Hard's question.jsonl as prompts gives each question
    a topic, and the Korean Arena-Hard judgments of the same 500 questions are ranked per topic."""
    pytest.importorskip("model2vec")
    import pyarrow.parquet as pq
    from conftest import run_curate

    from chatsift.analysis.topics.model import TopicSettings, build_topics
    from chatsift.io.readers.benchmarks import question_conversation_ids

    run_curate([shared_data / "arena-hard-auto/v0.1/question.jsonl"], tmp_path / "r",
               **{"release.schema": "full", "read.benchmark_questions": "prompts"})
    build_topics(tmp_path / "r", TopicSettings(k=5, min_users=1, dedup=False))
    judged = tmp_path / "judgments"
    judged.mkdir()
    models = ["claude-3.5-haiku", "command-r7b-12-2024", "chatgpt-4o-latest(2025-03-26)"]
    for model in models:
        shutil.copy(shared_data / f"arena-hard-ko-judgments/model_judgment/ensemble/{model}.jsonl", judged)
    out = tmp_path / "board.json"
    result = CliRunner().invoke(cli, ["leaderboard", str(judged), "--baseline", KO_BASELINE, "--topics",
                                      str(tmp_path / "r"), "--rounds", "30", "-o", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    by_topic = payload["by_topic"]
    # a battle finds its topic exactly when its question's prompt is in the map (the map leaves out
    # prompts over 1,536 characters and non-English ones)
    mapped = set(pq.read_table(tmp_path / "r/topics/assignments.parquet").column("conversation_id").to_pylist())
    questions = [json.loads(line)["question_id"] for model in models
                 for line in (judged / f"{model}.jsonl").read_text().splitlines()]
    outside = sum(2 for q in questions if not mapped & set(question_conversation_ids(q)))
    assert 0 < outside < 0.1 * by_topic["battles"]
    assert by_topic["unmatched"] == outside
    assert sum(t["battles"] for t in by_topic["topics"]) == by_topic["battles"] - outside
    ranked = [t for t in by_topic["topics"] if t["leaderboard"]]
    assert len(ranked) >= 3
    for topic in ranked:
        assert {r["model"] for r in topic["leaderboard"]["rows"]} >= set(models) | {KO_BASELINE}
    overall = [r["model"] for r in payload["rows"]]
    assert overall.index("chatgpt-4o-latest(2025-03-26)") < overall.index("command-r7b-12-2024")
    grades = CliRunner().invoke(cli, ["leaderboard", str(shared_data / "arena-bench-v1" / "model_judgment"),
                                      "--topics", str(tmp_path / "r")])
    assert grades.exit_code != 0 and "not single-answer grades" in grades.output
