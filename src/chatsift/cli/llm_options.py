"""Options every LLM command shares: config file, overrides, cache, budget; and the ledger at the end."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from chatsift.config import load_config
from chatsift.llm import Ledger


def llm_options(command):
    @click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
                  help="YAML config; its llm section names endpoints (llm.endpoints.NAME).")
    @click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                  help="Any config value, e.g. llm.max_calls=100.")
    @click.option("--cache-dir", type=click.Path(file_okay=False),
                  help="LLM response cache (default ~/.cache/chatsift/llm).")
    @click.option("--max-calls", type=int, help="Stop cleanly after this many paid calls.")
    @click.option("--max-cost", type=float, help="Stop cleanly before spending more than this many US dollars.")
    @functools.wraps(command)
    def wrapper(*args, config_path, sets, cache_dir, max_calls, max_cost, **kwargs):
        from chatsift.cli.curate import parse_sets

        overrides: dict[str, object] = dict(parse_sets(sets))
        for key, value in (("llm.cache_dir", cache_dir), ("llm.max_calls", max_calls), ("llm.max_cost_usd", max_cost)):
            if value is not None:
                overrides[key] = value
        config = load_config(config_path, overrides)
        return command(*args, llm=config.llm, **kwargs)

    return wrapper


def finish_ledger(ledger: Ledger, folder: str | Path | None) -> None:
    """Print the ledger line and keep the ledger beside the outputs."""
    if not ledger.entries:
        return
    click.echo(ledger.line(), err=True)
    if folder is not None:
        path = ledger.write(Path(folder) / "llm-ledger.json")
        click.echo(f"ledger:  {path}", err=True)

