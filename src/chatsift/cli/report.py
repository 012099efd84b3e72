"""``chatsift report``: a self-contained HTML report of a release."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", default="report.html", show_default=True, type=click.Path(dir_okay=False))
@click.option("--tokenizer", default="approx", show_default=True, help="approx, minilm or hf:NAME.")
@click.option("--no-topics", is_flag=True, help="Leave out the topic map (otherwise built if missing).")
@click.option("--explorer-url", default="http://127.0.0.1:8765", show_default=True,
              help="Where `chatsift explore` serves this release; the report links conversations there ('' for none).")
@click.option("--leaderboard", type=click.Path(exists=True, dir_okay=False),
              help="A `chatsift leaderboard --out` JSON to show (default: RELEASE/leaderboard.json if present).")
def report_command(release: str, out: str, tokenizer: str, no_topics: bool, explorer_url: str,
                   leaderboard: str | None) -> None:
    """Write one HTML file (no network needed to open it) with the paper's tables and figures for RELEASE."""
    from chatsift.analysis.report.render import build_report

    path = build_report(release, out, tokenizer=tokenizer, topics=not no_topics, explorer_url=explorer_url or None,
                        leaderboard=leaderboard)
    click.echo(f"report: {path}")
