"""The ``release`` section of the configuration (what a release holds and how it is written) and its
check; ``config.py`` only assembles it."""

from __future__ import annotations

from dataclasses import dataclass

from chatsift.errors import ConfigError

MiB = 1024 * 1024
SCHEMAS = ("lmsys", "full")


@dataclass(frozen=True)
class ReleaseConfig:
    schema: str = "lmsys"  # "lmsys": exactly the LMSYS-Chat-1M features; "full": + annotations
    keep_private: bool = False  # keep user_id and tstamp (never in a public release)
    shard_max_bytes: int = 256 * MiB
    compression: str = "zstd"
    name: str = "chatsift-release"


def validate_release(config: ReleaseConfig) -> None:
    if config.schema not in SCHEMAS:
        raise ConfigError(f"release.schema: expected 'lmsys' or 'full', got {config.schema!r}")
