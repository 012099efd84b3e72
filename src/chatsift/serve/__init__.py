"""``chatsift serve``: collect conversations with consent, a chat and arena service (LMSYS-Chat-1M's
collection side: FastChat's chat, anonymous battles and named side-by-side) whose store curate reads.

``build_service(settings)`` wires the store, the server's secret, the moderator and one LLM client
per model; ``serve(...)`` runs it with uvicorn (its access log off: it would print client addresses).
"""

from __future__ import annotations

import os
from pathlib import Path

from chatsift.serve.settings import ServeSettings


def secret_path(settings: ServeSettings) -> Path | None:
    if settings.secret_file:
        return Path(settings.secret_file)
    if settings.db.startswith("sqlite://"):
        from chatsift.serve.store import sqlite_path

        db = sqlite_path(settings.db)
        return db.with_name(db.name + ".secret")
    return None


def build_service(settings: ServeSettings, *, store=None, rng=None):
    from chatsift.serve.identity import load_secret
    from chatsift.serve.service import ChatService
    from chatsift.serve.store import open_store

    store = store or open_store(settings.db)
    secret = load_secret(settings.secret_env, secret_path(settings))
    moderator = None
    if settings.moderation:
        from chatsift.moderation.backends import BackendSpec, make_backend

        moderator = make_backend(BackendSpec.parse(settings.moderation))
    return ChatService(settings, store, secret, moderator=moderator, rng=rng)


def serve(settings: ServeSettings, host: str, port: int) -> None:
    import uvicorn

    from chatsift.serve.app import create_app

    service = build_service(settings)
    app = create_app(service, os.environ.get(settings.admin_token_env) or None)
    # proxy_headers off: uvicorn would trust X-Forwarded-For from loopback before chatsift's own
    # trusted_proxies check, so one client could be as many users as it sends headers.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=5,
                proxy_headers=False)
