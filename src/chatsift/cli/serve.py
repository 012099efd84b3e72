"""``chatsift serve`` and ``chatsift export``: the chat and arena service, and its store as FastChat logs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("serve")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, exists=True),
              help="serve.yaml: models, limits, terms, trusted proxies, moderation (see the README).")
@click.option("--db", help="Store URL: sqlite:///chat.db (default) or postgresql://user@host/db.")
@click.option("--upstream", "upstreams", multiple=True, metavar="[NAME=]SPEC",
              help="A model to serve, e.g. gpt-4o=openai:gpt-4o or http://127.0.0.1:8000/v1:MODEL (repeatable; "
                   "replaces the config's models). With neither this nor a config, the bundled SmolLM2 runs "
                   "locally as two arena models.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Serving processes on the port. Sessions live in the store, so any process answers any "
                   "request; several hosts may serve one PostgreSQL store the same way (one secret for all).")
def serve_command(config_path, db, upstreams, host, port, workers) -> None:
    """Serve chat, anonymous arena battles and named side-by-side at http://HOST:PORT/.

    Users accept the versioned terms before their first message; conversations, votes and consents
    go to the store, keyed by an HMAC of the client address (CHATSIFT_SERVE_SECRET, or a key file
    beside a SQLite store); the address itself is never stored or logged. The admin page (/admin)
    needs CHATSIFT_ADMIN_TOKEN. Curate the store with `chatsift curate sqlite:///chat.db -o release/`.
    """
    import socket
    import tempfile

    from chatsift.chatstore.store import store_label
    from chatsift.errors import ConfigError
    from chatsift.serve import serve
    from chatsift.serve.settings import load_settings

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn will: a restart may follow a crash
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None
    overrides: dict = {"db": db}
    local = None
    if upstreams:
        overrides["models"] = [_model(spec) for spec in upstreams]
    elif not config_path:
        from chatsift.serve.local_model import start_local_model

        log = Path(tempfile.gettempdir()) / "chatsift-local-model.log"
        click.echo("starting the local model (SmolLM2-135M on llama.cpp) ...")
        url, local = start_local_model(log)
        overrides["models"] = [
            {"name": "smollm2-focused", "endpoint": f"{url}:smollm2", "temperature": 0.2, "max_tokens": 256},
            {"name": "smollm2-creative", "endpoint": f"{url}:smollm2", "temperature": 1.0, "max_tokens": 256}]
    settings = load_settings(config_path, **overrides)
    click.echo(f"serving {len(settings.models)} model(s) at http://{host}:{port}/ with the store "
               f"{store_label(settings.db)}"
               f"{f' in {workers} processes' if workers > 1 else ''} (Ctrl-C to stop)")
    try:
        serve(settings, host, port, workers)
    finally:
        if local is not None:
            local.terminate()


def _model(spec: str) -> dict:
    name, sep, endpoint = spec.partition("=")
    if not sep or "://" in name:
        endpoint = spec
        name = spec.rsplit(":", 1)[-1].rsplit("#", 1)[-1]
    return {"name": name.strip(), "endpoint": endpoint.strip()}


@click.command("export")
@click.argument("store")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Folder for *-conv.json files.")
@click.option("--since", help="Only records at or after this time (ISO date/time or Unix seconds).")
def export_command(store, out, since) -> None:
    """Write the chat store STORE (sqlite:///chat.db or postgresql://...) as FastChat logs in OUT.

    One YYYY-MM-DD-conv.json per day (UTC): `chat` snapshots and vote records as FastChat's web
    server logged them, with the user's HMAC id in `ip`. What a user stored before withdrawing consent is
    left out.
    """
    from chatsift.chatstore.logs import export_logs, parse_since

    files, counts = export_logs(store, Path(out), parse_since(since))
    click.echo(f"exported {counts['chat']:,} chat snapshots and {counts['votes']:,} votes to {len(files)} file(s) "
               f"in {out}")
