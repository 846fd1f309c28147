"""The dry run's delivery: each would-be upload file goes to ``OUT/batches/``."""

from __future__ import annotations

from pathlib import Path

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from streamer.counters import Phase, Verification
from streamer.records import Outcome, OutcomeKind, UploadBatch, row_outcomes
from streamer.run import writing


class DryRunDelivery:
    """The delivery writing to ``out_dir/batches``; a fresh run clears old files there.
    A :class:`~streamer.delivery._deliver.Delivery` that verifies nothing."""

    after_reading = Phase.READING  # its files are written as the rows are read

    def __init__(self, out_dir: Path, *, resumed: bool) -> None:
        self.directory = out_dir / "batches"
        with writing(self.directory):
            self.directory.mkdir(exist_ok=True)
        if not resumed:
            for stale in self.directory.glob("batch-*.csv"):
                with writing(stale):
                    stale.unlink()
        self.verification = Verification()

    async def __call__(
        self,
        receive: ObjectReceiveStream[UploadBatch],
        send_outcomes: ObjectSendStream[list[Outcome]],
    ) -> None:
        await write_batch_files(receive, send_outcomes, self.directory)


async def write_batch_files(
    receive: ObjectReceiveStream[UploadBatch],
    send_outcomes: ObjectSendStream[list[Outcome]],
    directory: Path,
) -> None:
    """The dry run's delivery: each would-be upload file goes to ``directory``."""
    async with receive, send_outcomes:
        async for batch in receive:
            path = directory / batch.file_name
            with writing(path):
                async with await anyio.open_file(path, "wb") as file:
                    await file.write(batch.payload)
            await send_outcomes.send(row_outcomes(batch.rows, OutcomeKind.ACCEPTED))
