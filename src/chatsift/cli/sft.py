"""``chatsift sft select | export``: instruction-tuning subsets (paper §4.3), decontaminated, in training formats."""

from __future__ import annotations

from pathlib import Path

import click
import orjson


@click.group("sft")
def sft_group() -> None:
    """Select instruction-tuning subsets of a release and export them for training."""


@sft_group.command("select")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Subset folder to write.")
@click.option("--subset", type=click.Choice(["highquality", "upvote", "custom"]), default="highquality",
              show_default=True)
@click.option("--model", "models", multiple=True,
              help="Models to keep (shell patterns; highquality default: the paper's five).")
@click.option("--language", "languages", multiple=True, help="Keep these languages (name or code; repeatable).")
@click.option("--min-turns", default=1, show_default=True)
@click.option("--max-turns", type=int, default=None)
@click.option("--keep-flagged", is_flag=True, help="Keep conversations with a message flagged by moderation.")
@click.option("--max-jailbreak-score", type=float, default=None,
              help="Leave out conversations whose safety.jailbreak_score is at least this.")
@click.option("--min-response-chars", default=1, show_default=True, help="Every answer at least this long.")
@click.option("--no-exact-dedup", is_flag=True, help="Keep every member of an exact-duplicate group.")
@click.option("--near-cap", type=int, default=None, help="At most N conversations per near-duplicate cluster.")
@click.option("--decontaminate", "benchmarks", multiple=True, type=click.Path(exists=True),
              help="Benchmark question file or folder to decontaminate against (repeatable).")
@click.option("--methods", default="exact,ngram,embedding", show_default=True,
              help="Decontamination matchers, comma-separated.")
@click.option("--ngram", default=13, show_default=True, help="n of the n-gram matcher.")
@click.option("--similarity", default=0.9, show_default=True, help="Cosine threshold of the embedding matcher.")
@click.option("--embedder", default="static", show_default=True, help="Embedder of the embedding matcher.")
def select_command(release, out, subset, models, languages, min_turns, max_turns, keep_flagged, max_jailbreak_score,
                   min_response_chars, no_exact_dedup, near_cap, benchmarks, methods, ngram, similarity,
                   embedder) -> None:
    """Write OUT/data/*.parquet (the release's schema) and OUT/selection.json with every reason counted."""
    from chatsift.sft.decontam import Decontaminator, read_benchmark
    from chatsift.sft.select import SftRules, select_subset, write_subset

    rules = SftRules(subset, list(models) or None, list(languages) or None, min_turns, max_turns, not keep_flagged,
                     max_jailbreak_score, min_response_chars, not no_exact_dedup, near_cap)
    decontaminator = None
    if benchmarks:
        items = [it for b in benchmarks for it in read_benchmark(b)]
        decontaminator = Decontaminator(items, tuple(m.strip() for m in methods.split(",") if m.strip()), ngram,
                                        similarity, embedder)
    selection = select_subset(release, rules, decontaminator)
    out = Path(out)
    files = write_subset(release, selection, out)
    meta = {"release": str(release), "subset": subset, "rules": rules.__dict__, "considered": selection.considered,
            "selected": len(selection.ids), "left_out": dict(selection.reasons), "files": [str(f) for f in files]}
    if decontaminator is not None:
        names = sorted({it.benchmark for it in decontaminator.items})
        meta["decontamination"] = {"benchmarks": names, "items": len(decontaminator.items),
                                   "methods": list(decontaminator.methods), "ngram": ngram, "similarity": similarity,
                                   "removed": len(selection.contaminated)}
        (out / "contaminated.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in selection.contaminated))
    (out / "selection.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    click.echo(f"{subset}: {len(selection.ids):,} of {selection.considered:,} conversations selected")
    click.echo("left out: " + (", ".join(f"{k} {v:,}" for k, v in selection.reasons.most_common() if v) or "none"))
    click.echo(f"written: {out / 'data'}")


@sft_group.command("export")
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["sharegpt", "openai", "hf"]), required=True)
@click.option("--out", required=True, type=click.Path(), help="File (sharegpt, openai) or folder (hf).")
@click.option("--tokenizer", default="approx", show_default=True, help="Token counter: approx, minilm or hf:NAME.")
@click.option("--name", default="chatsift-sft", show_default=True, help="Dataset name in the hf card.")
def export_command(source, fmt, out, tokenizer, name) -> None:
    """Export a subset folder (from `sft select`) or a release; prints the token count."""
    from chatsift.sft.export import export_subset

    selection_path = Path(source) / "selection.json"
    selection = orjson.loads(selection_path.read_bytes()) if selection_path.exists() else None
    summary = export_subset(source, fmt, out, tokenizer, name, selection)
    click.echo(f"{summary['conversations']:,} conversations, {summary['messages']:,} messages, "
               f"{summary['tokens']:,} tokens ({summary['tokenizer']}: {summary['prompt_tokens']:,} prompt, "
               f"{summary['response_tokens']:,} response)")
    click.echo(f"written: {', '.join(summary['files']) if fmt != 'hf' else out}")
