"""Wires the stages together; the only module that knows their order.

    reader ─▶ normalize ─▶ rules ─▶ dedup ─▶ resume filter ─▶ batcher ─▶ uploaders
              (the row stages, in a worker process)               │      then read-back
        journal ◀── outcomes ◀── rejected / duplicate ────────────┴───────────┘

:meth:`_Run.prepare` settles, step by step, what must be known before the first row
moves; :meth:`_Run._stages` then starts every stage in one task group, connected by
bounded streams of row batches, so a slow uploader slows the reader and memory stays
flat. Rules run before dedup so that ``duplicate_of`` always names an accepted record.
Every outcome goes to the journal first; a re-run drops the rows it has settled.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from os import PathLike
from pathlib import Path

import anyio
import anyio.to_thread
from anyio.abc import ObjectSendStream, TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from streamer import cleaning, delivery
from streamer._detached import DetachedTask
from streamer.counters import Phase, Progress, UploadStats
from streamer.cxone import CXoneClient, connect
from streamer.errors import echoes_dropped, one_error_alone
from streamer.input import Source, open_source
from streamer.records import Outcome, RowBatch, UploadBatch
from streamer.run import (
    Journal,
    Report,
    Timeline,
    claim_out_dir,
    drop_settled,
    fingerprint_file,
    finish_run,
    open_audit_log,
    stopped,
)
from streamer.settings import Settings

OutcomeSink = Callable[[list[Outcome]], Awaitable[None]]


class _Run:
    """One run of the pipeline over one file."""

    def __init__(self, path: Path, settings: Settings, progress: Progress | None,
                 stop: anyio.Event | None) -> None:
        self.path, self.settings, self.out_dir = path, settings, settings.output_dir(path)
        self.progress, self.stop = progress or Progress(), stop or anyio.Event()
        self.run_id, self.stats = uuid.uuid4().hex, UploadStats()
        self.timeline = Timeline(self.progress)
        self.list_id: int | None = None
        self.list_name: str | None = None
        self._rng = random.Random()
        self._sink: OutcomeSink | None = None

    async def execute(self, sink: OutcomeSink | None = None) -> Report:
        self.progress.started = time.monotonic()
        self._sink = sink
        async with AsyncExitStack() as stack:
            stack.enter_context(claim_out_dir(self.out_dir))  # before anything is written
            stack.enter_context(one_error_alone())
            stack.enter_context(cleaning.rarer_collections())
            await self.prepare(stack)
            send, receive = anyio.create_memory_object_stream[list[Outcome]](
                self.settings.stream_buffer)
            async with echoes_dropped(), anyio.create_task_group() as group:
                group.start_soon(self._stages, group, send)
                async with receive:
                    async for outcomes in receive:
                        await self._collect(outcomes)
            source = self.source
            if self.stop.is_set():
                raise stopped(self.journal, self.log, source.rows_read)
            mirror = await delivery.mirror_list(self.client, self.settings, self.journal, self.log,
                                                self.list_id, self.path, self.stop, self._rng,
                                                self.progress)
            return await finish_run(
                journal=self.journal, settings=self.settings, log=self.log,
                run_id=self.run_id, input_path=self.path, out_dir=self.out_dir,
                resumed=self.resumed, rows_read=source.rows_read, header=self.columns.header,
                mapped=self.columns.described(), reading=source.reading(),
                fingerprint=self.fingerprint,
                list_id=self.list_id, list_name=self.list_name, stats=self.stats,
                verification=self.deliver.verification, mirror=mirror,
                timeline=self.timeline, progress=self.progress, locate=source.locate)

    async def prepare(self, stack: AsyncExitStack) -> None:
        """What must be known before the first row moves, one named step at a time."""
        self.log = open_audit_log(stack, self.out_dir, self.settings, run_id=self.run_id)
        await self._open_source(stack)
        await self._connect(stack)
        await self._start_row_workers(stack)
        await self._open_journal(stack)
        await self._choose_delivery()

    async def _open_source(self, stack: AsyncExitStack) -> None:
        self.source: Source = await stack.enter_async_context(open_source(self.path, self.settings))
        assert self.source.columns is not None
        self.columns = self.source.columns
        self.progress.bytes_total = self.source.size

    async def _connect(self, stack: AsyncExitStack) -> None:
        """Signed in to the tenant, unless a dry run needs nothing of it (no DNC group, mirror)."""
        settings = self.settings
        self.client: CXoneClient | None = None
        if not settings.dry_run or settings.wants_dnc_groups or settings.mirror:
            self.client = await connect(stack, settings, rng=self._rng, log=self.log)

    async def _start_row_workers(self, stack: AsyncExitStack) -> None:
        """The row stages, in the order a row meets them, handed to the workers."""
        settings, columns = self.settings, self.columns
        dnc = await cleaning.load_do_not_call(settings, self.client, self.log)
        stages: list[cleaning.RowStage] = [
            cleaning.NormalizeRules.of(columns, settings),
            cleaning.CampaignRules(columns, required=settings.required_columns,
                                   allowed_countries=settings.allowed_countries, dnc=dnc,
                                   max_record_chars=settings.max_record_chars),
        ]
        if settings.dedup != "off":
            stages.append(cleaning.DedupRules(
                fuzzy=settings.fuzzy if settings.dedup == "fuzzy" else None,
                by_external_id=columns.external_id is not None,
                expected_rows=self.source.estimated_rows, other_phones=columns.other_phones))
        processes = cleaning.worker_count(settings.workers, self.source.size)
        self.workers = await stack.enter_async_context(cleaning.RowWorkers(stages, processes))

    async def _open_journal(self, stack: AsyncExitStack) -> None:
        settings, source = self.settings, self.source
        self.fingerprint = await anyio.to_thread.run_sync(fingerprint_file, self.path)
        self.journal, self.resumed = Journal.open(
            self.out_dir / "journal.sqlite3", fingerprint=self.fingerprint,
            settings_key=settings.outcome_key(), restart=settings.restart)
        self.progress.resumed = self.resumed
        self.progress.settled_before = self.journal.counts().total if self.resumed else 0
        stack.callback(self.journal.close)
        self.log.info("streamer.run_started", input=str(self.path), out_dir=str(self.out_dir),
                      resumed=self.resumed, dry_run=settings.dry_run,
                      batch_size=settings.batch_size, concurrency=settings.concurrency,
                      default_region=settings.default_region,
                      columns=list(self.columns.header), encoding=source.encoding,
                      compression=source.compression, workers=self.workers.workers)

    async def _choose_delivery(self) -> None:
        """Files for a dry run; else the list, found or made, with a resumed run's rows
        that may be in it already read back before anything is sent again."""
        settings, client = self.settings, self.client
        if client is None or settings.dry_run:
            self.deliver: delivery.Delivery = delivery.DryRunDelivery(
                self.out_dir, resumed=self.resumed)
            return
        self.list_id, self.list_name = await delivery.resolve_list(
            client, settings, self.journal, self.path, self.log, self.columns)
        to_list = delivery.ListDelivery(client, self.list_id, settings, self.journal,
                                        self.stats, self.log, stop=self.stop, rng=self._rng,
                                        upload_header=self.columns.upload_header,
                                        progress=self.progress)
        await to_list.settle_leftovers(self._collect)
        self.deliver = to_list

    async def _stages(self, group: TaskGroup,
                      send_outcomes: MemoryObjectSendStream[list[Outcome]]) -> None:
        """Every stage, each one task, connected by small bounded streams."""
        settings = self.settings
        size = settings.stream_buffer
        read_out, work_in = anyio.create_memory_object_stream[RowBatch](size)
        work_out, resume_in = anyio.create_memory_object_stream[RowBatch](size)
        resume_out, batch_in = anyio.create_memory_object_stream[RowBatch](size)
        batch_out, deliver_in = anyio.create_memory_object_stream[UploadBatch](size)
        async with send_outcomes:
            group.start_soon(self._read, read_out)
            group.start_soon(self.workers.stage, work_in, work_out)
            group.start_soon(drop_settled, resume_in, resume_out, self.journal)
            group.start_soon(partial(
                delivery.batch_rows, batch_in, batch_out, send_outcomes.clone(),
                batch_size=settings.batch_size, header=self.columns.upload_header))
            group.start_soon(self.deliver, deliver_in, send_outcomes.clone())

    async def _read(self, send: ObjectSendStream[RowBatch]) -> None:
        """The first stage; a graceful stop ends the file here, and the rest drains."""
        progress, source = self.progress, self.source
        async with send:
            progress.enter(Phase.READING)
            async for batch in source.batches():
                progress.rows_read, progress.bytes_read = source.rows_read, source.bytes_read
                await send.send(batch)
                if self.stop.is_set():
                    return
            progress.enter(self.deliver.after_reading)  # before the stages after it end

    async def _collect(self, outcomes: list[Outcome]) -> None:
        """Where every outcome goes: the journal first, then the progress and the caller."""
        self.journal.record_outcomes(outcomes)
        progress, source = self.progress, self.source
        progress.rows_read, progress.bytes_read = source.rows_read, source.bytes_read
        progress.count(outcomes)
        self.timeline.sample()
        if self._sink is not None:
            await self._sink(outcomes)


async def run(path: str | PathLike[str], settings: Settings, *,
              progress: Progress | None = None, stop: anyio.Event | None = None) -> Report:
    """Run the whole pipeline over ``path`` and return the reconciliation report.

    Setting ``stop`` ends the run gracefully: no more rows are read, uploads in flight
    finish, and :class:`~streamer.errors.Interrupted` is raised; the same call resumes.
    """
    return await _Run(Path(path), settings, progress, stop).execute()


async def stream(path: str | PathLike[str], settings: Settings, *,
                 progress: Progress | None = None,
                 stop: anyio.Event | None = None) -> AsyncIterator[Outcome]:
    """Yield each row's outcome as soon as it is decided (on a resumed run: the rows this
    run decides; ``outcomes.csv`` has them all).

    The pipeline runs in a task of its own, so the caller's code between iterations
    never runs inside the pipeline's cancel scope; leaving the loop early (``break``, an
    exception) cancels the pipeline and waits for it to stop. Errors of the run are
    raised from the iteration after the outcomes decided before them.
    """
    send, receive = anyio.create_memory_object_stream[list[Outcome]](settings.stream_buffer)
    pipeline = _Run(Path(path), settings, progress, stop)

    async def produce() -> Report:
        async with send:
            return await pipeline.execute(send.send)

    task = DetachedTask(produce)
    try:
        async with receive:
            async for outcomes in receive:
                for outcome in outcomes:
                    yield outcome
        await task.result()
    finally:
        await task.stop()
