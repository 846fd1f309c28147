"""What makes a re-run the same run, the stage that skips what it already settled, and
what a stopped run says to resume."""

from __future__ import annotations

import hashlib
from pathlib import Path

from anyio.abc import ObjectReceiveStream, ObjectSendStream
from structlog.typing import FilteringBoundLogger

from streamer._plural import counted
from streamer.errors import Interrupted
from streamer.records import RowBatch
from streamer.run._journal import Journal


def fingerprint_file(path: Path) -> str:
    """What the file holds, as a hash of all its bytes (read in blocks, never whole)."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return f"{path.stat().st_size}:{digest.hexdigest()}"


async def drop_settled(receive: ObjectReceiveStream[RowBatch], send: ObjectSendStream[RowBatch],
                       journal: Journal) -> None:
    """The resume filter as a stage: rows the journal has settled go no further."""
    keep = journal.resume_filter()
    async with receive, send:
        async for batch in receive:
            if batch := keep(batch):
                await send.send(batch)


def stopped(journal: Journal, log: FilteringBoundLogger, rows_read: int) -> Interrupted:
    """The error ending a run stopped gracefully (its journal kept), logged."""
    log.warning("streamer.run_stopped", rows_read=rows_read, decided=journal.counts().total)
    return Interrupted(f"stopped after {counted(rows_read, 'row')}; the journal in "
                       f"{journal.path.parent} keeps every decided row: run the same "
                       "command again to resume")
