from __future__ import annotations

import random

import pytest

from streamer.errors import HTTPStatusError, RemoteError, TransportError
from streamer.retry import compute_backoff, is_retryable, retry_call
from streamer.settings import RetryPolicy

POLICY = RetryPolicy(attempts=4, wait_initial=0.001, wait_max=0.004, wait_exp_base=2)


def test_backoff_is_capped_full_jitter_and_retry_after_wins() -> None:
    rng = random.Random(1)
    policy = RetryPolicy(wait_initial=1, wait_max=8, wait_exp_base=2)
    for attempt, ceiling in ((1, 1), (2, 2), (3, 4), (4, 8), (9, 8)):
        waits = [compute_backoff(attempt, policy, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # jitter spreads over the whole range
    assert compute_backoff(1, policy, rng, retry_after=17) == 17


def test_only_no_answer_429_and_5xx_are_retryable() -> None:
    assert is_retryable(TransportError("reset"))
    assert is_retryable(HTTPStatusError(429, "slow down"))
    assert is_retryable(HTTPStatusError(503, "busy"))
    assert not is_retryable(HTTPStatusError(400, "bad file"))
    assert not is_retryable(RemoteError("odd answer"))


async def test_retry_call_retries_until_success_and_reports_each_wait() -> None:
    failures = [HTTPStatusError(503, "busy"), HTTPStatusError(429, "wait", retry_after=0.002)]
    seen: list[tuple[int, float]] = []

    async def call() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    result = await retry_call(call, POLICY, random.Random(0),
                              on_retry=lambda n, e, w: seen.append((n, w)))
    assert result == "done"
    assert [n for n, _ in seen] == [1, 2]
    assert seen[1][1] == 0.002


async def test_retry_call_gives_up_at_once_on_a_client_error_and_after_attempts() -> None:
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise HTTPStatusError(400, "bad")

    with pytest.raises(HTTPStatusError):
        await retry_call(refused, POLICY, random.Random(0))
    assert calls == 1

    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise TransportError("refused")

    with pytest.raises(TransportError):
        await retry_call(down, POLICY, random.Random(0))
    assert calls == POLICY.attempts


def test_an_http_error_says_whether_it_is_retryable_as_the_retry_policy_does() -> None:
    for status in (400, 401, 404, 429, 500, 503):
        error = HTTPStatusError(status, "answer")
        assert error.retryable is is_retryable(error) is (status == 429 or status >= 500)


async def test_within_a_time_budget_the_count_of_tries_does_not_matter() -> None:
    calls = 0

    async def throttled_a_while() -> str:
        nonlocal calls
        calls += 1
        if calls <= POLICY.attempts * 3:
            raise HTTPStatusError(429, "slow down", retry_after=0.0)
        return "page"

    assert await retry_call(throttled_a_while, POLICY, random.Random(0), within=30.0) == "page"
    assert calls == POLICY.attempts * 3 + 1


async def test_a_wait_beyond_the_budget_ends_the_retries_at_once() -> None:
    calls = 0

    async def come_back_later() -> None:
        nonlocal calls
        calls += 1
        raise HTTPStatusError(429, "slow down", retry_after=60.0)

    with pytest.raises(HTTPStatusError):
        await retry_call(come_back_later, POLICY, random.Random(0), within=1.0)
    assert calls == 1
