"""Wires the stages together; the only module that knows their order.

    reader ─▶ normalize + rules + dedup ─▶ resume filter ─▶ batcher ─▶ uploaders
              (in a worker process; dedup                       │           │
               here when there are several)                     │       read-back
        journal ◀── outcomes ◀── rejected / duplicate ──────────┘───────────┘

Every stage is one task in one task group, connected by bounded memory object streams
carrying batches of rows, so a slow uploader slows the reader and memory stays flat.
Rules run before dedup so that ``duplicate_of`` always names a record that was itself
accepted: a duplicate of a rejected row would otherwise never reach the list.

Every outcome goes to the journal first; the output files are written from it at the
end, in record order. A re-run after a crash re-reads the file (every stage is
deterministic, so the dedup index comes back the same) and the resume filter drops the
rows the journal has already settled.
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
from streamer.dedup import DedupRules
from streamer.dnc import DoNotCall, DoNotCallBuilder
from streamer.errors import ConfigError, HTTPStatusError, Interrupted
from streamer.gc_pacing import rarer_collections
from streamer.html_report import write_html
from streamer.journal import Journal, fingerprint_file
from streamer.normalize import NormalizeRules
from streamer.reader import ColumnMap, CsvSource
from streamer.reconcile import Verification, reconcile, settle_leftovers
from streamer.records import Outcome, OutcomeKind, RowBatch
from streamer.report import OUTCOME_HEADER, Report, RowFileWriter, UploadStats, write_report
from streamer.rules import CampaignRules
from streamer.settings import Settings
from streamer.upload import Uploader, write_batch_files
from streamer.webhook import notify
from streamer.workers import RowWork, RowWorkers, worker_count

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
    resumed: bool = False


async def _map_stage(
    receive: ObjectReceiveStream[RowBatch],
    send: ObjectSendStream[RowBatch],
    transform: Callable[[RowBatch], RowBatch],
) -> None:
    """A stage that transforms each batch in place, or filters it."""
    async with receive, send:
        async for batch in receive:
            batch = transform(batch)
            if batch:
                await send.send(batch)


def _unchanged(batch: RowBatch) -> RowBatch:
    return batch


def _drop_settled(batch: RowBatch, settled: bytearray) -> RowBatch:
    """The resume filter: rows an earlier run already decided or handed to CXone."""
    size = len(settled)
    return [row for row in batch if row.record > size or not settled[row.record - 1]]


class _Run:
    """One run of the pipeline over one file."""

    def __init__(
        self,
        path: Path,
        settings: Settings,
        progress: Progress | None,
        stop: anyio.Event | None,
    ) -> None:
        self.path = path
        self.settings = settings
        self.progress = progress or Progress()
        self.stop = stop or anyio.Event()
        self.run_id = uuid.uuid4().hex
        self.out_dir = settings.output_dir(path)
        self.stats = UploadStats()
        self.verification = Verification()
        self.list_id: int | None = None
        self.list_name: str | None = None
        self.dnc: DoNotCall | None = None
        self.resumed = False
        self._journal: Journal | None = None
        self._sink: OutcomeSink | None = None
        self._source: CsvSource | None = None
        self._rng = random.Random()
        self._timeline: list[list[float]] = []
        self._fingerprint = ""

    @property
    def journal(self) -> Journal:
        assert self._journal is not None, "the journal opens before any stage starts"
        return self._journal

    async def execute(self, sink: OutcomeSink | None = None) -> Report:
        settings = self.settings
        started = time.monotonic()
        self.progress.started = started
        self._sink = sink
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot create output directory {self.out_dir}: "
                              f"{error.strerror}") from None
        async with AsyncExitStack() as stack:
            stack.enter_context(rarer_collections())
            audit_file = stack.enter_context(
                open(self.out_dir / "audit.jsonl", "a", encoding="utf-8")  # noqa: ASYNC230, SIM115
            )
            log = audit_logger(audit_file, full_pii=settings.audit_full_pii, run_id=self.run_id)
            source = self._source = await stack.enter_async_context(
                CsvSource(self.path, settings))
            assert source.columns is not None
            self.progress.bytes_total = source.size
            client = None
            if not settings.dry_run or settings.wants_dnc_groups:
                client = await self._connect(stack, log)
            rules = await self._campaign_rules(source.columns, client, log)
            processes = worker_count(settings.workers, source.size)
            dedup = self._dedup_rules(source)
            # Dedup goes with the other row stages where one process sees every batch.
            dedup_on_main, dedup_in_work = (dedup, None) if processes > 1 else (None, dedup)
            row_work = RowWork(NormalizeRules(source.columns, settings.default_region,
                                              settings.invalid_email == "blank"), rules,
                               dedup=dedup_in_work)
            workers = await stack.enter_async_context(RowWorkers(row_work, processes))
            await self._open_journal(stack)
            log.info("streamer.run_started", input=str(self.path), out_dir=str(self.out_dir),
                     resumed=self.resumed, dry_run=settings.dry_run,
                     batch_size=settings.batch_size, concurrency=settings.concurrency,
                     default_region=settings.default_region,
                     columns=list(source.columns.header), encoding=source.encoding,
                     compression=source.compression, workers=workers.workers)
            if client is None or settings.dry_run:
                deliver = self._dry_run_delivery()
            else:
                deliver = await self._cxone_delivery(client, log)
            settled = self.journal.settled()
            send, receive = anyio.create_memory_object_stream[list[Outcome]](
                settings.stream_buffer
            )
            async with anyio.create_task_group() as group:
                group.start_soon(self._stages, group, source, workers, dedup_on_main, settled,
                                 deliver, send)
                async with receive:
                    async for outcomes in receive:
                        await self._collect(outcomes)
            if self.stop.is_set():
                log.warning("streamer.run_stopped", rows_read=source.rows_read,
                            decided=self.journal.counts().total)
                raise Interrupted(
                    f"stopped after {source.rows_read:,} rows; the journal in "
                    f"{self.out_dir} keeps every decided row: run the same command again "
                    "to resume")
            report = await self._finish(source, time.monotonic() - started, log)
            return report

    async def _collect(self, outcomes: list[Outcome]) -> None:
        """Where every outcome goes: the journal first, then the progress and the caller."""
        self.journal.record_outcomes(outcomes)
        self._count(outcomes)
        self._sample_progress()
        if self._sink is not None:
            await self._sink(outcomes)

    def _dedup_rules(self, source: CsvSource) -> DedupRules | None:
        settings = self.settings
        if settings.dedup == "off":
            return None
        assert source.columns is not None
        return DedupRules(fuzzy=settings.fuzzy if settings.dedup == "fuzzy" else None,
                          by_external_id=source.columns.external_id is not None,
                          expected_rows=source.estimated_rows)

    async def _campaign_rules(
        self, columns: ColumnMap, client: CXoneClient | None, log: FilteringBoundLogger
    ) -> CampaignRules:
        """The rules, with the do-not-call set from --dnc and the tenant's DNC groups."""
        settings = self.settings
        if settings.dnc_file is not None or settings.wants_dnc_groups:
            builder = DoNotCallBuilder(settings.default_region)
            if settings.dnc_file is not None:
                await anyio.to_thread.run_sync(builder.add_file, settings.dnc_file)
            if settings.wants_dnc_groups:
                assert client is not None  # connected because the groups are wanted
                await self._add_dnc_groups(builder, client, log)
            self.dnc = await anyio.to_thread.run_sync(builder.build)
            log.info("streamer.dnc_loaded", numbers=len(self.dnc), sources=self.dnc.sources,
                     unreadable=self.dnc.unreadable)
        return CampaignRules(
            columns, required=settings.required_columns,
            allowed_countries=settings.allowed_countries, dnc=self.dnc,
            max_record_chars=settings.max_record_chars,
        )

    async def _add_dnc_groups(
        self, builder: DoNotCallBuilder, client: CXoneClient, log: FilteringBoundLogger
    ) -> None:
        settings = self.settings
        groups = {int(g["dncGroupId"]): str(g.get("dncGroupName") or "")
                  for g in await client.dnc_groups()}
        wanted = list(settings.dnc_groups)
        by_name = {name: group_id for group_id, name in groups.items()}
        for name in settings.dnc_group_names:
            if name not in by_name:
                raise ConfigError(f"no DNC group named {name!r}; the tenant has: "
                                  f"{', '.join(sorted(by_name)) or 'none'}")
            wanted.append(by_name[name])
        for group_id in dict.fromkeys(wanted):
            if group_id not in groups:
                raise ConfigError(f"no DNC group {group_id}; the tenant has: "
                                  f"{', '.join(map(str, sorted(groups))) or 'none'}")
            label = f"DNC group {group_id} ({groups[group_id]})"
            expired = await builder.add_group(label, client.dnc_records(group_id))
            log.info("streamer.dnc_group_read", group_id=group_id, expired=expired)

    async def _open_journal(self, stack: AsyncExitStack) -> None:
        fingerprint = self._fingerprint = await anyio.to_thread.run_sync(
            fingerprint_file, self.path)
        self._journal, self.resumed = Journal.open(
            self.out_dir / "journal.sqlite3", fingerprint=fingerprint,
            settings_key=self.settings.outcome_key(), restart=self.settings.restart,
        )
        self.progress.resumed = self.resumed
        stack.callback(self._close_journal)

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()

    async def _finish(
        self, source: CsvSource, duration: float, log: FilteringBoundLogger
    ) -> Report:
        """Every row has its outcome: write the outputs from the journal, then the report."""
        journal = self.journal
        by_kind, by_reason, total, reason_samples = journal.counts()
        await self._export(source.columns.header if source.columns else ())
        report = Report(
            run_id=self.run_id, input=str(self.path), out_dir=str(self.out_dir),
            dry_run=self.settings.dry_run, resumed=self.resumed, rows_read=source.rows_read,
            outcomes={kind.value: by_kind.get(kind.value, 0) for kind in OutcomeKind},
            reasons=by_reason,
            balanced=journal.repeated == 0 and total == source.rows_read,
            list_id=self.list_id, list_name=self.list_name, job_ids=self.stats.job_ids,
            upload=self.stats.summary(), verification=self.verification.summary(),
            duration_s=round(duration, 3),
            rows_per_second=round(source.rows_read / duration, 1) if duration else 0.0,
            fingerprint=self._fingerprint, settings=self.settings.describe(),
            reading={"encoding": source.encoding, "compression": source.compression,
                     "nuls_removed": source.nuls_removed,
                     "bytes_read_as_cp1252": source.fallback_sequences},
            reason_samples=reason_samples, progress_timeline=self._timeline,
            request_timeline=self.stats.timeline,
        )
        journal.remove()
        self._journal = None
        settings = self.settings
        if settings.webhook_url:
            report.webhook = await notify(
                settings.webhook_url, self._webhook_payload(report),
                secret=settings.webhook_secret, timeout_s=settings.webhook_timeout,
                attempts=settings.webhook_attempts, log=log,
            )
        await write_report(self.out_dir / "report.json", report)
        await anyio.to_thread.run_sync(write_html, self.out_dir)
        log.info("streamer.run_finished", rows_read=report.rows_read,
                 balanced=report.balanced, duration_s=report.duration_s, **report.outcomes)
        return report

    async def _export(self, header: tuple[str, ...]) -> None:
        """outcomes.csv, rejected.csv and failed.csv, in record order, each written whole."""
        outcomes = RowFileWriter(self.out_dir / "outcomes.csv", OUTCOME_HEADER)
        rejected = RowFileWriter(self.out_dir / "rejected.csv",
                                 (*header, "record", "reason", "detail"))
        failed = RowFileWriter(self.out_dir / "failed.csv",
                               (*header, "record", "reason", "detail"))
        files = (outcomes, rejected, failed)
        try:
            for file in files:
                await file.open()
            journal = self.journal
            for lines in journal.outcome_lines():
                await outcomes.write_lines(lines)
            for kind, file in ((OutcomeKind.REJECTED, rejected), (OutcomeKind.FAILED, failed)):
                for rows in journal.rows_of(kind):
                    await file.write_rows(rows)
            for file in files:
                await file.commit()
        finally:
            for file in files:
                await file.close()

    def _webhook_payload(self, report: Report) -> dict[str, Any]:
        """What a CRM needs to react to the run; counts only, no personal data."""
        return {
            "event": "streamer.run_finished", "run_id": report.run_id,
            "list_id": report.list_id, "list_name": report.list_name,
            "rows_read": report.rows_read, "outcomes": report.outcomes,
            "reasons": report.reasons, "balanced": report.balanced,
            "report_path": str((self.out_dir / "report.json").resolve()),
        }

    def _sample_progress(self, *, every_s: float = 0.25) -> None:
        """A point of the throughput chart, a few times a second at most."""
        now = time.monotonic() - self.progress.started
        if self._timeline and now - self._timeline[-1][0] < every_s:
            return
        decided = (self.progress.uploaded + self.progress.duplicates + self.progress.rejected
                   + self.progress.failed)
        self._timeline.append([round(now, 3), self.progress.rows_read, decided])

    def _count(self, outcomes: list[Outcome]) -> None:
        progress = self.progress
        if self._source is not None:
            progress.rows_read = self._source.rows_read
            progress.bytes_read = self._source.bytes_read
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
        workers: RowWorkers,
        dedup: DedupRules | None,
        settled: bytearray,
        deliver: Delivery,
        send_outcomes: MemoryObjectSendStream[list[Outcome]],
    ) -> None:
        settings = self.settings
        size = settings.stream_buffer
        read_out, work_in = anyio.create_memory_object_stream[RowBatch](size)
        work_out, dedup_in = anyio.create_memory_object_stream[RowBatch](size)
        dedup_out, resume_in = anyio.create_memory_object_stream[RowBatch](size)
        resume_out, batch_in = anyio.create_memory_object_stream[RowBatch](size)
        batch_out, deliver_in = anyio.create_memory_object_stream[UploadBatch](size)
        # Unless the workers' own stages have it already.
        deduplicate = dedup.start() if dedup is not None else _unchanged

        async with send_outcomes:
            group.start_soon(self._read, source, read_out)
            group.start_soon(workers.stage, work_in, work_out)
            group.start_soon(_map_stage, dedup_in, dedup_out, deduplicate)
            # A fresh run has nothing settled: the filter passes batches through untouched.
            group.start_soon(_map_stage, resume_in, resume_out,
                             partial(_drop_settled, settled=settled) if settled else _unchanged)
            group.start_soon(partial(
                batch_rows, batch_in, batch_out, send_outcomes.clone(),
                batch_size=settings.batch_size, header=settings.list_fields.upload_header,
            ))
            group.start_soon(deliver, deliver_in, send_outcomes.clone())

    async def _read(self, source: CsvSource, send: ObjectSendStream[RowBatch]) -> None:
        """The first stage; a graceful stop ends the file here, and the rest drains."""
        async with send:
            async for batch in source.batches():
                self.progress.rows_read = source.rows_read
                self.progress.bytes_read = source.bytes_read
                await send.send(batch)
                if self.stop.is_set():
                    return

    def _dry_run_delivery(self) -> Delivery:
        directory = self.out_dir / "batches"
        directory.mkdir(exist_ok=True)
        if not self.resumed:
            for stale in directory.glob("batch-*.csv"):
                stale.unlink()
        return partial(write_batch_files, directory=directory)

    async def _connect(self, stack: AsyncExitStack, log: FilteringBoundLogger) -> CXoneClient:
        """A client signed in to the tenant (or the sandbox)."""
        settings = self.settings
        if settings.credentials is None:
            raise ConfigError(
                "no CXone credentials: set CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, "
                "CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET"
                + ("" if settings.dry_run else ", or use --dry-run")
            )
        session = await stack.enter_async_context(aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.retry.timeout),
        ))
        client = CXoneClient(session, settings.credentials, api_version=settings.api_version,
                             retry=settings.retry, rng=self._rng, log=log)
        try:
            await client.connect()
        except HTTPStatusError as error:
            if error.status in (400, 401, 403):
                raise ConfigError(f"CXone refused the credentials ({error})") from None
            raise
        return client

    async def _cxone_delivery(self, client: CXoneClient, log: FilteringBoundLogger) -> Delivery:
        """Find or create the list, settle a resumed run's leftovers; the delivery that
        uploads, then reconciles."""
        settings = self.settings
        rng = self._rng
        list_id = await self._resolve_list(client, log)
        fields = settings.list_fields
        await settle_leftovers(
            client=client, list_id=list_id, journal=self.journal, sink=self._collect,
            chunk_rows=settings.chunk_rows,
            external_id_field=fields.record_external_id_field,
            concurrency=settings.concurrency, log=log,
        )
        uploader = Uploader(client, list_id, settings, log, self.stats, rng=rng)
        journal = self.journal

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
                if settings.verify and not self.stop.is_set():
                    self.verification = await reconcile(
                        client=client, list_id=list_id, journal=journal, uploader=uploader,
                        send_outcomes=send_outcomes, batch_size=settings.batch_size,
                        chunk_rows=settings.chunk_rows, header=fields.upload_header,
                        external_id_field=fields.record_external_id_field,
                        resend_rounds=settings.resend_rounds,
                        concurrency=settings.concurrency, log=log,
                    )

        return upload_then_reconcile

    async def _resolve_list(self, client: CXoneClient, log: FilteringBoundLogger) -> int:
        """The list to fill: by id, or found by name, or created; a resumed run keeps its own.
        """
        settings = self.settings
        remembered = self.journal.get("list_id")
        created = False
        if settings.list_id is not None:
            list_id = settings.list_id
        elif remembered is not None:
            list_id = int(remembered)
            self.list_name = settings.target_list_name(self.path)
        else:
            name = self.list_name = settings.target_list_name(self.path)
            found = await client.find_list(name)
            if found is None:
                fields = settings.list_fields
                found = await client.create_list(
                    name, external_id_column=fields.external_id_header,
                    phone_column=fields.phone_header, phone_field=fields.phone_field,
                    first_name_column=fields.first_name_header,
                    last_name_column=fields.last_name_header,
                )
                created = True
            list_id = found
        self.journal.put("list_id", str(list_id))
        self.list_id = list_id
        log.info("streamer.list_resolved", list_id=list_id, list_name=self.list_name,
                 created=created)
        return list_id


async def run(
    path: str | PathLike[str],
    settings: Settings,
    *,
    progress: Progress | None = None,
    stop: anyio.Event | None = None,
) -> Report:
    """Run the whole pipeline over ``path`` and return the reconciliation report.

    Setting ``stop`` ends the run gracefully: no more rows are read, uploads in flight
    finish, and :class:`~streamer.errors.Interrupted` is raised; the same call resumes.
    """
    return await _Run(Path(path), settings, progress, stop).execute()


async def stream(
    path: str | PathLike[str],
    settings: Settings,
    *,
    progress: Progress | None = None,
    stop: anyio.Event | None = None,
) -> AsyncIterator[Outcome]:
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
