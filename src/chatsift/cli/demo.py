"""``chatsift demo``: curate the synthetic sample that ships with chatsift, end to end."""

from __future__ import annotations

from pathlib import Path

import click

from chatsift.config import load_config
from chatsift.curate import curate
from chatsift.demo.sample import SYNTHETIC_NOTE, write_sample


@click.command("demo")
@click.option("-o", "--out", default="chatsift-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the sample (input/) and the release (release/).")
@click.option("-n", "--conversations", default=3000, show_default=True, help="Size of the synthetic sample.")
@click.option("--schema", type=click.Choice(["lmsys", "full"]), default="full", show_default=True)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def demo_command(out: str, conversations: int, schema: str, no_progress: bool) -> None:
    """Write a synthetic sample of chat logs and curate it into a release."""
    root = Path(out)
    sample = write_sample(root / "input", n=conversations)
    click.echo(f"sample: {sample.folder} ({SYNTHETIC_NOTE})")
    config = load_config(None, {
        "release.schema": schema,
        "release.name": "chatsift-demo (synthetic)",
        "filters.blocked_words_file": str(sample.blocked_words),
        "user_id.secret": "chatsift-demo-key",
        "engine.progress": not no_progress,
    })
    result = curate([str(sample.folder)], root / "release", config, overwrite=True)
    c = result.manifest["counts"]
    s = result.manifest["statistics"]
    click.echo(f"curated: {c['input']:,} in = {c['released']:,} released + {sum(c['excluded'].values()):,} excluded "
               f"+ {sum(c['quarantined'].values()):,} quarantined")
    click.echo(f"         {s['models']} models, {s['languages']} languages, mean turns {s['mean_turns']:.2f}")
    pii = ", ".join(f"{k} {v}" for k, v in s.get("pii_replacements", {}).items() if v) or "none"
    click.echo(f"         PII replaced: {pii}")
    click.echo(f"release: {result.out / 'data'}")
    click.echo(f"card:    {result.out / 'README.md'}")
    click.echo(f"inspect: chatsift inspect {result.out}")
