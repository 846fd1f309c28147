"""Read-back reconciliation: is every row CXone said it took really in the list?

CXone's upload jobs report completion only, never per-record results, so the only
proof is the list itself. After the uploads, the list's records are read back (paged)
and compared, by external id, with what the journal says was sent. A row that is not
there is re-sent, and the list read again, for up to ``resend_rounds`` rounds; a row still
not there has failed (``missing_after_upload``). Two rounds by default: a record lost at
random (the sandbox's ``--lose-rate 0.01``) is then lost for good one time in a million,
while a list that refuses records for a reason (a full tenant) fails after two tries.
Only then do rows get their ``uploaded`` outcome.

Reading back is paced like uploading (a 429 slows the pages that follow) and each page is
retried within the retry policy's time budget, not for a count of tries. Where it has got
to is journaled with the ids it read, so a run killed while reading goes on from there.
If the budget runs out all the same, the rows read-back could not decide fail with
``verify_incomplete`` (they may well be in the list), and the run still ends with its
outputs and report. An answer that cannot be read (a field name streamer does not know)
stops the run instead: that is the user's to set right, and a resume then goes on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from functools import partial
from random import Random

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer.counters import Phase, Progress, Verification
from streamer.delivery._pacing import AdaptiveLimiter
from streamer.delivery._target import ListTarget, RecordsPage
from streamer.delivery._uploader import Uploader
from streamer.errors import RemoteError, UnreadableAnswer
from streamer.limits import MAX_PAGE_SIZE
from streamer.records import Outcome, OutcomeKind, ReasonCode, UploadBatch, row_outcomes
from streamer.retry import retry_call
from streamer.run import Journal
from streamer.settings import Settings
from streamer.upload_format import render_csv

_EXAMPLES = 10  # missing rows named in the audit, for a search in CXone
#: Ids go to the journal a few thousand at a time (one transaction per 100-record page
#: would cost more than the page), or after a second when pages come slowly, so a kill
#: costs a resumed read-back at most that much.
_LISTED_PER_WRITE = 5_000
_LISTED_EVERY_S = 1.0

OutcomeSink = Callable[[list[Outcome]], Awaitable[None]]


class Reconciler:
    """Reads one list back into the journal and decides the outcome of every sent row."""

    def __init__(self, target: ListTarget, list_id: int, journal: Journal,
                 settings: Settings, verification: Verification, log: FilteringBoundLogger,
                 *, rng: Random, upload_header: tuple[str, ...],
                 progress: Progress | None = None) -> None:
        self._target = target
        # The mirror reads the list with this reader too, without a progress to tell.
        self._progress = progress or Progress()
        self._upload_header = upload_header
        self._list_id = list_id
        self._journal = journal
        self._settings = settings
        self._log = log
        self._rng = rng
        self.verification = verification
        self.pace = AdaptiveLimiter(settings.concurrency, settings.max_concurrency, log,
                                    calls="read-back")

    # -- reading the list back --------------------------------------------------------

    async def read_back(self) -> None:
        """Record every external id in the list in the journal, from where an earlier
        read-back stopped, to the first empty page (a total is a hint, not a bound).

        The first page tells the server's page size; then ``concurrency`` readers take
        the following pages side by side. Raises the first page's error that outlasted
        its retries, once the ids read before it are in the journal.
        """
        journal, result, progress = self._journal, self.verification, self._progress
        progress.enter(Phase.VERIFYING)
        start = journal.read_back_from()
        progress.page, progress.pages = 0, 0
        first = await self._page(start)
        result.records_read += first.size
        if not first.size:
            return
        step = min(first.size, MAX_PAGE_SIZE)
        if first.total is not None:  # a hint, for the display only
            progress.pages = max(1, math.ceil((first.total - start) / step))
        next_skip, end = start + step, None
        done: set[int] = {start}
        read_from = start + step
        listed = list(first.external_ids)
        seen = {_page_key(first): start}
        failure: RemoteError | None = None
        written = time.monotonic()

        def keep(skip: int, page: RecordsPage) -> None:
            nonlocal read_from, listed, written
            done.add(skip)
            while read_from in done:
                read_from += step
            listed += page.external_ids
            if len(listed) >= _LISTED_PER_WRITE or time.monotonic() - written >= _LISTED_EVERY_S:
                journal.add_listed(listed, read_from=read_from)
                listed, written = [], time.monotonic()

        async def reader() -> None:
            nonlocal next_skip, end, failure
            while failure is None and (end is None or next_skip < end):
                skip, next_skip = next_skip, next_skip + step
                try:
                    page = await self._page(skip)
                except RemoteError as error:
                    failure = failure or error
                    return
                result.records_read += page.size
                if not page.size:
                    end = skip if end is None else min(end, skip)
                    continue
                if seen.setdefault(_page_key(page), skip) != skip:
                    failure = failure or UnreadableAnswer(
                        f"read back list {self._list_id}: the same records came back for "
                        "another skip; the server does not page")
                    return
                keep(skip, page)

        async with anyio.create_task_group() as readers:
            for _ in range(self._settings.concurrency):
                readers.start_soon(reader)
        journal.add_listed(listed, read_from=read_from if failure else (end or read_from))
        if failure is not None:
            raise failure

    async def _page(self, skip: int) -> RecordsPage:
        def note(attempt: int, error: RemoteError, wait: float) -> None:
            self._log.warning("streamer.read_back_retry", list_id=self._list_id, skip=skip,
                              attempt=attempt, error=str(error), wait_s=round(wait, 3))

        retry = self._settings.retry
        page = await retry_call(
            partial(self.pace.run, partial(self._target.records_page, self._list_id, skip)),
            retry, self._rng, on_retry=note, within=retry.give_up_after)
        self._note_list(page)
        if page.size:
            self._progress.page += 1
        return page

    def _note_list(self, page: RecordsPage) -> None:
        """What CXone says of the list as a whole, for the report."""
        result = self.verification
        if page.status is not None:
            result.list_status = page.status
        if page.total is not None:
            result.list_total_records = page.total
        if page.valid_records is not None:
            result.list_valid_records = page.valid_records
        if page.invalid_records is not None:
            result.list_invalid_records = page.invalid_records

    # -- deciding -----------------------------------------------------------------------

    async def reconcile(self, uploader: Uploader,
                        send_outcomes: ObjectSendStream[list[Outcome]]) -> None:
        """Decide the outcome of every row in the journal; see the module docstring."""
        journal, result, settings = self._journal, self.verification, self._settings
        result.enabled = True
        if journal.sent_count() == 0:
            return
        chunk = settings.chunk_rows
        try:
            await self.read_back()
            missing = journal.mark_listed()
            for round_number in range(1, settings.resend_rounds + 1):
                if not missing:
                    break
                await self._resend(uploader, missing, round_number)
                await self.read_back()
                missing = journal.mark_listed()
            for rows in journal.missing(chunk):
                result.missing_after_upload += len(rows)
                await send_outcomes.send(
                    row_outcomes(rows, OutcomeKind.FAILED, ReasonCode.MISSING_AFTER_UPLOAD))
        except UnreadableAnswer:
            raise
        except RemoteError as error:
            result.incomplete = str(error)
            undecided = journal.mark_listed()
            self._log.error("streamer.verify_incomplete", list_id=self._list_id,
                            undecided=undecided, error=str(error))
            for rows in journal.missing(chunk):
                await send_outcomes.send(row_outcomes(
                    rows, OutcomeKind.FAILED, ReasonCode.VERIFY_INCOMPLETE, str(error)))
        for outcomes in journal.listed_outcomes(chunk):
            result.verified += len(outcomes)
            await send_outcomes.send(outcomes)
        self._log.info("streamer.reconciled", list_id=self._list_id, **result.summary())

    async def _resend(self, uploader: Uploader, missing: int, round_number: int) -> None:
        """One round: every missing row sent again, batches side by side (the uploader's
        window decides how many), all waiting for their jobs until one shared deadline."""
        journal, settings = self._journal, self._settings
        self._progress.enter(Phase.RESENDING)
        examples = [{"record": row.record, "external_id": row.external_id}
                    for row in next(journal.missing(_EXAMPLES), [])]
        self._log.warning("streamer.records_missing", list_id=self._list_id, missing=missing,
                          round=round_number, examples=examples)
        wait_until = time.monotonic() + settings.job_timeout
        header = self._upload_header

        async def sender(receive: ObjectReceiveStream[UploadBatch]) -> None:
            async with receive:
                async for batch in receive:
                    sent = await uploader.send(batch, wait_until=wait_until)
                    journal.mark_resent(row.record for row in batch.rows)
                    self.verification.resent += len(batch.rows)
                    self._log.info("streamer.batch_resent", batch=batch.file_name,
                                   rows=len(batch.rows), job_id=sent.job_id,
                                   failure=sent.failure, round=round_number)

        send, receive = anyio.create_memory_object_stream[UploadBatch](0)
        async with anyio.create_task_group() as senders:
            with receive:
                for _ in range(settings.max_concurrency):
                    senders.start_soon(sender, receive.clone())
            async with send:
                for resend_id, rows in enumerate(journal.missing(settings.batch_size), 1):
                    await send.send(UploadBatch(resend_id, rows, render_csv(rows, header),
                                                kind="resend"))

    async def settle_leftovers(self, sink: OutcomeSink) -> int:
        """On resume: rows an earlier run handed to CXone, checked before any is sent again.

        The list is read back: rows it holds are ``uploaded``; the others are forgotten, so
        this run sends them like any other row. Returns how many were found in the list.
        A read-back that cannot finish stops the run here: nothing may be sent twice.
        """
        journal = self._journal
        waiting = journal.sent_count()
        if not waiting:
            return 0
        await self.read_back()
        journal.mark_listed()
        found = 0
        for outcomes in journal.listed_outcomes(self._settings.chunk_rows):
            found += len(outcomes)
            await sink(outcomes)
        self.verification.verified += found
        resend = journal.forget_missing()
        self._log.info("streamer.resume_checked", waiting=waiting, in_list=found,
                       to_send=resend)
        return found


def _page_key(page: RecordsPage) -> tuple[int, str, str]:
    """A page's identity, to catch a server that sends one page whatever the skip."""
    ids = page.external_ids
    return (page.size, ids[0] if ids else "", ids[-1] if ids else "")
