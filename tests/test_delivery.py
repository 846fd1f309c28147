"""Delivery against an in-memory list service: the uploader, its pace, and read-back."""

from __future__ import annotations

import io
import random
from pathlib import Path

import anyio

from streamer.counters import UploadStats
from streamer.delivery import AdaptiveLimiter, ListDelivery
from streamer.errors import HTTPStatusError, TransportError
from streamer.fields import BASE_MAPPING
from streamer.records import Outcome, OutcomeKind, ReasonCode, Row, UploadBatch
from streamer.run import Journal, audit_logger
from streamer.settings import RetryPolicy, Settings
from streamer.upload_format import render_csv
from tests.memory_target import MemoryTarget

LOG = audit_logger(io.StringIO())
QUICK = RetryPolicy(attempts=4, wait_initial=0.001, wait_max=0.01, timeout=5)


def rows(first: int, count: int) -> list[Row]:
    made = []
    for record in range(first, first + count):
        row = Row(record, [f"415555{record:04d}", "Ann"])
        row.phone, row.first_name, row.external_id = f"+1415555{record:04d}", "Ann", f"id-{record}"
        made.append(row)
    return made


def batches(count: int, size: int = 10) -> list[UploadBatch]:
    return [UploadBatch(number, part, render_csv(part))
            for number, part in ((n, rows((n - 1) * size + 1, size))
                                 for n in range(1, count + 1))]


def settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"out_dir": tmp_path, "retry": QUICK, "job_poll_initial": 0.001,
                                 "job_poll_max": 0.005, "chunk_rows": 7}
    return Settings(**(values | overrides))  # type: ignore[arg-type]


async def deliver(target: MemoryTarget, to_send: list[UploadBatch], tmp_path: Path,
                  **overrides: object) -> tuple[dict[int, Outcome], ListDelivery, UploadStats]:
    """Every batch through a ListDelivery; each record's outcome (never two for one)."""
    journal, _ = Journal.open(tmp_path / "journal.sqlite3", fingerprint="f", settings_key="k",
                              restart=True)
    list_id = await target.create_list("spring", mapping=BASE_MAPPING)
    stats = UploadStats()
    delivery = ListDelivery(target, list_id, settings(tmp_path, **overrides), journal, stats,
                            LOG, stop=anyio.Event(), rng=random.Random(0))
    send, receive = anyio.create_memory_object_stream[UploadBatch](len(to_send))
    out_send, out_receive = anyio.create_memory_object_stream[list[Outcome]](4)
    async with send:
        for batch in to_send:
            await send.send(batch)
    decided: dict[int, Outcome] = {}
    async with anyio.create_task_group() as group:
        group.start_soon(delivery, receive, out_send)
        async with out_receive:
            async for outcomes in out_receive:
                journal.record_outcomes(outcomes)  # as the pipeline does, before anything else
                for outcome in outcomes:
                    assert outcome.record not in decided, outcome
                    decided[outcome.record] = outcome
    journal.close()
    return decided, delivery, stats


def kinds(decided: dict[int, Outcome]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for outcome in decided.values():
        key = outcome.outcome.value + (f":{outcome.reason}" if outcome.reason else "")
        counted[key] = counted.get(key, 0) + 1
    return counted


async def test_every_row_is_uploaded_once_and_confirmed_by_reading_the_list(
        tmp_path: Path) -> None:
    target = MemoryTarget(job_polls=2)
    decided, delivery, stats = await deliver(target, batches(3), tmp_path)
    assert sorted(decided) == list(range(1, 31))
    assert kinds(decided) == {"uploaded": 30}
    assert target.uploads == stats.requests == 3
    assert delivery.verification.verified == 30 and delivery.verification.resent == 0
    assert len(next(iter(target.lists.values()))) == 30


async def test_a_refused_batch_fails_at_once_and_no_other(tmp_path: Path) -> None:
    target = MemoryTarget(upload_errors=[HTTPStatusError(400, "record too long")])
    decided, _, stats = await deliver(target, batches(3), tmp_path)
    assert kinds(decided) == {"uploaded": 20, "failed:upload_failed": 10}
    failed = [o for o in decided.values() if o.outcome is OutcomeKind.FAILED]
    assert {o.detail for o in failed} == {"HTTP 400: record too long"}
    assert failed[0].fields  # the row as read, to feed again
    assert target.uploads == 3 and stats.retries == 0  # a 400 is never repeated


async def test_a_429_is_retried_and_halves_the_uploads_in_flight(tmp_path: Path) -> None:
    target = MemoryTarget(upload_errors=[HTTPStatusError(429, "slow down", retry_after=0.0),
                                         TransportError("reset")])
    decided, delivery, stats = await deliver(target, batches(3), tmp_path, concurrency=4)
    assert kinds(decided) == {"uploaded": 30}
    assert stats.throttled == 1 and stats.retries == 2 and target.uploads == 5
    assert delivery.uploader.limiter.lowest == 2


async def test_records_lost_once_are_resent_and_lost_every_time_fail(tmp_path: Path) -> None:
    target = MemoryTarget(lose={"id-3": 1, "id-14": 3})
    decided, delivery, _ = await deliver(target, batches(2), tmp_path, resend_rounds=2)
    assert decided[3].outcome is OutcomeKind.UPLOADED
    assert decided[14].reason == ReasonCode.MISSING_AFTER_UPLOAD
    assert kinds(decided) == {"uploaded": 19, "failed:missing_after_upload": 1}
    assert delivery.verification.resent == 1 + 2  # id-3 once, id-14 in both rounds


async def test_a_job_that_never_completes_is_a_job_timeout(tmp_path: Path) -> None:
    target = MemoryTarget(job_polls=10**9)
    decided, _, _ = await deliver(target, batches(1), tmp_path, verify=False, job_timeout=0.05)
    assert kinds(decided) == {"failed:job_timeout": 10}


async def test_cancelled_jobs_fail_their_rows(tmp_path: Path) -> None:
    decided, _, _ = await deliver(MemoryTarget(cancel_jobs=True), batches(1), tmp_path)
    assert kinds(decided) == {"failed:job_cancelled": 10}


async def test_a_resumed_run_settles_rows_already_in_the_list_and_forgets_the_rest(
        tmp_path: Path) -> None:
    journal, _ = Journal.open(tmp_path / "journal.sqlite3", fingerprint="f", settings_key="k",
                              restart=True)
    target = MemoryTarget()
    list_id = await target.create_list("spring", mapping=BASE_MAPPING)
    sent = rows(1, 4)
    journal.record_sending(1, sent)
    target.lists[list_id] = {r.external_id: {"externalId": r.external_id} for r in sent[:2]}
    settled: list[Outcome] = []

    async def sink(outcomes: list[Outcome]) -> None:
        settled.extend(outcomes)

    delivery = ListDelivery(target, list_id, Settings(chunk_rows=3, concurrency=2), journal,
                            UploadStats(), LOG, stop=anyio.Event())
    found = await delivery.settle_leftovers(sink)
    assert found == 2
    assert [(o.record, o.outcome) for o in settled] == [(1, OutcomeKind.UPLOADED),
                                                        (2, OutcomeKind.UPLOADED)]
    assert journal.sent_count() == 2  # rows 1 and 2 wait for their outcomes to be recorded
    journal.record_outcomes(settled)
    assert journal.sent_count() == 0 and not journal.settled()[2:]
    journal.close()


async def test_the_pace_halves_on_a_429_and_grows_after_a_window_of_successes() -> None:
    limiter = AdaptiveLimiter(4, 8, LOG)
    async with limiter.slot() as epoch:
        pass
    limiter.throttled(epoch)
    assert limiter.limit == 2 and limiter.pace is not None
    limiter.throttled(epoch)  # a second 429 from the same window: already answered
    assert limiter.limit == 2
    pace = limiter.pace
    for _ in range(2):
        limiter.succeeded(0.0)
    assert limiter.limit == 3 and limiter.pace > pace
