"""``chatsift curate``: build a release from raw conversation logs."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from chatsift.config import load_config
from chatsift.curate import DryRun, curate
from chatsift.errors import ConfigError
from chatsift.io.readers.registry import READER_NAMES


def parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE (e.g. sample.n=1000), got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


@click.command("curate")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", required=True, help="Release folder (or object-store URL, e.g. s3://bucket/release).")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), help="YAML config file.")
@click.option("--format", "fmt", type=click.Choice(["auto", *READER_NAMES]),
              help="Force a reader (default: detect per file).")
@click.option("--schema", type=click.Choice(["lmsys", "full"]),
              help="lmsys: exactly the LMSYS-Chat-1M features (default); full: plus annotation columns.")
@click.option("--keep-private", is_flag=True, default=None,
              help="Keep user_id and tstamp (never for public releases).")
@click.option("--since", help="Chat store inputs: only records at or after this time (ISO date/time or Unix seconds).")
@click.option("--sample", type=int, help="Seeded shuffle and keep N conversations (the paper: 1000000).")
@click.option("--seed", type=int, help="Seed for --sample (default 42).")
@click.option("--exact-dedup", type=click.Choice(["keep_all", "one_per_group"]),
              help="Keep every exact duplicate (paper behaviour, default) or one per exact group.")
@click.option("--near-cap", type=int, help="Keep at most K conversations per near-duplicate cluster.")
@click.option("--blocked-words", type=click.Path(dir_okay=False, exists=True), help="Word list file (one per line).")
@click.option("--no-pii", is_flag=True, help="Turn PII redaction off (never for a public release).")
@click.option("--ner", help="A NER model behind the name rules: spacy (English, pip install 'chatsift[ner]') or "
                            "LANG=PACKAGE[,LANG=PACKAGE] (default: off).")
@click.option("--moderator", help="Who writes openai_moderation: local (default, the bundled model), a model folder, "
                                  "openai[:MODEL], llm:ENDPOINT, or passthrough (keep the source's tags only).")
@click.option("--moderation-prompt", type=click.Choice(["paper", "paper-one-shot", "llama-guard"]),
              help="Guard prompt for --moderator llm:ENDPOINT (default: paper).")
@click.option("--recompute-moderation", is_flag=True, help="Replace moderation tags the source already carries.")
@click.option("--workers", type=int, help="Worker processes (default: one per core; with Ray: CPUs of a local Ray).")
@click.option("--executor", type=click.Choice(["local", "ray"]), help="Run locally (default) or on Ray Data.")
@click.option("--ray-address", help="Join a Ray cluster: 'auto' or ray://host:port (default: start a local Ray).")
@click.option("--map", "maps", multiple=True, metavar="TARGET=PATH",
              help="Where a field lives in your records, as a dotted path: id, model, user, timestamp, language, "
                   "system or messages, e.g. --map model=metadata.model --map messages=data.turns (read.map).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Any config value, e.g. --set sample.n=100.")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and plan, then exit.")
@click.option("--overwrite", is_flag=True, help="Replace a finished release in --out.")
@click.option("--restart", is_flag=True, help="Discard an unfinished run in --out instead of resuming it.")
@click.option("--keep-work", is_flag=True, default=None, help="Keep the intermediate files after success.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--allow-empty", is_flag=True, help="Exit 0 even when no conversation is released (default: exit 1).")
def curate_command(inputs, out, config_path, fmt, schema, keep_private, since, sample, seed, exact_dedup, near_cap,
                   blocked_words, no_pii, ner, moderator, moderation_prompt, recompute_moderation, workers, executor,
                   ray_address, sets, dry_run, overwrite, restart,
                   keep_work, no_progress, allow_empty, maps) -> None:
    """Curate INPUTS (files, folders, hf://owner/name, s3://... URLs, chat stores of `chatsift serve`:
    sqlite:///chat.db or postgresql://...) into a release in --out (a folder or URL).

    Writes data/*.parquet, manifest.json (config, versions, checksums, counts that reconcile),
    exclusions.parquet, quarantine.jsonl and README.md (the dataset card). A killed run resumes
    when the same command is run again.
    """
    overrides: dict[str, object] = {}
    flags = {
        "read.format": fmt, "release.schema": schema, "release.keep_private": keep_private, "sample.n": sample,
        "sample.seed": seed, "select.exact": exact_dedup, "select.near_max_per_cluster": near_cap,
        "filters.blocked_words_file": blocked_words, "read.since": since, "pii.ner": ner, "engine.workers": workers,
        "engine.keep_work": keep_work,
        "engine.executor": executor, "engine.ray_address": ray_address,
    }
    overrides.update({k: v for k, v in flags.items() if v is not None})
    if no_progress:
        overrides["engine.progress"] = False
    if no_pii:
        overrides["pii.enabled"] = False
    if moderator:
        from chatsift.moderation.backends import parse_moderator

        overrides.update({f"moderation.{k}": v for k, v in parse_moderator(moderator).items()})
    if moderation_prompt:
        overrides["moderation.prompt"] = moderation_prompt
    if recompute_moderation:
        overrides["moderation.recompute"] = True
    if maps:
        overrides["read.map"] = tuple(maps)
    overrides.update(parse_sets(sets))
    config = load_config(config_path, overrides)
    result = curate(list(inputs), out, config, overwrite=overwrite, restart=restart, dry_run=dry_run)
    if isinstance(result, DryRun):
        import yaml

        click.echo(yaml.safe_dump({"config": config.to_dict()}, sort_keys=False).rstrip())
        click.echo(result.describe())
        return
    c = result.manifest["counts"]
    click.echo(f"{'resumed and finished' if result.resumed else 'finished'}: {c['released']:,} of {c['input']:,} "
               f"conversations released, {sum(c['excluded'].values()):,} excluded, "
               f"{sum(c['quarantined'].values()):,} quarantined")
    root = str(result.out).rstrip("/")
    if result.manifest.get("llm"):
        from chatsift.llm import Ledger

        click.echo(Ledger.from_dict(result.manifest["llm"]).line())
        click.echo(f"ledger:  {root}/llm-ledger.json")
    empty_refused = c["released"] == 0 and c["input"] and not allow_empty
    if empty_refused:
        _unmark_release(result.out)
        click.echo(f"why:     {root}/quarantine.jsonl, {root}/exclusions.parquet, {root}/manifest.json")
    else:
        click.echo(f"release: {root}/data")
        click.echo(f"card:    {root}/README.md")
    warnings = result.manifest.get("warnings") or []
    for w in warnings[:20]:
        click.echo(f"warning: {w}", err=True)
    if len(warnings) > 20:
        click.echo(f"warning: … and {len(warnings) - 20:,} more, listed in {root}/manifest.json", err=True)
    if empty_refused:
        # An empty release is almost always a wrong input or format: say why, and fail scripts that go on.
        for kind in ("quarantined", "excluded"):
            top = sorted(c[kind].items(), key=lambda x: -x[1])[:3]
            if top:
                click.echo(f"nothing was released; top {kind} reasons: "
                           + ", ".join(f"{reason} ({n:,})" for reason, n in top), err=True)
        click.echo("error: no conversation was released (--allow-empty to accept an empty release)", err=True)
        raise SystemExit(1)


def _unmark_release(out: object) -> None:
    """An empty release that was not asked for keeps what says why (manifest, quarantine, exclusions) but no
    card and no data folder, so that it does not look like a finished release."""
    if not isinstance(out, Path) or not out.is_dir():
        return  # an object-store release: left as written
    (out / "README.md").unlink(missing_ok=True)
    data = out / "data"
    if data.is_dir() and not any(p.suffix == ".parquet" and _parquet_rows(p) for p in data.iterdir()):
        shutil.rmtree(data)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
