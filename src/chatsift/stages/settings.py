"""The sections of the configuration that the curation stages read (normalize, language, filters,
snapshot, duplicates, user_id, select, sample, safety), and their checks; ``config.py`` only assembles
them. ``SECTIONS`` maps a section to its check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chatsift.errors import ConfigError

UNICODE_FORMS = ("NFC", "NFKC", "NFD", "NFKD", "none")
SNAPSHOT_SCOPES = ("auto", "global", "source")
EXACT_POLICIES = ("keep_all", "one_per_group")


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


def validate_normalize(config: NormalizeConfig) -> None:
    if config.unicode_form not in UNICODE_FORMS:
        raise ConfigError(f"normalize.unicode_form: expected NFC, NFKC, NFD, NFKD or none, got "
                          f"{config.unicode_form!r}")


def validate_filters(config: FilterConfig) -> None:
    if config.blocked_words_file and not Path(config.blocked_words_file).is_file():
        raise ConfigError(f"filters.blocked_words_file: file not found: {config.blocked_words_file}")


def validate_snapshot(config: SnapshotConfig) -> None:
    if config.scope not in SNAPSHOT_SCOPES:
        raise ConfigError(f"snapshot.scope: expected auto, global or source, got {config.scope!r}")


def validate_duplicates(config: DuplicatesConfig) -> None:
    if config.near.num_perm % config.near.bands:
        raise ConfigError(f"duplicates.near.bands: {config.near.bands} must divide duplicates.near.num_perm "
                          f"({config.near.num_perm})")


def validate_select(config: SelectConfig) -> None:
    if config.exact not in EXACT_POLICIES:
        raise ConfigError(f"select.exact: expected 'keep_all' or 'one_per_group', got {config.exact!r}")
    cap = config.near_max_per_cluster
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        raise ConfigError(f"select.near_max_per_cluster: expected a positive integer, got {cap!r}")


def validate_sample(config: SampleConfig) -> None:
    n = config.n
    if n is not None and (not isinstance(n, int) or n < 0):
        raise ConfigError(f"sample.n: expected a non-negative integer, got {n!r}")


SECTIONS = {"normalize": validate_normalize, "filters": validate_filters, "snapshot": validate_snapshot,
            "duplicates": validate_duplicates, "select": validate_select, "sample": validate_sample}
