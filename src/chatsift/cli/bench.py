"""``chatsift bench answer | judge``: run a benchmark folder (Arena-Hard-Auto layout) against models."""

from __future__ import annotations

import click

from chatsift.cli.llm_options import finish_ledger, llm_options


@click.group("bench")
def bench_group() -> None:
    """Answer a benchmark with models under test and judge the answers."""


@bench_group.command("answer")
@click.argument("bench", type=click.Path(exists=True, file_okay=False))
@click.option("--model", "models", multiple=True, required=True, help="Endpoint of a model under test (repeatable).")
@click.option("--name", "names", multiple=True, help="Name to file each model's answers under (default: its model).")
@click.option("--max-tokens", default=4096, show_default=True)
@click.option("--no-progress", is_flag=True)
@llm_options
def answer_command(bench, models, names, max_tokens, no_progress, llm) -> None:
    """Write BENCH/model_answer/<model>.jsonl (temperature 0, turn by turn; resumes where it stopped)."""
    from chatsift.bench.answer import answer_questions
    from chatsift.bench.layout import read_questions
    from chatsift.errors import ConfigError
    from chatsift.llm import Ledger, make_client

    if names and len(names) != len(models):
        raise ConfigError("give one --name per --model, or none")
    questions = read_questions(bench)
    ledger = Ledger()
    for i, spec in enumerate(models):
        client = make_client(spec, llm, ledger=ledger, progress=not no_progress)
        report = answer_questions(bench, questions, client, names[i] if names else None, max_tokens)
        click.echo(f"{report.model}: {report.written:,} answered, {report.already:,} already there, "
                   f"{report.failed:,} failed (rerun to retry)")
    finish_ledger(ledger, bench)


@bench_group.command("judge")
@click.argument("bench", type=click.Path(exists=True, file_okay=False))
@click.option("--judge", "judges", multiple=True, required=True, help="Judge endpoint (repeat for an ensemble).")
@click.option("--baseline", default=None, help="Pairwise: the model every other is compared with.")
@click.option("--model", "models", multiple=True, help="Models to judge (default: every model with answers).")
@click.option("--mode", type=click.Choice(["pairwise", "single"]), default="pairwise", show_default=True)
@click.option("--prompt", "prompt_name", default=None,
              help="Judge prompt: arena-hard (pairwise default), single-v1, single-math-v1 (single default), or a "
                   "name from --judge-prompts.")
@click.option("--judge-prompts", type=click.Path(exists=True, dir_okay=False),
              help="FastChat judge_prompts.jsonl, for MT-bench's exact prompts.")
@click.option("--reference", default=None, help="Single: the model whose answers are the reference (e.g. gpt-4).")
@click.option("--max-tokens", default=4096, show_default=True)
@click.option("--no-progress", is_flag=True)
@llm_options
def judge_command(bench, judges, baseline, models, mode, prompt_name, judge_prompts, reference, max_tokens,
                  no_progress, llm) -> None:
    """Write BENCH/model_judgment/<judge>/<model>.jsonl; `chatsift leaderboard` ranks them."""
    from chatsift.bench.judge import judge_pairwise, judge_single
    from chatsift.bench.layout import read_questions
    from chatsift.bench.prompts import get_prompt
    from chatsift.errors import ConfigError
    from chatsift.llm import Ledger, make_client

    prompt = get_prompt(prompt_name or ("arena-hard" if mode == "pairwise" else "single-math-v1"), judge_prompts)
    if prompt.kind != mode:
        raise ConfigError(f"judge prompt {prompt.name} is a {prompt.kind} prompt, not {mode}")
    if mode == "pairwise" and not baseline:
        raise ConfigError("pairwise judging needs --baseline MODEL")
    questions = read_questions(bench)
    ledger = Ledger()
    for spec in judges:
        client = make_client(spec, llm, ledger=ledger, progress=not no_progress)
        if mode == "pairwise":
            report = judge_pairwise(bench, questions, client, prompt, baseline, list(models) or None,
                                    max_tokens=max_tokens)
        else:
            report = judge_single(bench, questions, client, prompt, list(models) or None, reference,
                                  max_tokens=max_tokens)
        missing = sum(report.missing.values())
        click.echo(f"{report.judge}: {report.games:,} judgments of {len(report.models)} model(s); unparsed "
                   f"{report.unparsed:,}; failed {report.failed:,}; skipped for a missing answer {missing:,}")
        click.echo(f"written: {report.folder}")
    finish_ledger(ledger, bench)
