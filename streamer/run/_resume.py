"""What makes a re-run the same run, and the stage that skips what it already settled."""

from __future__ import annotations

import hashlib
from pathlib import Path

from anyio.abc import ObjectReceiveStream, ObjectSendStream

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
