"""``chatsift serve``: collect conversations with consent, a chat and arena service (LMSYS-Chat-1M's
collection side: FastChat's chat, anonymous battles and named side-by-side) whose store curate reads.

``build_service(settings)`` wires the store, the server's secret, the moderator and one LLM client
per model; ``serve(...)`` runs it with uvicorn (its access log off: it would print client addresses), in
one process or several: sessions, rate limits and consent live in the store, so any number of
processes, on one host or several (with one ``CHATSIFT_SERVE_SECRET``), serve one store.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from chatsift.serve.settings import ServeSettings


def secret_path(settings: ServeSettings) -> Path | None:
    if settings.secret_file:
        return Path(settings.secret_file)
    if settings.db.startswith("sqlite://"):
        from chatsift.chatstore.store import sqlite_path

        db = sqlite_path(settings.db)
        return db.with_name(db.name + ".secret")
    return None


def build_service(settings: ServeSettings, *, store=None, rng=None):
    from chatsift.chatstore.store import open_store
    from chatsift.serve.identity import load_secret
    from chatsift.serve.service import ChatService

    store = store or open_store(settings.db)
    secret = load_secret(settings.secret_env, secret_path(settings))
    moderator = None
    if settings.moderation:
        from chatsift.moderation.backends import BackendSpec, make_backend

        moderator = make_backend(BackendSpec.parse(settings.moderation))
    return ChatService(settings, store, secret, moderator=moderator, rng=rng)


SETTINGS_ENV = "CHATSIFT_SERVE_SETTINGS"  # the settings, as JSON, for each worker process


def serve(settings: ServeSettings, host: str, port: int, workers: int = 1) -> None:
    """Run the service; with ``workers`` > 1, that many processes on one port (uvicorn's supervisor),
    sharing sessions, limits and consent through the store."""
    import uvicorn

    # proxy_headers off: uvicorn would trust X-Forwarded-For from loopback before chatsift's own
    # trusted_proxies check, so one client could be as many users as it sends headers.
    options = {"host": host, "port": port, "access_log": False, "log_level": "warning",
               "timeout_graceful_shutdown": 5, "proxy_headers": False}
    if workers > 1:
        from chatsift.serve.identity import load_secret

        load_secret(settings.secret_env, secret_path(settings))  # made once here, not raced by the workers
        os.environ[SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings))
        uvicorn.run("chatsift.serve:worker_app", factory=True, workers=workers, **options)
        return
    from chatsift.serve.app import create_app

    service = build_service(settings)
    uvicorn.run(create_app(service, os.environ.get(settings.admin_token_env) or None), **options)


def worker_app():
    """One worker's app (``serve(..., workers=N)``): the settings come from the supervisor's environment."""
    from chatsift.serve.app import create_app
    from chatsift.serve.settings import settings_from_dict

    settings = settings_from_dict(json.loads(os.environ[SETTINGS_ENV]))
    return create_app(build_service(settings), os.environ.get(settings.admin_token_env) or None)
