"""The upload file format, and the stage that turns accepted rows into upload batches."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from anyio.abc import ObjectReceiveStream, ObjectSendStream

from streamer.csv_text import csv_line
from streamer.limits import MAX_CSV_BYTES
from streamer.records import Outcome, OutcomeKind, Row, RowBatch
from streamer.safety import neutralize
from streamer.settings import ListFields

#: The upload file's header unless settings say otherwise; the list's mapping names these.
UPLOAD_HEADER = ListFields().upload_header
_EXTERNAL_ID_SALT = b"streamer/external-id/v1\x1f"


def derive_external_id(phone_e164: str) -> str:
    """A stable external id for a contact that came without one.

    A hash of the E.164 number: the same number gets the same id on every run and
    machine, so re-uploading updates the list's record instead of adding a second one.
    (It is a pseudonym, not anonymisation: phone numbers are few enough to enumerate.)
    """
    digest = hashlib.sha256(_EXTERNAL_ID_SALT + phone_e164.encode()).hexdigest()
    return f"s1-{digest[:24]}"


def upload_fields(row: Row) -> tuple[str, str, str, str]:
    """The row as it is uploaded, in ``UPLOAD_HEADER`` order.

    Lists get exported and opened in spreadsheets too, so no cell may run as a formula.
    (An E.164 number is a number to a spreadsheet: it passes as it is.)
    """
    return (neutralize(row.external_id), row.phone, neutralize(row.first_name),
            neutralize(row.last_name))


def upload_line(row: Row) -> str:
    """The row's line in the upload file (:func:`upload_fields`), made once per row,
    where the rules are checked (a worker process): the rules measure it and the batcher
    only joins lines."""
    line = row.upload
    if line is None:
        line = row.upload = csv_line(upload_fields(row))
    return line


def record_chars(fields: tuple[str, ...]) -> int:
    """Characters of ``fields`` as one CSV line (without its line ending), quoting included."""
    return len(csv_line(fields))


def row_bytes_bound(row: Row) -> int:
    """Bytes the row can take in the upload file: 4 per character (UTF-8's worst), CRLF."""
    return len(upload_line(row)) * 4 + 2


def render_csv(rows: list[Row], header: tuple[str, ...] = UPLOAD_HEADER) -> bytes:
    """The UTF-8 CSV file of ``rows``, header first, as CXone takes it."""
    lines = [csv_line(header)]
    lines += [row.upload or upload_line(row) for row in rows]
    lines.append("")  # the last line's CRLF
    return "\r\n".join(lines).encode("utf-8")


@dataclass(frozen=True, slots=True)
class UploadBatch:
    """One upload file: its rows (for their outcomes) and the CSV bytes sent."""

    batch_id: int
    rows: list[Row]
    payload: bytes
    kind: str = "batch"  # "resend" for read-back reconciliation's second tries

    @property
    def file_name(self) -> str:
        return f"{self.kind}-{self.batch_id:06d}.csv"


def decided_outcome(row: Row) -> Outcome:
    """The outcome of a row an earlier stage rejected or found duplicate."""
    assert row.reason is not None
    if row.duplicate_of is not None:
        return Outcome(row.record, OutcomeKind.DUPLICATE, row.reason, row.duplicate_of,
                       row.external_id)
    return Outcome(row.record, OutcomeKind.REJECTED, row.reason, None, row.external_id,
                   tuple(row.fields), row.detail)


async def batch_rows(
    receive: ObjectReceiveStream[RowBatch],
    send_batches: ObjectSendStream[UploadBatch],
    send_outcomes: ObjectSendStream[list[Outcome]],
    *,
    batch_size: int,
    header: tuple[str, ...] = UPLOAD_HEADER,
    max_bytes: int = MAX_CSV_BYTES,
) -> None:
    """Emit the outcomes of rows already decided; pack the rest into upload batches.

    A batch closes at ``batch_size`` rows or before its CSV would pass ``max_bytes``
    (CXone's per-file limit, less base64's growth), whichever comes first.
    """
    header_bytes = len(",".join(header).encode()) + 2
    pending: list[Row] = []
    pending_bytes = header_bytes
    next_id = 1

    async def flush() -> None:
        nonlocal pending, pending_bytes, next_id
        batch = UploadBatch(next_id, pending, render_csv(pending, header))
        next_id += 1
        pending, pending_bytes = [], header_bytes
        await send_batches.send(batch)

    async with receive, send_batches, send_outcomes:
        async for rows in receive:
            decided = [decided_outcome(row) for row in rows if row.reason is not None]
            if decided:
                await send_outcomes.send(decided)
            for row in rows:
                if row.reason is not None:
                    continue
                size = row_bytes_bound(row)
                if pending and pending_bytes + size > max_bytes:
                    await flush()
                pending.append(row)
                pending_bytes += size
                if len(pending) >= batch_size:
                    await flush()
        if pending:
            await flush()
