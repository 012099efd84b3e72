"""Typed configuration for ``chatsift curate``: one YAML file, flags, and dotted overrides.

Every section is a frozen dataclass, defined and checked by the package that reads it (``io``,
``stages``, ``privacy``, ``moderation``, ``llm``, ``release``, ``executors``: their ``settings``
modules); this module assembles them. ``load_config`` merges, in order, the defaults, a YAML file and
``key.sub=value`` overrides, then validates; a wrong key or value raises ``ConfigError`` naming it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from chatsift.errors import ConfigError
from chatsift.executors.settings import EngineConfig, validate_engine
from chatsift.io.settings import ReadConfig, validate_read
from chatsift.llm.settings import LLMConfig, validate_llm
from chatsift.moderation.settings import ModerationConfig, validate_moderation
from chatsift.privacy.settings import PiiConfig, validate_pii
from chatsift.release.settings import ReleaseConfig, validate_release
from chatsift.stages import settings as stage_sections
from chatsift.stages.settings import (
    DuplicatesConfig,
    FilterConfig,
    LanguageConfig,
    NormalizeConfig,
    SafetyConfig,
    SampleConfig,
    SelectConfig,
    SnapshotConfig,
    UserIdConfig,
)


@dataclass(frozen=True)
class CurateConfig:
    read: ReadConfig = field(default_factory=ReadConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    snapshot: SnapshotConfig = field(default_factory=SnapshotConfig)
    duplicates: DuplicatesConfig = field(default_factory=DuplicatesConfig)
    user_id: UserIdConfig = field(default_factory=UserIdConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    pii: PiiConfig = field(default_factory=PiiConfig)
    moderation: ModerationConfig = field(default_factory=ModerationConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    release: ReleaseConfig = field(default_factory=ReleaseConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)

    def to_dict(self, redact_secrets: bool = True) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if redact_secrets and data["user_id"]["secret"]:
            data["user_id"]["secret"] = "***"
        if redact_secrets:
            data = _without_url_credentials(data)
        return data


_URL_CREDENTIALS = re.compile(r"(?P<scheme>https?://)[^/@\s]+@")


def _without_url_credentials(value: Any) -> Any:
    """Every ``scheme://user:secret@host`` in the config (an endpoint spec) as ``scheme://***@host``."""
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(r"\g<scheme>***@", value)
    if isinstance(value, dict):
        return {k: _without_url_credentials(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_url_credentials(v) for v in value]
    return value


def _coerce(value: Any, target: Any, key: str) -> Any:
    """Turn a YAML or command-line value into the type of the default ``target``."""
    if isinstance(target, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "yes", "1", "on", "false", "no", "0", "off"}:
            return value.lower() in {"true", "yes", "1", "on"}
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if isinstance(target, int) and not isinstance(target, bool):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if isinstance(target, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(target, tuple):
        if isinstance(value, dict):  # read.map as a YAML mapping: {model: metadata.model}
            value = [f"{k}={v}" for k, v in value.items()]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(str(v) for v in value)
    if value is None or isinstance(value, (str, int, float)):
        if isinstance(value, str) and value.lower() in {"null", "none", "~"}:
            return None
        return value
    raise ConfigError(f"{key}: unexpected value {value!r}")


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {data!r}")
    defaults = cls()
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown config key {prefix}{unknown[0]}; known keys here: {', '.join(sorted(known))}")
    kwargs = {}
    for name, value in data.items():
        current = getattr(defaults, name)
        key = prefix + name
        if dataclasses.is_dataclass(current):
            kwargs[name] = _build(type(current), value, key + ".")
        elif isinstance(current, dict):  # free-form mappings (llm.endpoints), checked by their owner
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a mapping, got {value!r}")
            kwargs[name] = value
        elif current is None:
            # Optional fields: keep numbers numeric when given as text on the command line.
            if isinstance(value, str) and value.lower() in {"null", "none", "~"}:
                value = None
            elif isinstance(value, str) and value.lstrip("-").isdigit():
                value = int(value)
            elif isinstance(value, str) and value.lstrip("-").replace(".", "", 1).isdigit():
                value = float(value)
            kwargs[name] = value
        else:
            kwargs[name] = _coerce(value, current, key)
    return cls(**kwargs)


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {part} is not a section")
    node[parts[-1]] = value


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None) -> CurateConfig:
    """Defaults, then the YAML file at ``path``, then dotted ``overrides`` such as ``{"sample.n": 100}``."""
    tree: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping of sections")
        tree = loaded
    for dotted, value in (overrides or {}).items():
        patch: dict[str, Any] = {}
        _set_dotted(patch, dotted, value)
        tree = _deep_merge(tree, patch)
    config = _build(CurateConfig, tree, "")
    validate(config)
    return config


# Each section's check lives with the package that reads the section; in the order they run.
VALIDATORS = {"release": validate_release, "select": stage_sections.validate_select,
              "sample": stage_sections.validate_sample, "duplicates": stage_sections.validate_duplicates,
              "normalize": stage_sections.validate_normalize, "snapshot": stage_sections.validate_snapshot,
              "read": validate_read, "moderation": validate_moderation, "llm": validate_llm, "pii": validate_pii,
              "filters": stage_sections.validate_filters, "engine": validate_engine}


def validate(config: CurateConfig) -> None:
    """Check values that types alone do not catch; raise ``ConfigError`` naming the key. (``read.map`` is
    checked by the planner, against the records it samples.)"""
    for name, check in VALIDATORS.items():
        check(getattr(config, name))
