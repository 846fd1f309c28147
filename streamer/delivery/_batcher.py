"""The stage that turns accepted rows into upload batches, and passes on the others'
outcomes."""

from __future__ import annotations

from anyio.abc import ObjectReceiveStream, ObjectSendStream

from streamer.limits import MAX_CSV_BYTES
from streamer.records import Outcome, Row, RowBatch, UploadBatch, decided_outcome
from streamer.upload_format import UPLOAD_HEADER, render_csv, row_bytes_bound


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
