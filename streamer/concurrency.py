"""Adaptive concurrency for uploads: additive increase, multiplicative decrease (AIMD).

Like TCP's congestion window: the number of uploads in flight halves when the server
answers 429, and grows by one after a full window of successes, up to a maximum. The
server's rate limit is not documented, so this finds it instead of guessing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from structlog.typing import FilteringBoundLogger


class AdaptiveLimiter:
    """A capacity limiter whose size follows the server's answers."""

    def __init__(self, start: int, maximum: int, log: FilteringBoundLogger) -> None:
        self._limiter = anyio.CapacityLimiter(start)
        self.maximum = maximum
        self._log = log
        self._successes = 0
        # Bumped at each decrease; a 429 to a request sent before the last decrease says
        # nothing about the new, smaller window, so it must not halve it again.
        self._epoch = 0
        self.lowest = self.highest = start

    @property
    def limit(self) -> int:
        return int(self._limiter.total_tokens)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one of ``limit`` slots; yields the window's epoch for :meth:`throttled`."""
        async with self._limiter:
            yield self._epoch

    def throttled(self, epoch: int) -> None:
        """The server said 429 to a request sent in window ``epoch``."""
        if epoch != self._epoch:
            return
        self._epoch += 1
        self._successes = 0
        self._set(max(1, self.limit // 2), "throttled")

    def succeeded(self) -> None:
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self._successes = 0
            self._set(self.limit + 1, "window_of_successes")

    def _set(self, limit: int, reason: str) -> None:
        if limit == self.limit:
            return
        self._log.info("streamer.concurrency_changed", before=self.limit, after=limit,
                       reason=reason)
        self._limiter.total_tokens = limit
        self.lowest, self.highest = min(self.lowest, limit), max(self.highest, limit)
