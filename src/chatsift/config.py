"""Typed configuration for ``chatsift curate``: one YAML file, flags, and dotted overrides.

Every section is a frozen dataclass. ``load_config`` merges, in order, the defaults, a YAML file and
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
from chatsift.llm.settings import LLMConfig, validate_llm
from chatsift.moderation.settings import ModerationConfig, validate_moderation
from chatsift.privacy.settings import PiiConfig, validate_pii

MiB = 1024 * 1024


@dataclass(frozen=True)
class ReadConfig:
    """How inputs are read."""

    format: str = "auto"  # a reader name, or "auto" to detect per file
    max_message_chars: int = 1_000_000  # longer messages send the record to quarantine
    max_record_bytes: int = 64 * MiB  # longer raw lines/records go to quarantine
    fastchat_date_suffix: bool = False  # later FastChat code: gpt-4 -> gpt-4-0613 / -0314 by tstamp
    # Benchmark question files (question.jsonl) without answers: "quarantine" them (a question is not a
    # conversation), or read each as a one-prompt conversation ("prompts": the first turn only, since later
    # MT-bench turns refer to an answer), e.g. to score or cluster benchmark prompts.
    benchmark_questions: str = "quarantine"
    # A chat store input (sqlite:///chat.db, postgresql://...): only records at or after this time
    # (ISO date/time or Unix seconds), for incremental releases.
    since: str | None = None
    # Where fields live in records of an unusual shape: "TARGET=dotted.path" items (id, model, user,
    # timestamp, language, system, messages); see io/field_map.py. --map on the command line.
    map: tuple[str, ...] = ()
    # The model named on records that name none (ShareGPT dumps, some exports): LMSYS-Chat-1M has a model
    # on every row. None leaves them null, and the card counts them.
    default_model: str | None = None


@dataclass(frozen=True)
class NormalizeConfig:
    unicode_form: str = "NFC"
    merge_consecutive: bool = True  # join consecutive same-role messages so roles alternate


@dataclass(frozen=True)
class LanguageConfig:
    enabled: bool = True
    overwrite: bool = False  # replace a language the source already carries
    # Below it, pycld2 is asked; without a reliable answer, lid.176's best guess stands (chosen on dev data,
    # BENCHMARKS.md "Language ID on short prompts").
    min_confidence: float = 0.5
    max_chars: int = 2000  # only the start of the first user message is used


@dataclass(frozen=True)
class FilterConfig:
    """The paper's filters (Step 1 and Step 3) plus length bounds; each adds a reason, select removes."""

    bad_format: bool = True
    network_error: bool = True
    anonymized: bool = True
    redacted_marker: bool = True
    blocked_words_file: str | None = None
    min_user_chars: int | None = None
    max_user_chars: int | None = None
    min_turns: int | None = None
    max_turns: int | None = None


@dataclass(frozen=True)
class SnapshotConfig:
    enabled: bool = True  # keep the latest record per conversation_id, as the paper did
    # Where a conversation_id means "the same conversation": "auto" (FastChat logs across all files, as
    # their conv_id does; every other format within its own file), "global" (across all inputs) or "source".
    scope: str = "auto"


@dataclass(frozen=True)
class NearDuplicateConfig:
    enabled: bool = True
    num_perm: int = 112
    bands: int = 14  # 14 bands x 8 rows: pairs above ~0.72 Jaccard collide in at least one band
    shingle: int = 3  # word (or CJK character) n-grams
    max_tokens: int = 2000
    seed: int = 42


@dataclass(frozen=True)
class TemplateConfig:
    enabled: bool = True
    prefix_tokens: int = 5
    suffix_tokens: int = 5
    min_size: int = 10  # distinct prompts sharing a frame before it counts as a template


@dataclass(frozen=True)
class DuplicatesConfig:
    exact: bool = True
    near: NearDuplicateConfig = field(default_factory=NearDuplicateConfig)
    template: TemplateConfig = field(default_factory=TemplateConfig)


@dataclass(frozen=True)
class UserIdConfig:
    secret: str | None = None  # or the CHATSIFT_USER_ID_SECRET environment variable
    secret_env: str = "CHATSIFT_USER_ID_SECRET"


DEFAULT_EXCLUDE_REASONS = (
    "bad_format",
    "network_error",
    "anonymized",
    "redacted_marker",
    "blocked_word",
    "too_short",
    "too_long",
    "too_few_turns",
    "too_many_turns",
    "source_deleted",
    "pii_timeout",
)


@dataclass(frozen=True)
class SelectConfig:
    """What is removed; every removal is written to exclusions.parquet with its reason."""

    exclude_reasons: tuple[str, ...] = DEFAULT_EXCLUDE_REASONS
    exact: str = "keep_all"  # or "one_per_group"
    near_max_per_cluster: int | None = None


@dataclass(frozen=True)
class SampleConfig:
    n: int | None = None  # seeded shuffle and take n (the paper: 1,000,000 with seed 42)
    seed: int = 42


@dataclass(frozen=True)
class SafetyConfig:
    """The jailbreak-prompt annotation (``safety.jailbreak_score``)."""

    jailbreak: bool = True
    detector: str | None = None  # a folder from `chatsift safety detector-train` (None: the bundled one)


@dataclass(frozen=True)
class ReleaseConfig:
    schema: str = "lmsys"  # "lmsys": exactly the LMSYS-Chat-1M features; "full": + annotations
    keep_private: bool = False  # keep user_id and tstamp (never in a public release)
    shard_max_bytes: int = 256 * MiB
    compression: str = "zstd"
    name: str = "chatsift-release"


@dataclass(frozen=True)
class EngineConfig:
    executor: str = "local"  # or "ray"
    work_dir: str | None = None  # intermediates and staging; on a multi-node Ray cluster: shared storage
    ray_address: str | None = None  # None: start a local Ray instance; "auto" or "ray://host:port" to join one
    workers: int = 0  # 0: one per CPU core
    chunk_bytes: int = 48 * MiB  # plain-text inputs are split into units of about this size
    batch_size: int = 2000
    keep_work: bool = False
    progress: bool = True


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


def validate(config: CurateConfig) -> None:
    """Check values that types alone do not catch; raise ``ConfigError`` naming the key. (``read.map`` is
    checked by the planner, against the records it samples.)"""
    if config.release.schema not in {"lmsys", "full"}:
        raise ConfigError(f"release.schema: expected 'lmsys' or 'full', got {config.release.schema!r}")
    if config.select.exact not in {"keep_all", "one_per_group"}:
        raise ConfigError(f"select.exact: expected 'keep_all' or 'one_per_group', got {config.select.exact!r}")
    cap = config.select.near_max_per_cluster
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        raise ConfigError(f"select.near_max_per_cluster: expected a positive integer, got {cap!r}")
    n = config.sample.n
    if n is not None and (not isinstance(n, int) or n < 0):
        raise ConfigError(f"sample.n: expected a non-negative integer, got {n!r}")
    near = config.duplicates.near
    if near.num_perm % near.bands:
        raise ConfigError(
            f"duplicates.near.bands: {near.bands} must divide duplicates.near.num_perm ({near.num_perm})"
        )
    if config.normalize.unicode_form not in {"NFC", "NFKC", "NFD", "NFKD", "none"}:
        raise ConfigError(f"normalize.unicode_form: expected NFC, NFKC, NFD, NFKD or none, got "
                          f"{config.normalize.unicode_form!r}")
    if config.snapshot.scope not in {"auto", "global", "source"}:
        raise ConfigError(f"snapshot.scope: expected auto, global or source, got {config.snapshot.scope!r}")
    if config.read.benchmark_questions not in {"quarantine", "prompts"}:
        raise ConfigError(f"read.benchmark_questions: expected quarantine or prompts, got "
                          f"{config.read.benchmark_questions!r}")
    validate_moderation(config.moderation)
    validate_llm(config.llm)
    validate_pii(config.pii)
    if config.filters.blocked_words_file and not Path(config.filters.blocked_words_file).is_file():
        raise ConfigError(f"filters.blocked_words_file: file not found: {config.filters.blocked_words_file}")
    if config.engine.executor not in {"local", "ray"}:
        raise ConfigError(f"engine.executor: expected 'local' or 'ray', got {config.engine.executor!r}")
    if config.engine.workers < 0:
        raise ConfigError(f"engine.workers: expected 0 (auto) or a positive number, got {config.engine.workers}")
    if config.engine.chunk_bytes < 1024 or config.engine.batch_size < 1:
        raise ConfigError("engine.chunk_bytes must be at least 1024 and engine.batch_size at least 1")
