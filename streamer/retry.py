"""The retry policy in one place: which failures are retried, and how long to wait."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from streamer.errors import HTTPStatusError, RemoteError, TransportError
from streamer.settings import RetryPolicy

T = TypeVar("T")

#: Called before each wait: (attempt that failed, its error, seconds to wait).
RetryObserver = Callable[[int, RemoteError, float], None]


def compute_backoff(
    attempt: int,
    policy: RetryPolicy,
    rng: random.Random,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential with full jitter (AWS's "full jitter": a uniform draw below the capped
    exponential), so many clients that failed together do not retry together. The
    server's ``Retry-After`` wins when it sent one.
    """
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(policy.wait_max, policy.wait_initial * policy.wait_exp_base ** (attempt - 1))
    return rng.uniform(0.0, ceiling)


def is_retryable(error: RemoteError) -> bool:
    """No answer, 429 and 5xx may pass on a later try; any other 4xx will not."""
    if isinstance(error, HTTPStatusError):
        return error.retryable
    return isinstance(error, TransportError)


async def retry_call(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    rng: random.Random,
    *,
    on_retry: RetryObserver | None = None,
) -> T:
    """Await ``call()`` until it succeeds, a failure is not retryable, or attempts run out."""
    attempt = 1
    while True:
        try:
            return await call()
        except RemoteError as error:
            if attempt >= policy.attempts or not is_retryable(error):
                raise
            retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
            wait = compute_backoff(attempt, policy, rng, retry_after)
            if on_retry is not None:
                on_retry(attempt, error, wait)
            await anyio.sleep(wait)
            attempt += 1
