"""Client-side rate limits: requests and tokens per minute, as two token buckets shared by all tasks."""

from __future__ import annotations

import asyncio
import time


class _Bucket:
    def __init__(self, per_minute: float, burst_s: float = 60.0) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_s)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0 when it is, and then it is taken)."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        amount = min(amount, self.capacity)  # one request larger than a minute's worth still goes, alone
        if self.level >= amount:
            self.level -= amount
            return 0.0
        return (amount - self.level) / self.rate


class RateLimiter:
    """``await acquire(tokens)`` before each request; waits as long as either limit needs."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        # Requests burst for at most a second (so 600 rpm is 10 a second, not 600 at once); tokens for a minute.
        self._requests = _Bucket(rpm, burst_s=1.0) if rpm else None
        self._tokens = _Bucket(tpm) if tpm else None
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int = 0) -> None:
        async with self._lock:
            for bucket, amount in ((self._requests, 1), (self._tokens, tokens)):
                if bucket is None:
                    continue
                while (delay := bucket.wait_for(amount)) > 0:
                    await asyncio.sleep(delay)
