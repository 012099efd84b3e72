"""What a run spent: calls, cache hits, tokens and money per endpoint, and the budget that caps it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chatsift.errors import ChatsiftError


class BudgetExceeded(ChatsiftError):
    """The run's budget (calls, tokens or money) is spent; answers so far are cached."""


@dataclass(frozen=True)
class Budget:
    """A hard cap per run; ``None`` is no cap. Checked before every call that would be sent."""

    max_calls: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None

    def check(self, entry: LedgerEntry, next_tokens: int = 0, next_cost: float = 0.0, pending_calls: int = 0,
              pending_tokens: int = 0, pending_cost: float = 0.0) -> None:
        """``pending_*``: what the requests in flight may still cost (their prompt and ``max_tokens``), so
        that concurrent requests cannot overshoot the cap between them."""
        if self.max_calls is not None and entry.calls + pending_calls + 1 > self.max_calls:
            raise BudgetExceeded(f"the budget of {self.max_calls:,} calls is spent")
        if self.max_tokens is not None and entry.tokens + pending_tokens + next_tokens > self.max_tokens:
            raise BudgetExceeded(f"the budget of {self.max_tokens:,} tokens is spent ({entry.tokens:,} used)")
        if self.max_cost_usd is not None and entry.cost_usd + pending_cost + next_cost > self.max_cost_usd:
            raise BudgetExceeded(f"the budget of ${self.max_cost_usd:,.2f} is spent (${entry.cost_usd:,.4f} used)")


@dataclass
class LedgerEntry:
    calls: int = 0  # requests answered by the endpoint (each paid for)
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: LedgerEntry) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Ledger:
    """Per-endpoint entries; ``line()`` for the end of a command, ``write()`` beside its outputs."""

    entries: dict[str, LedgerEntry] = field(default_factory=dict)

    def entry(self, endpoint: str) -> LedgerEntry:
        return self.entries.setdefault(endpoint, LedgerEntry())

    def total(self) -> LedgerEntry:
        total = LedgerEntry()
        for e in self.entries.values():
            total.add(e)
        return total

    def line(self) -> str:
        t = self.total()
        return (f"LLM: {t.calls:,} calls, {t.cache_hits:,} cache hits, {t.retries:,} retries, {t.failures:,} failed; "
                f"{t.prompt_tokens:,} prompt + {t.completion_tokens:,} completion tokens; ${t.cost_usd:,.4f}")

    @classmethod
    def from_dict(cls, data: dict) -> Ledger:
        return cls({name: LedgerEntry(**entry) for name, entry in data.get("endpoints", {}).items()})

    def merge(self, other: Ledger) -> None:
        for name, entry in other.entries.items():
            self.entry(name).add(entry)

    def to_dict(self) -> dict:
        return {"endpoints": {k: asdict(v) for k, v in self.entries.items()}, "total": asdict(self.total())}

    def write(self, path: str | os.PathLike) -> Path:
        """Add this run's figures to the ledger file at ``path`` (a rerun appends a new run)."""
        path = Path(path)
        runs = []
        if path.exists():
            try:
                runs = json.loads(path.read_text(encoding="utf-8")).get("runs", [])
            except (ValueError, AttributeError):
                runs = []
        runs.append(self.to_dict())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({"runs": runs}, indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return path
