"""Adaptive concurrency for uploads: additive increase, multiplicative decrease (AIMD).

Like TCP's congestion window: the number of uploads in flight halves when the server
answers 429, and grows by one after a full window of successes, up to a maximum. The
server's rate limit is not documented, so this finds it instead of guessing it.

A window alone keeps probing past a rate limit: every growth step that overshoots costs
429s, and every halving leaves capacity unused. So the first 429 also starts a pace:
uploads then start no faster than the rate the server was accepting just before it
(what it allowed over the last ``PACE_HORIZON_S``, less a margin), and that rate creeps
up by ``PACE_GROWTH`` after each window of successes, down again at the next 429. A
server that never throttles is never paced, and the pace never drops below one upload
per upload latency: slower than that, the window of one already holds uploads back,
and a 429 that comes whatever the rate (a server's hiccup) must not starve the run.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
from structlog.typing import FilteringBoundLogger

from streamer.errors import HTTPStatusError

T = TypeVar("T")

#: Seconds of recent uploads whose rate the pace starts from after a 429.
PACE_HORIZON_S = 2.0
#: The share of that rate the pace keeps: below what the server just refused.
PACE_MARGIN = 0.95
#: How much faster the pace gets after each window of successes.
PACE_GROWTH = 1.02


class AdaptiveLimiter:
    """A capacity limiter whose size follows the server's answers."""

    def __init__(self, start: int, maximum: int, log: FilteringBoundLogger, *,
                 calls: str = "uploads") -> None:
        self._limiter = anyio.CapacityLimiter(start)
        self.maximum = maximum
        self._log = log.bind(calls=calls)  # which calls this limiter paces, in its events
        self._successes = 0
        # Bumped at each decrease; a 429 to a request sent before the last decrease says
        # nothing about the new, smaller window, so it must not halve it again.
        self._epoch = 0
        self.lowest = self.highest = start
        self.pace: float | None = None  # uploads started per second; None: unpaced
        self._next_start = 0.0
        self._accepted: deque[float] = deque()  # when recent accepted uploads started
        self._latency_s = 0.0  # a moving average over accepted uploads

    @property
    def limit(self) -> int:
        return int(self._limiter.total_tokens)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one of ``limit`` slots; yields the window's epoch for :meth:`throttled`."""
        async with self._limiter:
            await self._wait_for_pace()
            yield self._epoch

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` in a slot, its answer counted: a 429 slows what follows."""
        async with self.slot() as window:
            started = time.monotonic()
            try:
                result = await call()
            except HTTPStatusError as error:
                if error.status == 429:
                    self.throttled(window)
                raise
        self.succeeded(started)
        return result

    async def _wait_for_pace(self) -> None:
        if self.pace is None:
            return
        now = time.monotonic()
        # Reserved before sleeping: each waiting upload takes the next free start time.
        start = max(now, self._next_start)
        self._next_start = start + 1.0 / self.pace
        if start > now:
            await anyio.sleep(start - now)

    def _accepted_rate(self) -> float:
        """Uploads per second the server accepted over the last ``PACE_HORIZON_S``."""
        self._forget_old()
        return len(self._accepted) / PACE_HORIZON_S

    def _forget_old(self) -> None:
        horizon = time.monotonic() - PACE_HORIZON_S
        while self._accepted and self._accepted[0] < horizon:
            self._accepted.popleft()

    def throttled(self, epoch: int) -> None:
        """The server said 429 to a request sent in window ``epoch``."""
        if epoch != self._epoch:
            return
        self._epoch += 1
        self._successes = 0
        pace = self._accepted_rate() * PACE_MARGIN
        if self.pace is not None:
            pace = min(self.pace * PACE_MARGIN, pace)
        floor = 1.0 / max(self._latency_s, 1e-3)
        self.pace = max(pace, floor, 1.0 / PACE_HORIZON_S)
        self._log.info("streamer.pace_changed", uploads_per_s=round(self.pace, 3),
                       reason="throttled")
        self._set(max(1, self.limit // 2), "throttled")

    def succeeded(self, started: float) -> None:
        """An upload that started at ``started`` (``time.monotonic()``) was accepted."""
        self._accepted.append(started)
        self._forget_old()
        latency = time.monotonic() - started
        self._latency_s = latency if not self._latency_s else (
            0.8 * self._latency_s + 0.2 * latency)
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            if self.pace is not None:
                self.pace *= PACE_GROWTH
            if self.limit < self.maximum:
                self._set(self.limit + 1, "window_of_successes")

    def _set(self, limit: int, reason: str) -> None:
        if limit == self.limit:
            return
        self._log.info("streamer.concurrency_changed", before=self.limit, after=limit,
                       reason=reason)
        self._limiter.total_tokens = limit
        self.lowest, self.highest = min(self.lowest, limit), max(self.highest, limit)
