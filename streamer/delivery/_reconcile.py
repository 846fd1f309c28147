"""Read-back reconciliation: is every row CXone said it took really in the list?

CXone's upload jobs report completion only, never per-record results, so the only
proof is the list itself. After the uploads, the list's records are read back (paged)
and compared, by external id, with what the journal says was sent. A row that is not
there is re-sent, and the list read again, for up to ``resend_rounds`` rounds; a row still
not there has failed (``missing_after_upload``). Two rounds by default: a record lost at
random (the sandbox's ``--lose-rate 0.01``) is then lost for good one time in a million,
while a list that refuses records for a reason (a full tenant) fails after two tries.
Only then do rows get their ``uploaded`` outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import ObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer.delivery._target import ListTarget
from streamer.delivery._uploader import Uploader
from streamer.limits import MAX_PAGE_SIZE
from streamer.records import (
    Outcome,
    OutcomeKind,
    ReasonCode,
    UploadBatch,
    Verification,
    row_outcomes,
)
from streamer.run import Journal
from streamer.upload_format import render_csv

_EXAMPLES = 10  # missing rows named in the audit, for a search in CXone


_LISTED_PER_WRITE = 5_000


async def read_back(
    target: ListTarget,
    list_id: int,
    journal: Journal,
    external_id_field: str,
    concurrency: int = 4,
) -> int:
    """Record every external id in the list; returns how many records were read.

    Pages hold at most 100 records, so a big list is thousands of requests: after the
    first page tells the total, ``concurrency`` readers fetch the rest side by side.
    """
    total, first = await target.records_page(list_id, 0)
    # Ids go to the journal a few thousand at a time: one transaction per 100-record
    # page cost more than the page. (Nothing relies on them before read-back ends.)
    listed = _ids(first, external_id_field)
    skips = iter(range(len(first), total, MAX_PAGE_SIZE)) if first else iter(())
    read = len(first)

    async def reader() -> None:
        nonlocal read, listed
        for skip in skips:  # one shared iterator: each page is read once
            _, records = await target.records_page(list_id, skip)
            listed += _ids(records, external_id_field)
            read += len(records)
            if len(listed) >= _LISTED_PER_WRITE:
                journal.add_listed(listed)
                listed = []

    async with anyio.create_task_group() as readers:
        for _ in range(concurrency):
            readers.start_soon(reader)
    journal.add_listed(listed)
    return read


def _ids(records: list[dict[str, Any]], field: str) -> list[str]:
    return [str(r[field]) for r in records if r.get(field)]


async def reconcile(
    *,
    target: ListTarget,
    list_id: int,
    journal: Journal,
    uploader: Uploader,
    send_outcomes: ObjectSendStream[list[Outcome]],
    batch_size: int,
    chunk_rows: int,
    header: tuple[str, ...],
    external_id_field: str,
    resend_rounds: int,
    concurrency: int,
    log: FilteringBoundLogger,
) -> Verification:
    """Decide the outcome of every row in the journal; see the module docstring."""
    result = Verification(enabled=True)
    if journal.sent_count() == 0:
        return result
    result.records_read = await read_back(target, list_id, journal, external_id_field,
                                          concurrency)
    missing = journal.mark_listed()
    for round_number in range(1, resend_rounds + 1):
        if not missing:
            break
        examples = [{"record": row.record, "external_id": row.external_id, "phone": row.phone}
                    for row in next(journal.missing(_EXAMPLES), [])]
        log.warning("streamer.records_missing", list_id=list_id, missing=missing,
                    round=round_number, examples=examples)
        for resend_id, rows in enumerate(journal.missing(batch_size), start=1):
            batch = UploadBatch(resend_id, rows, render_csv(rows, header), kind="resend")
            sent = await uploader.send(batch)
            journal.mark_resent(row.record for row in rows)
            result.resent += len(rows)
            log.info("streamer.batch_resent", batch=batch.file_name, rows=len(rows),
                     job_id=sent.job_id, failure=sent.failure, round=round_number)
        result.records_read += await read_back(target, list_id, journal, external_id_field,
                                               concurrency)
        missing = journal.mark_listed()
    for rows in journal.missing(chunk_rows):
        result.missing_after_upload += len(rows)
        await send_outcomes.send(
            row_outcomes(rows, OutcomeKind.FAILED, ReasonCode.MISSING_AFTER_UPLOAD))
    for outcomes in journal.listed_outcomes(chunk_rows):
        result.verified += len(outcomes)
        await send_outcomes.send(outcomes)
    log.info("streamer.reconciled", list_id=list_id, **result.summary())
    return result


async def settle_leftovers(
    *,
    target: ListTarget,
    list_id: int,
    journal: Journal,
    sink: Callable[[list[Outcome]], Awaitable[None]],
    chunk_rows: int,
    external_id_field: str,
    concurrency: int,
    log: FilteringBoundLogger,
) -> int:
    """On resume: rows an earlier run handed to CXone, checked before any is sent again.

    The list is read back: rows it holds are ``uploaded``; the others are forgotten, so
    this run sends them like any other row. Returns how many were found in the list.
    """
    waiting = journal.sent_count()
    if not waiting:
        return 0
    await read_back(target, list_id, journal, external_id_field, concurrency)
    journal.mark_listed()
    found = 0
    for outcomes in journal.listed_outcomes(chunk_rows):
        found += len(outcomes)
        await sink(outcomes)
    resend = journal.forget_missing()
    log.info("streamer.resume_checked", waiting=waiting, in_list=found, to_send=resend)
    return found
