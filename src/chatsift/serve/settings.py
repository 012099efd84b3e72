"""``serve.yaml``: the chat service's models, limits, terms, identity and store.

Defaults are FastChat's (``fastchat/constants.py``): 12,000 input characters, 50 turns, sessions that
expire after an hour idle. A model is an endpoint spec the LLM client understands (``http://HOST/v1:MODEL``,
``vllm:MODEL``, ``openai:MODEL``, a configured name) with its sampling parameters and arena weight::

    db: sqlite:///chat.db
    models:
      - {name: vicuna-13b, endpoint: "http://127.0.0.1:8000/v1:vicuna-13b", temperature: 0.7, max_tokens: 1024}
      - {name: llama-2-13b-chat, endpoint: "vllm:meta-llama/Llama-2-13b-chat-hf", weight: 2}
    arena: {battle_targets: {vicuna-13b: [llama-2-13b-chat]}, target_boost: 2.0}
    trusted_proxies: [127.0.0.1/32]
    limits: {rate_per_minute: 20}
    moderation: local          # block flagged input, as FastChat's --moderate (default: off)
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from chatsift.errors import ConfigError

TERMS_VERSION = "2024-01"
TERMS_TEXT = """\
By using this service you agree to these terms.

- The service is a research preview. It may produce offensive, wrong or harmful output. Do not use it for
  anything that matters.
- Do not enter personal or private information (names, addresses, phone numbers, account details).
- Your conversations and votes are recorded and may be released as a research dataset, after personal
  information is removed. Your network address is never stored: it is replaced by a keyed hash.
- You may withdraw at any time on this page; what you sent before withdrawing is then left out of every
  later export.
"""


@dataclass(frozen=True)
class ModelSettings:
    name: str
    endpoint: str
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    weight: float = 1.0  # arena sampling weight (0: never drawn for battles)
    system_prompt: str | None = None


@dataclass(frozen=True)
class Limits:
    input_chars: int = 12_000
    max_turns: int = 50
    session_expiry_s: float = 3600.0
    rate_per_minute: int = 30  # messages a user may send per minute
    max_sessions: int = 100_000  # live sessions kept in the store; the idlest are dropped past this
    max_sessions_per_user: int = 20  # one address's own oldest session goes past this (tabs, cookie-less bots)


@dataclass(frozen=True)
class ArenaSettings:
    battle_targets: dict[str, list[str]] = field(default_factory=dict)
    target_boost: float = 1.0
    outage: list[str] = field(default_factory=list)  # models not drawn until they come back


@dataclass(frozen=True)
class ServeSettings:
    models: list[ModelSettings]
    db: str = "sqlite:///chat.db"
    secret_env: str = "CHATSIFT_SERVE_SECRET"
    secret_file: str | None = None  # default: beside a SQLite store
    admin_token_env: str = "CHATSIFT_ADMIN_TOKEN"
    trusted_proxies: list[str] = field(default_factory=list)
    terms_version: str = TERMS_VERSION
    terms_text: str = TERMS_TEXT
    limits: Limits = field(default_factory=Limits)
    arena: ArenaSettings = field(default_factory=ArenaSettings)
    moderation: str | None = None
    upstream_timeout_s: float = 60.0
    upstream_concurrency: int = 64
    leaderboard_rounds: int = 200
    title: str = "chatsift chat"
    # Mark cookies Secure (sent over HTTPS only): set it when the site is served behind an HTTPS proxy.
    secure_cookies: bool = False

    def model(self, name: str) -> ModelSettings | None:
        return next((m for m in self.models if m.name == name), None)

    def proxy_networks(self) -> list:
        return [ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies]


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]}; known: {', '.join(sorted(known))}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def settings_from_dict(data: dict) -> ServeSettings:
    data = dict(data or {})
    models = data.pop("models", None)
    if not models or not isinstance(models, list):
        raise ConfigError("serve config: list at least one model under models (name and endpoint)")
    parsed = [_build(ModelSettings, m, f"models[{i}]") for i, m in enumerate(models)]
    names = [m.name for m in parsed]
    if len(set(names)) != len(names):
        raise ConfigError(f"serve config: model names must be unique ({', '.join(names)})")
    if "limits" in data:
        data["limits"] = _build(Limits, data["limits"], "limits")
    if "arena" in data:
        data["arena"] = _build(ArenaSettings, data["arena"], "arena")
    if "terms_file" in data:
        data["terms_text"] = Path(data.pop("terms_file")).read_text(encoding="utf-8")
    settings = _build(ServeSettings, {**data, "models": parsed}, "serve config")
    for target, rivals in settings.arena.battle_targets.items():
        for name in [target, *rivals]:
            if settings.model(name) is None:
                raise ConfigError(f"arena.battle_targets names {name!r}, which is not among the models")
    try:
        settings.proxy_networks()
    except ValueError as exc:
        raise ConfigError(f"trusted_proxies: {exc}") from None
    if settings.limits.input_chars < 1 or settings.limits.max_turns < 1:
        raise ConfigError("limits.input_chars and limits.max_turns must be at least 1")
    return settings


def load_settings(path: str | os.PathLike | None, **overrides) -> ServeSettings:
    data = {}
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    return settings_from_dict(data)
