"""``chatsift leaderboard``: Bradley–Terry ratings with bootstrap intervals from judgments or votes."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from chatsift.analysis.textable import table


def _fmt(value, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def render(lb) -> str:
    from chatsift.arena.leaderboard import TOO_FEW

    lines = [f"{lb.method}; {lb.convention} bootstrap, {lb.rounds} rounds (seed {lb.seed})"
             + (f"; baseline {lb.baseline}" if lb.baseline else "") + f"; {lb.read}"]
    lines += [f"note: {n}" for n in lb.notes]
    if lb.method == "mean grade":
        rows = [[i + 1, r.model, f"{r.rating:.2f}", f"({r.rating_lower:.2f}, {r.rating_upper:.2f})", int(r.battles)]
                for i, r in enumerate(lb.rows)]
        lines.append(table(["rank", "model", "grade", "95% CI", "questions"], rows))
    else:
        headers = ["rank", "model", "rating", "95% CI"]
        if lb.baseline:
            headers += ["win rate %", "95% CI"]
        headers += ["battles", "online Elo", "avg win rate"]
        rows = []
        for i, r in enumerate(lb.rows):
            few = r.rating_lower is None
            interval = TOO_FEW if few else f"({_fmt(r.rating_lower)}, {_fmt(r.rating_upper)})"
            row = [i + 1, r.model, _fmt(r.rating), interval]
            if lb.baseline:
                row += [_fmt(r.win_rate, 2),
                        TOO_FEW if few else f"({_fmt(r.win_rate_lower, 2)}, {_fmt(r.win_rate_upper, 2)})"]
            row += [_fmt(r.battles, 0), _fmt(r.online_elo), _fmt(r.average_win_rate, 3)]
            rows.append(row)
        lines.append(table(headers, rows))
    if lb.style_coefficients:
        lines.append("style coefficients: " + ", ".join(f"{k} {v:+.3f}" for k, v in lb.style_coefficients.items()))
    q = lb.quality
    if q is not None:
        parts = [f"separability {100 * q.separability:.1f}% of {q.pairs:,} pairs"]
        if q.spearman is not None:
            parts.append(f"Spearman {q.spearman:.3f} on {q.common_models} models")
        if q.agreement is not None:
            parts.append(f"agreement {100 * q.agreement:.1f}%")
        if q.brier is not None:
            parts.append(f"Brier {q.brier:.3f}")
        lines.append("benchmark quality: " + "; ".join(parts))
    return "\n".join(lines)


def render_topics(by_topic: dict) -> str:
    """One short table per topic with enough battles; the rest listed with their counts."""
    lines = ["", f"Per topic ({by_topic['battles']:,} battles, {by_topic['unmatched']:,} not in the topic map; "
                 f"topics with fewer than {by_topic['min_battles']} battles have no leaderboard)"]
    for t in by_topic["topics"]:
        board = t["leaderboard"]
        if board is None:
            lines.append(f"topic {t['topic']} ({t['label']}): {t['battles']} battles, {t['reason']}")
            continue
        rows = [[i + 1, r["model"], _fmt(r["rating"]),
                 "too few battles" if r["rating_lower"] is None else f"({_fmt(r['rating_lower'])}, "
                                                                      f"{_fmt(r['rating_upper'])})",
                 _fmt(r["battles"], 0)] for i, r in enumerate(board["rows"])]
        lines += ["", f"topic {t['topic']} ({t['label']}): {t['battles']} battles",
                  table(["rank", "model", "rating", "95% CI", "battles"], rows)]
    return "\n".join(lines)


@click.command("leaderboard")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--votes", is_flag=True,
              help="INPUTS are human votes: CSV (model_a, model_b, winner or left, right, winner), JSONL battles, "
                   "or FastChat logs with leftvote/rightvote/tievote/bothbad_vote records.")
@click.option("--baseline", default=None, help="Anchor model: ratings are shifted so it sits at 1000 and win rates "
                                               "are against it (judgments name theirs).")
@click.option("--rounds", default=1000, show_default=True, help="Bootstrap rounds.")
@click.option("--seed", default=42, show_default=True)
@click.option("--convention", type=click.Choice(["percentile", "arena-hard"]), default="percentile",
              show_default=True, help="How intervals are made: a plain percentile bootstrap, or the convention "
                                      "of Arena-Hard-Auto's published leaderboards.")
@click.option("--strong-weight", default=3, show_default=True, help="Battles a strong verdict (>>) counts for.")
@click.option("--first-game-only", is_flag=True, help="Use only the first game (no position swap).")
@click.option("--control", type=click.Choice(["style", "length", "markdown"]), default=None,
              help="Style control: needs --answers (the benchmark's model_answer folder).")
@click.option("--answers", type=click.Path(exists=True, file_okay=False), help="model_answer folder (style control).")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False),
              help="A trusted ranking (CSV with model and score/rating, or a leaderboard JSON) for agreement, "
                   "Spearman and Brier.")
@click.option("--anonymous-only", is_flag=True, help="Votes: only battles whose model names were hidden.")
@click.option("--reparse", is_flag=True, help="Grades: read a null score from the judgment text (e.g. [[9.5]]).")
@click.option("--topics", "topics_release", type=click.Path(exists=True, file_okay=False),
              help="Also rank the models within each topic of this release's topic map: votes by their "
                   "conversation's first prompt, pairwise judgments by their question (curate the benchmark's "
                   "question.jsonl with --set read.benchmark_questions=prompts).")
@click.option("--min-topic-battles", default=30, show_default=True,
              help="Topics with fewer battles get no leaderboard.")
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as JSON.")
@click.option("-o", "--out", type=click.Path(dir_okay=False),
              help="Also write the JSON here (chatsift report reads it).")
def leaderboard_command(inputs, votes, baseline, rounds, seed, convention, strong_weight, first_game_only, control,
                        answers, reference, anonymous_only, reparse, topics_release, min_topic_battles, as_json,
                        out) -> None:
    """Rank models from INPUTS: model_judgment folders/files (pairwise or 1-10 grades) or, with --votes, votes."""
    from chatsift.arena.battles import RankingError
    from chatsift.arena.leaderboard import rank_battles, rank_grades, read_reference
    from chatsift.arena.sources import attach_style, read_grades, read_judgments, read_votes, sniff_judgments
    from chatsift.bench.layout import read_answers

    ref = read_reference(reference) if reference else None
    if votes:
        if control:
            raise RankingError("style control needs judged answers; votes carry no answer texts")
        battles, report = read_votes(list(inputs), anonymous_only)
        lb = rank_battles(battles, report, baseline=baseline, rounds=rounds, seed=seed, convention=convention,
                          reference=ref)
    elif sniff_judgments(list(inputs)) == "grades":
        battles = None
        lb = rank_grades(read_grades(list(inputs), reparse), rounds=rounds, seed=seed, reference=ref)
    else:
        battles, report, base = read_judgments(list(inputs), baseline, strong_weight, first_game_only)
        if control:
            if not answers:
                raise RankingError("--control needs --answers (the benchmark's model_answer folder)")
            attach_style(battles, read_answers(answers))
        lb = rank_battles(battles, report, baseline=base, rounds=rounds, seed=seed, convention=convention,
                          control=control, reference=ref)
    by_topic = None
    if topics_release:
        if battles is None:
            raise RankingError("--topics ranks votes or pairwise judgments per topic, not single-answer grades")
        from chatsift.arena.topics import rank_by_topic

        by_topic = rank_by_topic(battles, topics_release, rounds=min(rounds, 200), seed=seed,
                                 min_battles=min_topic_battles)
    payload = lb.to_json()
    if by_topic is not None:
        payload = orjson.dumps({**orjson.loads(payload), "by_topic": by_topic},
                               option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if out:
        Path(out).write_bytes(payload)
    if as_json:
        click.echo(payload.decode())
        return
    click.echo(render(lb))
    if by_topic is not None:
        click.echo(render_topics(by_topic))
