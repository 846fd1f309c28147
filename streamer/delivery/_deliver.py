"""The last stage of a run: upload batches to a list, then reconcile by reading it back."""

from __future__ import annotations

import random
from typing import Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer.counters import Phase, Progress, UploadStats, Verification
from streamer.delivery._reconcile import OutcomeSink, Reconciler
from streamer.delivery._target import ListTarget
from streamer.delivery._uploader import Uploader
from streamer.records import Outcome, UploadBatch
from streamer.run import Journal
from streamer.settings import ListFields, Settings


class Delivery(Protocol):
    """The last stage: takes upload batches, sends their rows' outcomes; says what
    read-back found, once it has run."""

    verification: Verification
    #: The phase once every row is read (a dry run's files are written as rows come).
    after_reading: Phase

    async def __call__(
        self,
        receive: MemoryObjectReceiveStream[UploadBatch],
        send_outcomes: MemoryObjectSendStream[list[Outcome]],
    ) -> None: ...


class ListDelivery:
    """Uploads every batch to one list, then (with ``settings.verify``) reads it back and
    decides each sent row's outcome. A :class:`Delivery`.

    On a resumed run, call :meth:`settle_leftovers` first: rows an earlier run may have
    uploaded are looked for in the list before anything is sent again.
    """

    after_reading = Phase.UPLOADING

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
        upload_header: tuple[str, ...] = ListFields().upload_header,
        progress: Progress | None = None,
    ) -> None:
        self._settings = settings
        self._journal = journal
        self._stats = stats
        self._stop = stop
        rng = rng or random.Random()
        self.uploader = Uploader(target, list_id, settings, log, stats, rng=rng,
                                 progress=progress)
        self.verification = Verification(
            # Rows uploaded so far were verified by an earlier run's read-back.
            verified_earlier=journal.counts().by_kind.get("uploaded", 0)
            if settings.verify else 0)
        self._reconciler = Reconciler(target, list_id, journal, settings, self.verification,
                                      log, rng=rng, upload_header=upload_header,
                                      progress=progress)

    async def settle_leftovers(self, sink: OutcomeSink) -> int:
        """Rows an earlier run handed to CXone: ``uploaded`` (to ``sink``) if the list
        holds them, else forgotten so this run sends them; how many it holds."""
        return await self._reconciler.settle_leftovers(sink)

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
                await self._reconciler.reconcile(self.uploader, send_outcomes)
