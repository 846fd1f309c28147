"""The one retry story: which failures are retried, how long to wait, and when to give up.

- A request that got no answer (:class:`~streamer.errors.TransportError`), a 429 or a 5xx
  may pass on a later try; any other answer will not, and is never repeated.
- Waits are exponential with full jitter (:func:`compute_backoff`), under a
  :class:`~streamer.settings.RetryPolicy`; a server's ``Retry-After`` (seconds or an HTTP
  date, :func:`parse_retry_after`) wins over the computed wait.
- An upload is tried at most ``policy.attempts`` times (:func:`retry_call`): each try
  sends the whole batch again. Reads and job polls instead retry within a budget of time
  (``within``, as stamina's ``timeout``): a throttled server is waited out, not counted
  out, and a run never fails merely because reading back took many polite tries.
- Waiting for a state to be reached (an upload job completing) polls with doubling
  intervals until a deadline (:func:`poll_until`).
- The webhook, a courtesy to a CRM, gets its own short waits (:func:`webhook_policy`).

The CXone client, the uploader and the webhook all go through here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import anyio

from streamer.errors import HTTPStatusError, RemoteError, TransportError
from streamer.settings import RetryPolicy

T = TypeVar("T")

#: Called before each wait: (attempt that failed, its error, seconds to wait).
RetryObserver = Callable[[int, RemoteError, float], None]


def is_retryable(error: RemoteError) -> bool:
    """No answer, 429 and 5xx may pass on a later try; any other 4xx will not."""
    if isinstance(error, HTTPStatusError):
        return error.status == 429 or error.status >= 500
    return isinstance(error, TransportError)


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


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def retry_call(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    rng: random.Random,
    *,
    on_retry: RetryObserver | None = None,
    within: float | None = None,
) -> T:
    """Await ``call()`` until it succeeds or a failure is not retryable; then until
    ``policy.attempts`` tries are spent or, given ``within``, until the next wait would
    end more than ``within`` seconds after the first try (however many tries that is)."""
    deadline = None if within is None else time.monotonic() + within
    attempt = 1
    while True:
        try:
            return await call()
        except RemoteError as error:
            if not is_retryable(error):
                raise
            retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
            wait = compute_backoff(attempt, policy, rng, retry_after)
            if deadline is None:
                if attempt >= policy.attempts:
                    raise
            elif time.monotonic() + wait > deadline:
                raise
            if on_retry is not None:
                on_retry(attempt, error, wait)
            await anyio.sleep(wait)
            attempt += 1


async def poll_until(
    check: Callable[[], Awaitable[T | None]],
    *,
    give_up_after: float,
    initial: float,
    maximum: float,
) -> T | None:
    """Await ``check()`` until it answers, waiting ``initial`` seconds between checks,
    doubled each time up to ``maximum``; ``None`` if no answer comes within
    ``give_up_after`` seconds."""
    deadline = time.monotonic() + give_up_after
    interval = initial
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() + interval > deadline:
            return None
        await anyio.sleep(interval)
        interval = min(interval * 2, maximum)


def webhook_policy(attempts: int, timeout: float) -> RetryPolicy:
    """Retries for the webhook: a few short waits, so a run never waits long on a CRM."""
    return RetryPolicy(attempts=attempts, timeout=timeout, wait_initial=0.5, wait_max=5.0)
