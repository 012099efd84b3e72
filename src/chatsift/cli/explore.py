"""``chatsift explore``: serve a local web app to search and read a release."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("explore")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True)
@click.option("--rebuild-index", is_flag=True, help="Rebuild the search index even if it looks current.")
def explore_command(release: str, host: str, port: int, rebuild_index: bool) -> None:
    """Search, filter and read the conversations of RELEASE in a browser (http://HOST:PORT/).

    With a topic map (chatsift topics), /map draws its prompts coloured by topic: zoom, pan, hover
    for the prompt, click to open it, and the search filters highlight what they match.

    The first start builds a SQLite full-text index in RELEASE/.explore/ (minutes for a million
    conversations); later starts reuse it while the release and its topics are unchanged.
    """
    import socket

    from chatsift.errors import ConfigError
    from chatsift.explore.app import serve

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None
    click.echo(f"serving {release} at http://{host}:{port}/ (Ctrl-C to stop)")
    serve(Path(release), host, port, rebuild=rebuild_index)
