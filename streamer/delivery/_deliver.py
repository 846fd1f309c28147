"""The last stage of a run: upload batches to a list, then reconcile by reading it back."""

from __future__ import annotations

import random
from typing import Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer.delivery._reconcile import reconcile
from streamer.delivery._target import ListTarget
from streamer.delivery._uploader import Uploader
from streamer.records import Outcome, UploadBatch, UploadStats, Verification
from streamer.run import Journal
from streamer.settings import Settings


class Delivery(Protocol):
    """The last stage: takes upload batches, sends their rows' outcomes; says what
    read-back found, once it has run."""

    verification: Verification

    async def __call__(
        self,
        receive: MemoryObjectReceiveStream[UploadBatch],
        send_outcomes: MemoryObjectSendStream[list[Outcome]],
    ) -> None: ...


class ListDelivery:
    """Uploads every batch to one list, then (with ``settings.verify``) reads it back and
    decides each sent row's outcome. A :class:`Delivery`."""

    def __init__(
        self,
        target: ListTarget,
        list_id: int,
        settings: Settings,
        journal: Journal,
        stats: UploadStats,
        log: FilteringBoundLogger,
        *,
        stop: anyio.Event,
        rng: random.Random | None = None,
    ) -> None:
        self._target = target
        self._list_id = list_id
        self._settings = settings
        self._journal = journal
        self._stats = stats
        self._log = log
        self._stop = stop
        self.uploader = Uploader(target, list_id, settings, log, stats, rng=rng)
        self.verification = Verification()

    async def __call__(
        self,
        receive: MemoryObjectReceiveStream[UploadBatch],
        send_outcomes: MemoryObjectSendStream[list[Outcome]],
    ) -> None:
        settings = self._settings
        async with receive, send_outcomes:
            async with anyio.create_task_group() as workers:
                # As many workers as the limiter may ever allow; it decides how many send.
                for _ in range(settings.max_concurrency):
                    workers.start_soon(self.uploader.work, receive.clone(),
                                       send_outcomes.clone(), self._journal)
            limiter = self.uploader.limiter
            self._stats.concurrency = {
                "start": settings.concurrency, "final": limiter.limit,
                "lowest": limiter.lowest, "highest": limiter.highest,
                "maximum": limiter.maximum,
            }
            if settings.verify and not self._stop.is_set():
                fields = settings.list_fields
                self.verification = await reconcile(
                    target=self._target, list_id=self._list_id, journal=self._journal,
                    uploader=self.uploader, send_outcomes=send_outcomes,
                    batch_size=settings.batch_size, chunk_rows=settings.chunk_rows,
                    header=fields.upload_header,
                    external_id_field=fields.record_external_id_field,
                    resend_rounds=settings.resend_rounds,
                    concurrency=settings.concurrency, log=self._log,
                )
