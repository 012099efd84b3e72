"""The ``chatsift`` command: one click group, one module per subcommand."""

from __future__ import annotations

import logging
import sys

import click

from chatsift import __version__
from chatsift.errors import ChatsiftError


class _Group(click.Group):
    """Turns chatsift's own errors into one clear line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except ChatsiftError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="chatsift")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Turn real-world LLM chat logs into curated, privacy-safe datasets in the LMSYS-Chat-1M schema."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("chatsift").setLevel(min(level, logging.INFO))


def _register() -> None:
    from chatsift.cli import (
        bench,
        curate,
        demo,
        explore,
        formats,
        hard,
        inspect,
        leaderboard,
        moderation,
        pii,
        pii_audit,
        report,
        safety,
        serve,
        sft,
        stats,
        topics,
    )

    cli.add_command(curate.curate_command)
    cli.add_command(stats.stats_command)
    cli.add_command(topics.topics_command)
    cli.add_command(report.report_command)
    cli.add_command(explore.explore_command)
    cli.add_command(serve.serve_command)
    cli.add_command(serve.export_command)
    cli.add_command(moderation.moderate_command)
    cli.add_command(moderation.moderator_group)
    cli.add_command(hard.hard_group)
    cli.add_command(bench.bench_group)
    cli.add_command(safety.safety_group)
    cli.add_command(sft.sft_group)
    cli.add_command(leaderboard.leaderboard_command)
    cli.add_command(pii_audit.pii_audit_command)
    cli.add_command(pii.pii_group)
    cli.add_command(inspect.inspect_command)
    cli.add_command(formats.formats_command)
    cli.add_command(demo.demo_command)


_register()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
