"""The ``engine`` section of the configuration (which executor runs a curate, with how many workers,
over what units) and its check; ``config.py`` only assembles it."""

from __future__ import annotations

from dataclasses import dataclass

from chatsift.errors import ConfigError

MiB = 1024 * 1024
EXECUTORS = ("local", "ray")


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


def validate_engine(config: EngineConfig) -> None:
    if config.executor not in EXECUTORS:
        raise ConfigError(f"engine.executor: expected 'local' or 'ray', got {config.executor!r}")
    if config.workers < 0:
        raise ConfigError(f"engine.workers: expected 0 (auto) or a positive number, got {config.workers}")
    if config.chunk_bytes < 1024 or config.batch_size < 1:
        raise ConfigError("engine.chunk_bytes must be at least 1024 and engine.batch_size at least 1")
