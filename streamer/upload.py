"""Delivering upload batches: to a CXone list, or to files in a dry run.

Each upload worker takes whole batches from a shared stream. The POST is limited to
``concurrency`` in flight; a failed POST is retried (only that batch) per the retry
policy; a 202 is followed by polling the job until CXone says it completed or was
cancelled. Outcomes are decided only then.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import aiofiles
import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer.batching import UploadBatch
from streamer.cxone.client import CXoneClient, JobState
from streamer.errors import HTTPStatusError, RemoteError
from streamer.records import Outcome, OutcomeKind, ReasonCode
from streamer.report import UploadStats
from streamer.retry import retry_call
from streamer.settings import Settings


def batch_outcomes(
    batch: UploadBatch, kind: OutcomeKind, reason: ReasonCode | None = None
) -> list[Outcome]:
    return [Outcome(row.record, kind, reason, None, row.external_id) for row in batch.rows]


class Uploader:
    """Sends batches to one calling list and decides their rows' outcomes."""

    def __init__(
        self,
        client: CXoneClient,
        list_id: int,
        settings: Settings,
        log: FilteringBoundLogger,
        stats: UploadStats,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._list_id = list_id
        self._settings = settings
        self._log = log
        self._stats = stats
        self._rng = rng or random.Random()
        self._limiter = anyio.CapacityLimiter(settings.concurrency)

    async def work(
        self,
        receive: ObjectReceiveStream[UploadBatch],
        send_outcomes: ObjectSendStream[list[Outcome]],
    ) -> None:
        """One worker: deliver batches until the stream ends."""
        async with receive, send_outcomes:
            async for batch in receive:
                await send_outcomes.send(await self.deliver(batch))

    async def deliver(self, batch: UploadBatch) -> list[Outcome]:
        """Upload one batch and wait for its job; every row gets its outcome."""
        self._stats.batches += 1
        try:
            job_id = await self._submit(batch)
        except RemoteError as error:
            self._stats.failed_batches += 1
            self._log.error("streamer.batch_failed", batch_id=batch.batch_id,
                            rows=len(batch.rows), error=str(error))
            return batch_outcomes(batch, OutcomeKind.FAILED, ReasonCode.UPLOAD_FAILED)
        started = time.monotonic()
        try:
            state = await self._await_job(job_id)
        except RemoteError as error:
            self._log.error("streamer.job_unconfirmed", batch_id=batch.batch_id, job_id=job_id,
                            error=str(error))
            state = None
        waited_ms = round((time.monotonic() - started) * 1000, 1)
        if state is None:
            self._stats.failed_batches += 1
            self._log.error("streamer.job_timeout", batch_id=batch.batch_id, job_id=job_id,
                            waited_ms=waited_ms)
            return batch_outcomes(batch, OutcomeKind.FAILED, ReasonCode.JOB_TIMEOUT)
        self._log.info("streamer.job_completed", batch_id=batch.batch_id, job_id=job_id,
                       cancelled=state.is_cancelled, waited_ms=waited_ms)
        if state.is_cancelled:
            self._stats.failed_batches += 1
            return batch_outcomes(batch, OutcomeKind.FAILED, ReasonCode.JOB_CANCELLED)
        return batch_outcomes(batch, OutcomeKind.UPLOADED)

    async def _submit(self, batch: UploadBatch) -> int:
        stats = self._stats
        attempts = 0

        async def attempt() -> int:
            nonlocal attempts
            attempts += 1
            async with self._limiter:
                stats.requests += 1
                started = time.perf_counter()
                try:
                    job_id = await self._client.upload(
                        self._list_id, batch.file_name, batch.payload, self._settings.upload
                    )
                except HTTPStatusError as error:
                    if error.status == 429:
                        stats.throttled += 1
                    raise
                latency_ms = (time.perf_counter() - started) * 1000
            stats.succeeded += 1
            stats.latencies_ms.append(latency_ms)
            stats.job_ids.append(job_id)
            self._log.info("streamer.batch_uploaded", batch_id=batch.batch_id,
                           rows=len(batch.rows), bytes=len(batch.payload), job_id=job_id,
                           attempts=attempts, latency_ms=round(latency_ms, 1))
            return job_id

        def note(attempt_number: int, error: RemoteError, wait: float) -> None:
            stats.retries += 1
            self._log.warning("streamer.upload_retry", batch_id=batch.batch_id,
                              attempt=attempt_number, error=str(error), wait_s=round(wait, 3))

        return await retry_call(attempt, self._settings.retry, self._rng, on_retry=note)

    async def _await_job(self, job_id: int) -> JobState | None:
        """Poll until the job finishes; ``None`` if it does not within ``job_timeout``."""
        settings = self._settings
        deadline = time.monotonic() + settings.job_timeout
        interval = settings.job_poll_initial
        while True:
            state = await retry_call(
                lambda: self._client.job(job_id), settings.retry, self._rng
            )
            if state.finished:
                return state
            if time.monotonic() + interval > deadline:
                return None
            await anyio.sleep(interval)
            interval = min(interval * 2, settings.job_poll_max)


async def write_batch_files(
    receive: ObjectReceiveStream[UploadBatch],
    send_outcomes: ObjectSendStream[list[Outcome]],
    directory: Path,
) -> None:
    """The dry run's delivery: each would-be upload file goes to ``directory``."""
    async with receive, send_outcomes:
        async for batch in receive:
            async with aiofiles.open(directory / batch.file_name, "wb") as file:
                await file.write(batch.payload)
            await send_outcomes.send(batch_outcomes(batch, OutcomeKind.ACCEPTED))
