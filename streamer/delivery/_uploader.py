"""Uploading batches to a calling list, politely and only once each.

Each upload worker takes whole batches from a shared stream. The POST is limited to
``concurrency`` in flight; a failed POST is retried (only that batch) per the retry
policy; a 202 is followed by polling the job until CXone says it completed or was
cancelled. Job polls have a pace of their own (a 429 on a poll slows the polls, not the
uploads) and retry until the job's deadline, never merely for a count of tries. Rows of
completed jobs go to the journal to await read-back; rows of failed batches get their
``failed`` outcome at once. An upload whose answer cannot be read is *unconfirmed*, like
a job that never completed: the rows may be in the list, and read-back decides.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from functools import partial

from anyio.abc import ObjectReceiveStream, ObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer.counters import Phase, Progress, UploadStats
from streamer.delivery._pacing import AdaptiveLimiter
from streamer.delivery._target import JobState, ListTarget
from streamer.errors import HTTPStatusError, RemoteError, UnreadableAnswer
from streamer.records import Outcome, OutcomeKind, ReasonCode, UploadBatch, row_outcomes
from streamer.retry import poll_until, retry_call
from streamer.run import Journal
from streamer.settings import Settings


@dataclass(frozen=True, slots=True)
class SendResult:
    """How one batch's upload ended.

    ``failure`` set: CXone did not take the batch. Otherwise the job completed
    (``confirmed``) or could not be confirmed (only read-back can tell): its job did not
    complete in time, or the upload's answer could not be read (no ``job_id``).
    """

    job_id: int | None
    failure: ReasonCode | None = None
    confirmed: bool = False
    detail: str = ""  # the server's word on a failure, e.g. "HTTP 400: record too long"


class Uploader:
    """Sends batches to one calling list."""

    def __init__(
        self,
        target: ListTarget,
        list_id: int,
        settings: Settings,
        log: FilteringBoundLogger,
        stats: UploadStats,
        rng: random.Random | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._target = target
        self._progress = progress or Progress()
        self._list_id = list_id
        self._settings = settings
        self._log = log
        self._stats = stats
        self._rng = rng or random.Random()
        self.limiter = AdaptiveLimiter(settings.concurrency, settings.max_concurrency, log)
        self.polls = AdaptiveLimiter(settings.concurrency, settings.max_concurrency, log,
                                     calls="job polls")

    async def work(
        self,
        receive: ObjectReceiveStream[UploadBatch],
        send_outcomes: ObjectSendStream[list[Outcome]],
        journal: Journal,
    ) -> None:
        """One worker: send batches until the stream ends.

        Rows enter the journal before their upload starts, so whatever happens next a
        resumed run knows they may be in the list. With read-back on, the rows CXone took
        wait there for it; without, a completed job makes them ``uploaded`` at once.
        Once every batch is taken, the run is waiting for the jobs still out.
        """
        verify = self._settings.verify
        async with receive, send_outcomes:
            async for batch in receive:
                journal.record_sending(batch.batch_id, batch.rows)
                result = await self.send(batch)
                if result.failure is not None:
                    await send_outcomes.send(row_outcomes(
                        batch.rows, OutcomeKind.FAILED, result.failure, result.detail))
                elif verify:
                    continue
                elif result.confirmed:
                    await send_outcomes.send(row_outcomes(batch.rows, OutcomeKind.UPLOADED))
                else:
                    unknown = ReasonCode.JOB_TIMEOUT if result.job_id is not None \
                        else ReasonCode.UPLOAD_UNCONFIRMED
                    await send_outcomes.send(row_outcomes(
                        batch.rows, OutcomeKind.FAILED, unknown, result.detail))
            self._progress.enter(Phase.WAITING)

    async def send(self, batch: UploadBatch, *, wait_until: float | None = None) -> SendResult:
        """Upload one batch and wait for its job: ``job_timeout`` seconds, or only until
        ``wait_until`` (``time.monotonic()``) when that comes sooner."""
        self._stats.batches += 1
        try:
            job_id = await self._submit(batch)
        except UnreadableAnswer as error:
            self._note_sent(batch)
            self._log.warning("streamer.upload_unconfirmed", batch=batch.file_name,
                              rows=len(batch.rows), error=str(error))
            return SendResult(None, detail=str(error))
        except RemoteError as error:
            self._stats.failed_batches += 1
            status = error.status if isinstance(error, HTTPStatusError) else None
            self._log.error("streamer.batch_failed", batch=batch.file_name,
                            rows=len(batch.rows), status=status, error=str(error))
            return SendResult(None, ReasonCode.UPLOAD_FAILED, detail=str(error))
        self._note_sent(batch)
        started = time.monotonic()
        give_up_after = self._settings.job_timeout
        if wait_until is not None:
            give_up_after = max(0.0, min(give_up_after, wait_until - started))
        self._progress.jobs_waiting += 1
        try:
            state = await self._await_job(job_id, give_up_after)
        except RemoteError as error:
            self._log.error("streamer.job_unconfirmed", batch=batch.file_name, job_id=job_id,
                            error=str(error))
            state = None
        finally:
            self._progress.jobs_waiting -= 1
        waited_ms = round((time.monotonic() - started) * 1000, 1)
        if state is None:
            self._log.warning("streamer.job_timeout", batch=batch.file_name, job_id=job_id,
                              waited_ms=waited_ms)
            return SendResult(job_id)
        self._log.info("streamer.job_completed", batch=batch.file_name, job_id=job_id,
                       cancelled=state.is_cancelled, waited_ms=waited_ms)
        if state.is_cancelled:
            self._stats.failed_batches += 1
            return SendResult(job_id, ReasonCode.JOB_CANCELLED)
        return SendResult(job_id, confirmed=True)

    def _note_sent(self, batch: UploadBatch) -> None:
        """Counted as the batch goes, not when its rows' outcomes come (with read-back on,
        only at the end): the progress shows uploads moving."""
        self._stats.rows_sent += len(batch.rows)
        self._progress.sent += len(batch.rows)

    async def _submit(self, batch: UploadBatch) -> int:
        stats = self._stats
        attempts = 0

        async def attempt() -> int:
            nonlocal attempts
            attempts += 1
            async with self.limiter.slot() as window:
                stats.requests += 1
                allowed = self.limiter.limit
                started_at = time.monotonic()
                started = time.perf_counter()
                try:
                    job_id = await self._target.upload(
                        self._list_id, batch.file_name, batch.payload, self._settings.upload
                    )
                except RemoteError as error:
                    status = error.status if isinstance(error, HTTPStatusError) else 0
                    stats.note_request((time.perf_counter() - started) * 1000, status, allowed)
                    if status == 429:
                        stats.throttled += 1
                        self.limiter.throttled(window)
                    raise
                latency_ms = (time.perf_counter() - started) * 1000
                stats.note_request(latency_ms, 202, allowed)
            self.limiter.succeeded(started_at)
            stats.succeeded += 1
            stats.latencies_ms.append(latency_ms)
            stats.job_ids.append(job_id)
            self._log.info("streamer.batch_uploaded", batch=batch.file_name,
                           rows=len(batch.rows), bytes=len(batch.payload), job_id=job_id,
                           attempts=attempts, latency_ms=round(latency_ms, 1))
            return job_id

        def note(attempt_number: int, error: RemoteError, wait: float) -> None:
            stats.retries += 1
            self._log.warning("streamer.upload_retry", batch=batch.file_name,
                              attempt=attempt_number, error=str(error), wait_s=round(wait, 3))

        return await retry_call(attempt, self._settings.retry, self._rng, on_retry=note)

    async def _await_job(self, job_id: int, give_up_after: float) -> JobState | None:
        """Poll until the job finishes; ``None`` if it does not within ``give_up_after``
        seconds. A poll refused (429, 5xx, no answer) is retried, paced, until then."""
        settings = self._settings
        deadline = time.monotonic() + give_up_after

        async def finished() -> JobState | None:
            state = await retry_call(
                partial(self.polls.run, partial(self._target.job, job_id)), settings.retry,
                self._rng, within=max(0.0, deadline - time.monotonic()))
            return state if state.finished else None

        return await poll_until(finished, give_up_after=give_up_after,
                                initial=settings.job_poll_initial,
                                maximum=settings.job_poll_max)
