"""Wires the stages together; the only module that knows their order.

    reader ─▶ normalize ─▶ rules ─▶ dedup ─▶ batcher ─▶ uploaders ─▶ journal ─▶ read-back
                                              └── rejected / duplicate / failed ──▶ outcomes

Every stage is one task in one task group, connected by bounded memory object streams
carrying batches of rows, so a slow uploader slows the reader and memory stays flat.
Rules run before dedup so that ``duplicate_of`` always names a record that was itself
accepted: a duplicate of a rejected row would otherwise never reach the list.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from os import PathLike
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream, TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer.audit import audit_logger
from streamer.batching import UploadBatch, batch_rows
from streamer.cxone.client import CXoneClient
from streamer.dedup import ExactDedup
from streamer.dnc import DoNotCall
from streamer.errors import ConfigError, HTTPStatusError
from streamer.journal import Journal
from streamer.normalize import normalize_batch
from streamer.reader import ColumnMap, CsvSource
from streamer.reconcile import Verification, reconcile
from streamer.records import Outcome, OutcomeKind, RowBatch
from streamer.report import (
    OutcomeWriter,
    Report,
    RowFileWriter,
    Tally,
    UploadStats,
    write_report,
)
from streamer.rules import CampaignRules
from streamer.settings import Settings
from streamer.upload import Uploader, write_batch_files
from streamer.webhook import notify

OutcomeSink = Callable[[list[Outcome]], Awaitable[None]]
#: The last stage: takes upload batches, sends their rows' outcomes.
Delivery = Callable[
    [MemoryObjectReceiveStream[UploadBatch], MemoryObjectSendStream[list[Outcome]]],
    Coroutine[Any, Any, None],
]


@dataclass(slots=True)
class Progress:
    """Live counters for a progress display; the run updates them, anyone may read them."""

    bytes_total: int = 0
    bytes_read: int = 0
    rows_read: int = 0
    sent: int = 0
    uploaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0
    started: float = 0.0


async def _map_stage(
    receive: ObjectReceiveStream[RowBatch],
    send: ObjectSendStream[RowBatch],
    transform: Callable[[RowBatch], RowBatch],
    *,
    in_thread: bool = False,
) -> None:
    """A stage that transforms each batch; CPU-heavy ones run in a worker thread."""
    async with receive, send:
        async for batch in receive:
            if in_thread:
                batch = await anyio.to_thread.run_sync(transform, batch)
            else:
                batch = transform(batch)
            await send.send(batch)


class _Run:
    """One run of the pipeline over one file."""

    def __init__(self, path: Path, settings: Settings, progress: Progress | None) -> None:
        self.path = path
        self.settings = settings
        self.progress = progress or Progress()
        self.run_id = uuid.uuid4().hex
        self.out_dir = settings.output_dir(path)
        self.stats = UploadStats()
        self.verification = Verification()
        self.list_id: int | None = None
        self.list_name: str | None = None
        self.journal: Journal | None = None
        self.dnc: DoNotCall | None = None

    async def execute(self, sink: OutcomeSink | None = None) -> Report:
        settings = self.settings
        started = time.monotonic()
        self.progress.started = started
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot create output directory {self.out_dir}: "
                              f"{error.strerror}") from None
        async with AsyncExitStack() as stack:
            audit_file = stack.enter_context(
                open(self.out_dir / "audit.jsonl", "a", encoding="utf-8")  # noqa: ASYNC230, SIM115
            )
            log = audit_logger(audit_file, full_pii=settings.audit_full_pii, run_id=self.run_id)
            source = await stack.enter_async_context(CsvSource(self.path, settings))
            assert source.columns is not None
            if settings.dnc_file is not None:
                self.dnc = await anyio.to_thread.run_sync(
                    DoNotCall.load, settings.dnc_file, settings.default_region)
                log.info("streamer.dnc_loaded", numbers=len(self.dnc),
                         unreadable=self.dnc.unreadable)
            rules = CampaignRules(
                source.columns, required=settings.required_columns,
                allowed_countries=settings.allowed_countries, dnc=self.dnc,
                max_record_chars=settings.max_record_chars,
            )
            self.progress.bytes_total = source.size
            log.info("streamer.run_started", input=str(self.path), out_dir=str(self.out_dir),
                     dry_run=settings.dry_run, batch_size=settings.batch_size,
                     concurrency=settings.concurrency, default_region=settings.default_region,
                     columns=list(source.columns.header))
            if settings.dry_run:
                deliver = self._dry_run_delivery()
            else:
                deliver = await self._cxone_delivery(stack, log)
            writer = OutcomeWriter(self.out_dir / "outcomes.csv")
            await writer.open()
            stack.push_async_callback(writer.close)
            rejected = RowFileWriter(self.out_dir / "rejected.csv",
                                     (*source.columns.header, "record", "reason"))
            failed = RowFileWriter(self.out_dir / "failed.csv",
                                   (*source.columns.header, "record", "reason", "detail"))
            for row_file in (rejected, failed):
                await row_file.open()
                stack.push_async_callback(row_file.close)
            tally = Tally()
            send, receive = anyio.create_memory_object_stream[list[Outcome]](
                settings.stream_buffer
            )
            async with anyio.create_task_group() as group:
                group.start_soon(self._stages, group, source, source.columns, rules, deliver,
                                 send)
                async with receive:
                    async for outcomes in receive:
                        tally.add(outcomes)
                        await writer.write(outcomes)
                        await rejected.write_rows(
                            (*o.fields, o.record, o.reason) for o in outcomes
                            if o.outcome is OutcomeKind.REJECTED)
                        await failed.write_rows(
                            (*o.fields, o.record, o.reason, o.detail) for o in outcomes
                            if o.outcome is OutcomeKind.FAILED)
                        self._count(outcomes, source)
                        if sink is not None:
                            await sink(outcomes)
            await writer.commit()
            await rejected.commit()
            await failed.commit()
            if self.journal is not None:
                self.journal.remove()
                self.journal = None
            report = self._report(source, tally, time.monotonic() - started)
            if settings.webhook_url:
                report.webhook = await notify(
                    settings.webhook_url, self._webhook_payload(report),
                    secret=settings.webhook_secret, timeout_s=settings.webhook_timeout,
                    attempts=settings.webhook_attempts, log=log,
                )
            await write_report(self.out_dir / "report.json", report)
            log.info("streamer.run_finished", rows_read=report.rows_read,
                     balanced=report.balanced, duration_s=report.duration_s,
                     **report.outcomes)
            return report

    def _report(self, source: CsvSource, tally: Tally, duration: float) -> Report:
        return Report(
            run_id=self.run_id, input=str(self.path), out_dir=str(self.out_dir),
            dry_run=self.settings.dry_run, rows_read=source.rows_read,
            outcomes={kind.value: tally.by_outcome.get(kind, 0) for kind in OutcomeKind},
            reasons=dict(sorted(tally.by_reason.items())),
            balanced=tally.balanced(source.rows_read), list_id=self.list_id,
            list_name=self.list_name, job_ids=self.stats.job_ids,
            upload=self.stats.summary(), verification=self.verification.summary(),
            duration_s=round(duration, 3),
            rows_per_second=round(source.rows_read / duration, 1) if duration else 0.0,
        )

    def _webhook_payload(self, report: Report) -> dict[str, Any]:
        """What a CRM needs to react to the run; counts only, no personal data."""
        return {
            "event": "streamer.run_finished", "run_id": report.run_id,
            "list_id": report.list_id, "list_name": report.list_name,
            "rows_read": report.rows_read, "outcomes": report.outcomes,
            "reasons": report.reasons, "balanced": report.balanced,
            "report_path": str((self.out_dir / "report.json").resolve()),
        }

    def _count(self, outcomes: list[Outcome], source: CsvSource) -> None:
        progress = self.progress
        progress.rows_read = source.rows_read
        progress.bytes_read = source.bytes_read
        progress.sent = self.stats.rows_sent
        for outcome in outcomes:
            kind = outcome.outcome
            if kind is OutcomeKind.UPLOADED or kind is OutcomeKind.ACCEPTED:
                progress.uploaded += 1
            elif kind is OutcomeKind.DUPLICATE:
                progress.duplicates += 1
            elif kind is OutcomeKind.REJECTED:
                progress.rejected += 1
            else:
                progress.failed += 1

    async def _stages(
        self,
        group: TaskGroup,
        source: CsvSource,
        columns: ColumnMap,
        rules: CampaignRules,
        deliver: Delivery,
        send_outcomes: MemoryObjectSendStream[list[Outcome]],
    ) -> None:
        settings = self.settings
        size = settings.stream_buffer
        read_out, normalize_in = anyio.create_memory_object_stream[RowBatch](size)
        normalize_out, rules_in = anyio.create_memory_object_stream[RowBatch](size)
        rules_out, dedup_in = anyio.create_memory_object_stream[RowBatch](size)
        dedup_out, batch_in = anyio.create_memory_object_stream[RowBatch](size)
        batch_out, deliver_in = anyio.create_memory_object_stream[UploadBatch](size)
        dedup = ExactDedup()

        async with send_outcomes:
            group.start_soon(self._read, source, read_out)
            group.start_soon(partial(
                _map_stage, normalize_in, normalize_out,
                partial(normalize_batch, columns=columns, default_region=settings.default_region,
                        blank_invalid_email=settings.invalid_email == "blank"),
                in_thread=True,
            ))
            group.start_soon(_map_stage, rules_in, rules_out, rules.apply)
            group.start_soon(_map_stage, dedup_in, dedup_out, partial(
                dedup.check_batch, by_external_id=columns.external_id is not None))
            group.start_soon(partial(
                batch_rows, batch_in, batch_out, send_outcomes.clone(),
                batch_size=settings.batch_size, header=settings.list_fields.upload_header,
            ))
            group.start_soon(deliver, deliver_in, send_outcomes.clone())

    async def _read(self, source: CsvSource, send: ObjectSendStream[RowBatch]) -> None:
        async with send:
            async for batch in source.batches():
                self.progress.rows_read = source.rows_read
                self.progress.bytes_read = source.bytes_read
                await send.send(batch)

    def _dry_run_delivery(self) -> Delivery:
        directory = self.out_dir / "batches"
        directory.mkdir(exist_ok=True)
        for stale in directory.glob("batch-*.csv"):
            stale.unlink()
        return partial(write_batch_files, directory=directory)

    async def _cxone_delivery(self, stack: AsyncExitStack, log: FilteringBoundLogger) -> Delivery:
        """Sign in, find or create the list; the delivery that uploads, then reconciles."""
        settings = self.settings
        if settings.credentials is None:
            raise ConfigError(
                "no CXone credentials: set CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, "
                "CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET, or use --dry-run"
            )
        session = await stack.enter_async_context(aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.retry.timeout),
        ))
        rng = random.Random()
        client = CXoneClient(session, settings.credentials, api_version=settings.api_version,
                             retry=settings.retry, rng=rng, log=log)
        try:
            await client.connect()
        except HTTPStatusError as error:
            if error.status in (400, 401, 403):
                raise ConfigError(f"CXone refused the credentials ({error})") from None
            raise
        list_id, self.list_name, created = await self._resolve_list(client)
        self.list_id = list_id
        log.info("streamer.list_resolved", list_id=list_id, list_name=self.list_name,
                 created=created)
        uploader = Uploader(client, list_id, settings, log, self.stats, rng=rng)
        journal: Journal | None = None
        if settings.verify:
            journal = self.journal = Journal.fresh(self.out_dir / "journal.sqlite3")
            stack.callback(self._close_journal)

        async def upload_then_reconcile(
            receive: MemoryObjectReceiveStream[UploadBatch],
            send_outcomes: MemoryObjectSendStream[list[Outcome]],
        ) -> None:
            async with receive, send_outcomes:
                async with anyio.create_task_group() as workers:
                    # As many workers as the limiter may ever allow; it decides how many send.
                    for _ in range(settings.max_concurrency):
                        workers.start_soon(uploader.work, receive.clone(),
                                           send_outcomes.clone(), journal)
                limiter = uploader.limiter
                self.stats.concurrency = {
                    "start": settings.concurrency, "final": limiter.limit,
                    "lowest": limiter.lowest, "highest": limiter.highest,
                    "maximum": limiter.maximum,
                }
                if journal is not None:
                    self.verification = await reconcile(
                        client=client, list_id=list_id, journal=journal, uploader=uploader,
                        send_outcomes=send_outcomes, batch_size=settings.batch_size,
                        chunk_rows=settings.chunk_rows,
                        header=settings.list_fields.upload_header,
                        external_id_field=settings.list_fields.record_external_id_field,
                        resend_rounds=settings.resend_rounds, log=log,
                    )

        return upload_then_reconcile

    def _close_journal(self) -> None:
        if self.journal is not None:
            self.journal.close()

    async def _resolve_list(self, client: CXoneClient) -> tuple[int, str | None, bool]:
        settings = self.settings
        if settings.list_id is not None:
            return settings.list_id, None, False
        name = settings.target_list_name(self.path)
        found = await client.find_list(name)
        if found is not None:
            return found, name, False
        fields = settings.list_fields
        list_id = await client.create_list(
            name, external_id_column=fields.external_id_header,
            phone_column=fields.phone_header, phone_field=fields.phone_field,
            first_name_column=fields.first_name_header,
            last_name_column=fields.last_name_header,
        )
        return list_id, name, True


async def run(
    path: str | PathLike[str], settings: Settings, *, progress: Progress | None = None
) -> Report:
    """Run the whole pipeline over ``path`` and return the reconciliation report."""
    return await _Run(Path(path), settings, progress).execute()


async def stream(
    path: str | PathLike[str], settings: Settings, *, progress: Progress | None = None
) -> AsyncIterator[Outcome]:
    """Yield each row's outcome as soon as it is decided.

    The pipeline runs in a task of its own, so the caller's code between iterations
    never runs inside the pipeline's cancel scope; leaving the loop early (``break``, an
    exception) cancels the pipeline and waits for it to stop. Errors of the run are
    raised from the iteration after the outcomes decided before them.
    """
    send, receive = anyio.create_memory_object_stream[list[Outcome]](settings.stream_buffer)
    pipeline = _Run(Path(path), settings, progress)

    async def produce() -> Report:
        async with send:
            return await pipeline.execute(send.send)

    task = asyncio.get_running_loop().create_task(produce())
    try:
        async with receive:
            async for outcomes in receive:
                for outcome in outcomes:
                    yield outcome
        await task
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait([task])
