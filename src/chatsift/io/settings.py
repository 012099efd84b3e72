"""The ``read`` section of the configuration (how inputs are read) and its check; ``config.py`` only
assembles it."""

from __future__ import annotations

from dataclasses import dataclass

from chatsift.errors import ConfigError

MiB = 1024 * 1024
BENCHMARK_QUESTIONS = ("quarantine", "prompts")


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


def validate_read(config: ReadConfig) -> None:
    """(``read.map`` is checked by the planner, against the records it samples.)"""
    if config.benchmark_questions not in BENCHMARK_QUESTIONS:
        raise ConfigError(f"read.benchmark_questions: expected quarantine or prompts, got "
                          f"{config.benchmark_questions!r}")
