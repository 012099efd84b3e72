"""``chatsift hard score | select``: hard benchmark prompts from a release (use case D)."""

from __future__ import annotations

from pathlib import Path

import click

from chatsift.cli.llm_options import finish_ledger, llm_options


@click.group("hard")
def hard_group() -> None:
    """Score the first-turn prompts of a release with LLM raters; select the hardest as a benchmark."""


@hard_group.command("score")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--judge", "judges", multiple=True, required=True,
              help="Rater endpoint (repeat for several raters; the paper used three).")
@click.option("--mode", type=click.Choice(["paper", "criteria", "both"]), default="paper", show_default=True,
              help="paper: the 1-10 [[score]] of Appendix B.7; criteria: Arena-Hard's seven criteria.")
@click.option("--repeats", default=1, show_default=True, help="Ratings per rater and prompt.")
@click.option("--temperature", default=0.0, show_default=True)
@click.option("--language", default=None, help="Only conversations in this language (e.g. English).")
@click.option("--sample", default=0, show_default=True, help="Score a seeded sample of this many (0: all).")
@click.option("--seed", default=42, show_default=True)
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Output folder (default RELEASE/hard).")
@click.option("--dry-run", is_flag=True, help="Print the number of requests, cached ones, tokens and cost.")
@click.option("--no-progress", is_flag=True)
@llm_options
def score_command(release, judges, mode, repeats, temperature, language, sample, seed, out, dry_run, no_progress,
                  llm) -> None:
    """Rate every first-turn prompt of RELEASE; writes scores.jsonl keyed by conversation_id."""
    from chatsift.hard.prompts import criteria_messages, score_messages
    from chatsift.hard.score import ScoreSettings, first_turn_prompts, score_prompts
    from chatsift.llm import CHAT, Ledger, make_client

    settings = ScoreSettings(mode, repeats, temperature, language, sample or None, seed)
    prompts = first_turn_prompts(release, language, sample or None, seed)
    ledger = Ledger()
    clients = [make_client(j, llm, ledger=ledger, progress=not no_progress) for j in judges]
    if dry_run:
        builds = {"paper": [score_messages], "criteria": [criteria_messages],
                  "both": [score_messages, criteria_messages]}[mode]
        for client in clients:
            payloads = [{"messages": b(p["prompt"]), "temperature": temperature, "max_tokens": 512,
                         **({"seed": r} if r else {})} for b in builds for r in range(repeats) for p in prompts]
            click.echo(client.estimate(CHAT, payloads, completion_tokens=200).line(client.endpoint))
        return
    report = score_prompts(prompts, clients, settings, out or Path(release) / "hard")
    click.echo(f"{report.prompts:,} prompts, {report.requests:,} ratings requested; "
               f"unparsed: {sum(report.unparsed.values()):,}; failed: {sum(report.failed.values()):,}")
    click.echo(f"written: {report.out}")
    finish_ledger(ledger, Path(report.out).parent)


@hard_group.command("select")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Benchmark folder to write.")
@click.option("--scores", type=click.Path(exists=True), help="scores.jsonl (default RELEASE/hard/scores.jsonl).")
@click.option("--rule", type=click.Choice(["paper", "benchbuilder"]), default="paper", show_default=True)
@click.option("--threshold", default=9.0, show_default=True, help="paper: every rater's score at least this.")
@click.option("--top", default=200, show_default=True, help="paper: keep this many, best first.")
@click.option("--prompt-threshold", default=6.0, show_default=True, help="benchbuilder: criteria met, at least.")
@click.option("--cluster-threshold", default=6.0, show_default=True,
              help="benchbuilder: a cluster's mean criteria score, at least.")
@click.option("--per-cluster", default=2, show_default=True, help="benchbuilder: prompts sampled per cluster.")
@click.option("--language", default=None, help="Only prompts in this language.")
@click.option("--no-dedup", is_flag=True, help="Keep prompts that repeat (same words, any order or case).")
@click.option("--category", default="chatsift-hard", show_default=True, help="question.jsonl category.")
@click.option("--seed", default=42, show_default=True)
def select_command(release, out, scores, rule, threshold, top, prompt_threshold, cluster_threshold, per_cluster,
                   language, no_dedup, category, seed) -> None:
    """Keep the hardest scored prompts of RELEASE as OUT/question.jsonl (Arena-Hard-Auto's layout)."""
    from chatsift.hard.score import first_turn_prompts, read_scores
    from chatsift.hard.select import SelectSettings, select, write_bench

    settings = SelectSettings(rule, threshold, top, prompt_threshold, cluster_threshold, per_cluster, language,
                              not no_dedup, seed, category)
    score_map = read_scores(scores or Path(release) / "hard")
    selection = select(release, first_turn_prompts(release, seed=seed), score_map, settings)
    path = write_bench(out, selection, settings, str(release))
    click.echo(f"{len(selection.questions):,} of {selection.considered:,} prompts kept by the {rule} rule"
               + (f" from {selection.clusters_kept} clusters" if selection.clusters_kept is not None else ""))
    if selection.reasons:
        click.echo("left out: " + ", ".join(f"{k} {v:,}" for k, v in selection.reasons.most_common()))
    click.echo(f"written: {path}")
