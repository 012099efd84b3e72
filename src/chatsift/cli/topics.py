"""``chatsift topics``: the topic map of a release."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chatsift.analysis.textable import table
from chatsift.cli.llm_options import finish_ledger, llm_options


@click.command("topics")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--sample", default=100_000, show_default=True, help="Conversations sampled (0: all).")
@click.option("--language", default="English", show_default=True, help="Conversation language, or 'any'.")
@click.option("-k", "--clusters", "k", default=20, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--embedder", default="auto", show_default=True,
              help="auto (the bundled MiniLM up to 20,000 prompts, static above), static (offline model2vec "
                   "distilled from the bundled MiniLM, about 140x faster), st:MODEL, or openai:BASE_URL#MODEL.")
@click.option("--labeler", default="ctfidf", show_default=True,
              help="ctfidf (offline distinctive terms) or an endpoint (openai:BASE_URL#MODEL, URL:MODEL, a configured "
                   "name): the paper's LLM summaries, with a one-sentence description.")
@click.option("--label-language", type=click.Choice(["auto", "en"]), default="auto", show_default=True,
              help="LLM labels in the language of the cluster's prompts, or in English.")
@click.option("--dry-run", is_flag=True, help="Cluster, then print the LLM labelling requests and cost only.")
@click.option("--parents", default=0, show_default=True, help="Second level: this many clusters of clusters.")
@click.option("--min-users", default=5, show_default=True,
              help="Clusters with fewer distinct users (or conversations) are reported only as 'other'.")
@click.option("--keep-duplicates", is_flag=True,
              help="Keep prompts whose bag of words repeats an earlier one (the paper drops them).")
@click.option("--layout", type=click.Choice(["tsne", "pca"]), default="tsne", show_default=True,
              help="The map's 2-D layout: t-SNE (keeps neighbours, so topics come apart) or PCA (linear, faster).")
@click.option("--json", "as_json", is_flag=True, help="Print the cluster table as JSON.")
@llm_options
def topics_command(release, sample, language, k, seed, embedder, labeler, label_language, dry_run, parents,
                   min_users, keep_duplicates, layout, as_json, llm) -> None:
    """Cluster the user prompts of RELEASE into topics (writes RELEASE/topics/ and lists its files in the
    release's manifest.json under "derived")."""
    from chatsift.analysis.topics.model import TopicSettings, build_topics
    from chatsift.llm import Ledger

    settings = TopicSettings(sample=sample or None, language=None if language == "any" else language, k=k, seed=seed,
                             embedder=embedder, labeler=labeler, label_language=label_language, parents=parents,
                             min_users=min_users, dedup=not keep_duplicates, layout=layout)
    ledger = Ledger()
    result = build_topics(release, settings, llm=llm, ledger=ledger, dry_run=dry_run)
    if dry_run:
        click.echo(result.meta.get("llm_estimate") or "dry run: --labeler ctfidf makes no LLM request")
        return
    if as_json:
        click.echo(json.dumps({"meta": result.meta, "clusters": result.clusters}, indent=2, ensure_ascii=False))
        return
    m = result.meta
    click.echo(f"{m['prompts']:,} prompts ({m['prompts_before_dedup']:,} before dedup) from "
               f"{m['sampled_conversations']:,} conversations; embedder {m['embedder']}; {m['seconds']}")
    rows = [[c["cluster"] + 1, c["size"], f"{100 * c['share']:.1f}%", c["label"],
             ("templated " if c["templated"] else "") + ("private" if c["private"] else "")] for c in result.clusters]
    click.echo(table(["#", "prompts", "share", "label", "flags"], rows, max_width=70))
    if m.get("labeler", {}).get("unlabelled"):
        click.echo(f"warning: {m['labeler']['unlabelled']} cluster(s) got no usable LLM label and keep their "
                   "offline terms", err=True)
    click.echo(f"written: {release}/topics/ (assignments.parquet with the map's x, y; clusters.json, map.parquet)")
    finish_ledger(ledger, Path(release) / "topics")
    if ledger.entries:  # the ledger joined the topics folder: the manifest lists it too
        from chatsift.analysis.topics.model import record_derived

        record_derived(Path(release), "topics", Path(release) / "topics", result.meta)
