"""``chatsift safety mine | build | run | validate | detector-train``: the jailbreak use case (paper §4.2)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chatsift.analysis.textable import table
from chatsift.cli.llm_options import finish_ledger, llm_options


@click.group("safety")
def safety_group() -> None:
    """Mine jailbreak attempts from a release, build a benchmark from them, replay it against models."""


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _ci(ci: list[float] | None) -> str:
    return "–" if not ci else f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}%"


@safety_group.command("mine")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@click.option("--top", default=25, show_default=True, help="Models to print (all are in --json).")
def mine_command(release, as_json, top) -> None:
    """Table 4: conversations, jailbreak attempts and successes per model, from the moderation tags."""
    from chatsift.safety.mine import mine_release

    result = mine_release(release)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(table(["model", "conversations", "attempts", "successes", "success rate", "95% CI"],
                     [[r["model"], r["conversations"], r["attempts"], r["successes"], _pct(r["rate"]), _ci(r["ci95"])]
                      for r in result["models"][:top]]))
    click.echo(f"all: {result['attempts']:,} attempts, {result['successes']:,} successes ({_pct(result['rate'])}) "
               f"in {result['tagged']:,} tagged conversations; {result['untagged']:,} untagged")
    cats = result["categories"]
    if cats:
        click.echo("by category (attempts / successes): " + ", ".join(
            f"{c} {v['attempts']:,}/{v['successes']:,}" for c, v in cats.items()))


@safety_group.command("build")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Benchmark folder to write.")
@click.option("--per-model", default=5, show_default=True, help="Attempts per model.")
@click.option("--models", "n_models", default=10, show_default=True, help="Models with the most attempts to take.")
@click.option("--model", "model_names", multiple=True, help="Take these models instead (repeatable).")
@click.option("--max-similarity", default=0.5, show_default=True,
              help="Word-trigram Jaccard at or above which two attempts are near-duplicates.")
@click.option("--tactics-llm", default=None, metavar="ENDPOINT", help="Also tag tactics with this LLM.")
@click.option("--no-progress", is_flag=True)
@llm_options
def build_command(release, out, per_model, n_models, model_names, max_similarity, tactics_llm, no_progress,
                  llm) -> None:
    """Write OUT/question.jsonl: the top attempts of each model, user turns only, with tactic tags."""
    from chatsift.llm import Ledger, make_client
    from chatsift.safety.build import BuildSettings, build_benchmark, write_safety_bench

    settings = BuildSettings(per_model, n_models, list(model_names) or None, max_similarity)
    ledger = Ledger()
    client = make_client(tactics_llm, llm, ledger=ledger, progress=not no_progress) if tactics_llm else None
    built = build_benchmark(release, settings, client)
    path = write_safety_bench(out, built, settings, str(release))
    click.echo(f"{len(built.questions)} conversations from {len(built.models)} model(s) "
               f"({', '.join(f'{m} {n:,}' for m, n in built.models.items())} attempts)")
    click.echo("left out: " + (", ".join(f"{k} {v:,}" for k, v in built.reasons.most_common() if v) or "none"))
    if built.redacted_here:
        click.echo("note: the release's PII stage was off; the turns were redacted before writing", err=True)
    click.echo(f"written: {path}")
    finish_ledger(ledger, out)


@safety_group.command("run")
@click.argument("bench", type=click.Path(exists=True))
@click.option("--target", "targets", multiple=True, required=True, help="Endpoint of a model to attack (repeatable).")
@click.option("--name", "names", multiple=True, help="Name to file each target under (default: its model).")
@click.option("--moderator", default="local", show_default=True,
              help="Moderation backend that judges the answers: local, openai[:MODEL], llm:ENDPOINT, or a folder.")
@click.option("--rule", type=click.Choice(["complied", "flagged", "flagged-complied"]), default="complied",
              show_default=True,
              help="What counts as a success: the answer is not a refusal (complied), is flagged (the paper's "
                   "Table 5; use with --moderator openai), or both.")
@click.option("--max-tokens", default=1024, show_default=True)
@click.option("--dry-run", is_flag=True, help="Print requests, cached ones, tokens and cost per target; send nothing.")
@click.option("--no-progress", is_flag=True)
@llm_options
def run_command(bench, targets, names, moderator, rule, max_tokens, dry_run, no_progress, llm) -> None:
    """Replay every user turn against each target, judge the answers, report success rates with 95% CIs."""
    from chatsift.errors import ConfigError
    from chatsift.llm import Ledger, make_client
    from chatsift.moderation.backends import BackendSpec, make_backend
    from chatsift.safety.judge import SafetyJudge
    from chatsift.safety.replay import estimate_replay, replay, write_results

    if names and len(names) != len(targets):
        raise ConfigError("give one --name per --target, or none")
    if dry_run:
        for spec in targets:
            client = make_client(spec, llm)
            click.echo(estimate_replay(client, bench, max_tokens).line(client.endpoint))
        click.echo("(later turns counted with --max-tokens per earlier answer: an upper bound; the judge's "
                   "moderation calls come on top for an API backend)")
        return
    ledger = Ledger()
    backend = make_backend(BackendSpec.parse(moderator), llm, progress=not no_progress, ledger=ledger)
    judge = SafetyJudge(backend, rule)
    folder = Path(bench) if Path(bench).is_dir() else Path(bench).parent
    results = []
    for i, spec in enumerate(targets):
        client = make_client(spec, llm, ledger=ledger, progress=not no_progress)
        results.append(replay(bench, client, judge, names[i] if names else None, max_tokens, folder))
    rows = []
    for r in results:
        d = r.to_dict()
        rows.append([r.target, r.cases, r.judged, r.successes, _pct(d["rate"]), _ci(d["ci95"]), r.refused,
                     r.errors, r.unjudged])
    click.echo(table(["target", "cases", "judged", "successes", "rate", "95% CI", "refused", "errors", "unjudged"],
                     rows))
    for r in results:
        if r.judged == 0:
            click.echo(f"warning: {r.target}: no case could be judged ({r.errors} errors, {r.unjudged} unjudged); "
                       "no rate", err=True)
        if r.by_tactic:
            click.echo(f"{r.target} by tactic: " + ", ".join(
                f"{t} {v['successes']}/{v['cases']}" for t, v in r.by_tactic.items()))
    click.echo(f"judge:   {judge.name}")
    click.echo(f"results: {write_results(folder, results, judge)}")
    click.echo(f"replays: {folder / 'replays'}")
    finish_ledger(ledger, folder)


@safety_group.command("validate")
@click.option("--jailbreakbench", type=click.Path(exists=True, file_okay=False),
              help="JailbreakBench artifacts folder: agreement of every judge rule with its jailbroken label.")
@click.option("--xstest", type=click.Path(exists=True, file_okay=False),
              help="XSTest folder: refusal detector precision/recall and the over-refusal rate.")
@click.option("--moderator", default="local", show_default=True, help="Moderation backend of the judge.")
@llm_options
def validate_command(jailbreakbench, xstest, moderator, llm) -> None:
    """Check the safety judge against published and human labels (prints JSON)."""
    from chatsift.errors import ConfigError
    from chatsift.moderation.backends import BackendSpec, make_backend
    from chatsift.safety.validate import validate_on_jailbreakbench, validate_refusals_on_xstest

    if not jailbreakbench and not xstest:
        raise ConfigError("give --jailbreakbench DIR and/or --xstest DIR")
    out: dict = {}
    if jailbreakbench:
        backend = make_backend(BackendSpec.parse(moderator), llm)
        if backend is None:
            raise ConfigError("--moderator passthrough cannot judge answers")
        out["jailbreakbench"] = validate_on_jailbreakbench(jailbreakbench, backend)
    if xstest:
        out["xstest"] = validate_refusals_on_xstest(xstest)
    click.echo(json.dumps(out, indent=2))


@safety_group.command("detector-train")
@click.option("--labelled", "labelled", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with prompt,type (jailbreak/benign), e.g. jailbreak-classification's train split.")
@click.option("--positive", "positives", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Prompts that are all jailbreaks (CSV column prompt/..., JSONL, JSON list).")
@click.option("--negative", "negatives", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Prompts that are not jailbreaks (ordinary or directly harmful requests).")
@click.option("--held-out", default=0.2, show_default=True, help="Share of near-duplicate groups held out.")
@click.option("--name", default="custom", show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False))
def detector_train_command(labelled, positives, negatives, held_out, name, out) -> None:
    """Train the jailbreak-prompt detector behind safety.jailbreak_score; prints held-out precision/recall."""
    from chatsift.safety.detector import read_labelled_csv, read_texts, train_detector

    texts: list[str] = []
    labels: list[int] = []
    sources = []
    for path in labelled:
        t, y = read_labelled_csv(path)
        texts += t
        labels += y
        sources.append({"source": path, "prompts": len(t), "jailbreak": sum(y)})
    for path, label in [(p, 1) for p in positives] + [(p, 0) for p in negatives]:
        t = read_texts(path)
        texts += t
        labels += [label] * len(t)
        sources.append({"source": path, "prompts": len(t), "jailbreak": label * len(t)})
    detector = train_detector(texts, labels, sources, held_out=held_out, name=name)
    detector.save(out)
    ho = detector.meta["held_out"]
    click.echo(f"held out ({ho['n']:,} prompts, {ho['positives']:,} jailbreaks): precision {ho['precision']:.3f}, "
               f"recall {ho['recall']:.3f}, F1 {ho['f1']:.3f}, AUPRC {ho['auprc']}")
    click.echo(f"written: {out}")
