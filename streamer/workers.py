"""The per-row stages (normalise, the campaign rules, and dedup where it can), on the
machine's other cores.

Together they are most of the CPU a row costs; Python threads share one interpreter
lock, so on big inputs they run in worker processes: each batch's raw fields go out and
plain tuples come back (both cheap to pickle), while the main process reads, journals,
batches and uploads. Batches come back in file order.

Dedup keeps an index of every contact kept so far and must see the rows in file order
(the first record of a contact is the one kept). With one worker, that worker sees
every batch in order, so it keeps the index too and the main process is left with the
work only it can do; with several, each sees only some batches, so dedup runs on the
main process after them.

The workers are plain subprocesses (``python -m streamer.row_worker``) speaking
length-prefixed pickles over their pipes, not ``multiprocessing``: that would re-run
the caller's main script in each worker, which breaks a library user's script that has
no ``if __name__ == "__main__"`` guard. A worker ends when its stdin closes, so it never
outlives the run, even one that is killed.

Small files are worked on in process: starting a worker costs more than it saves below
a few hundred thousand rows.
"""

from __future__ import annotations

import os
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from subprocess import PIPE
from types import TracebackType

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream, Process
from anyio.streams.buffered import BufferedByteReceiveStream

from streamer.dedup import DedupRules
from streamer.errors import StreamerError
from streamer.frames import HEADER, frame, unframe
from streamer.normalize import NormalizeRules, normalize_batch
from streamer.records import Row, RowBatch
from streamer.rules import CampaignRules

#: Where this package was imported from: its workers import the very same one.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Below this input size ``workers=None`` means no worker processes.
IN_PROCESS_BELOW_BYTES = 16 << 20


def worker_count(requested: int | None, input_bytes: int) -> int:
    """Worker processes for a run: as asked, else one for big inputs.

    One, whatever the cores: with dedup beside normalising, the one worker and the main
    process (reading, the journal, batching, uploading) take about as long as each other.
    More workers would share out normalising but hand dedup back to the main process,
    making it the bottleneck.
    """
    if requested is not None:
        return requested
    return 0 if input_bytes < IN_PROCESS_BELOW_BYTES else 1


#: One row's results: (reason, detail, phone, region, email, first name, last name,
#: country, external id, upload record, duplicate of), whatever of them the stages set.
RowResult = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class RowWork:
    """What is done to each row before it is batched; small and picklable, for worker
    processes.

    ``dedup`` is set only where one process sees every batch in file order (one worker,
    or none); otherwise the caller deduplicates the results itself.
    """

    normalize: NormalizeRules
    rules: CampaignRules
    dedup: DedupRules | None = None

    def start(self) -> RowStages:
        return RowStages(self)


class RowStages:
    """The work's stages in one process, with their state (the dedup index)."""

    def __init__(self, work: RowWork) -> None:
        self._normalize = work.normalize
        self._rules = work.rules
        self._deduplicate = work.dedup.start() if work.dedup is not None else None

    def apply(self, batch: RowBatch) -> RowBatch:
        """The stages, on the rows themselves (in process)."""
        batch = self._rules.apply(normalize_batch(batch, self._normalize))
        return batch if self._deduplicate is None else self._deduplicate(batch)

    def results(self, records: list[int], fields: list[list[str]]) -> list[RowResult]:
        """The stages on a worker's copy of the rows, as tuples to send back."""
        rows = [Row(record, row_fields) for record, row_fields in zip(records, fields,
                                                                       strict=True)]
        return [(row.reason, row.detail, row.phone, row.region, row.email, row.first_name,
                 row.last_name, row.country, row.external_id, row.upload, row.duplicate_of)
                for row in self.apply(rows)]


def apply_results(batch: RowBatch, results: list[RowResult]) -> RowBatch:
    """Write a worker's :meth:`RowStages.results` into the batch's rows."""
    for row, result in zip(batch, results, strict=True):
        (row.reason, row.detail, row.phone, row.region, row.email, row.first_name,
         row.last_name, row.country, row.external_id, row.upload,
         row.duplicate_of) = result  # type: ignore[assignment]
    return batch


class _Worker:
    """One worker process and the two ends of its pipes."""

    def __init__(self, process: Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._requests = process.stdin
        self._answers = BufferedByteReceiveStream(process.stdout)

    async def send(self, payload: object) -> None:
        try:
            await self._requests.send(frame(payload))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise self._died() from None

    def _died(self) -> StreamerError:
        return StreamerError("a worker process ended unexpectedly "
                             f"(exit code {self.process.returncode})")

    async def receive(self) -> list[RowResult]:
        try:
            header = await self._answers.receive_exactly(HEADER.size)
            (size,) = HEADER.unpack(header)
            data = await self._answers.receive_exactly(size)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            raise self._died() from None
        results: list[RowResult] = unframe(data)  # type: ignore[assignment]
        return results

    async def finish(self) -> None:
        await self._requests.aclose()


class RowWorkers:
    """``workers`` processes doing the :class:`RowWork`; ``0`` does it in this process."""

    def __init__(self, work: RowWork, workers: int) -> None:
        if work.dedup is not None and workers > 1:
            # Each worker would keep its own index of only the batches it saw.
            raise ValueError("dedup needs every batch in one process: at most one worker")
        self.work = work
        self.workers = workers
        self._pool: list[_Worker] = []
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> RowWorkers:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))}
        async with AsyncExitStack() as stack:
            for _ in range(self.workers):
                process = await stack.enter_async_context(await anyio.open_process(
                    [sys.executable, "-m", "streamer.row_worker"],
                    stdin=PIPE, stdout=PIPE, stderr=None, env=env))
                worker = _Worker(process)
                await worker.send(self.work)
                self._pool.append(worker)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if error is not None:
            for worker in self._pool:
                worker.process.kill()
        for worker in self._pool:
            await worker.finish()
        await self._stack.aclose()

    async def stage(self, receive: ObjectReceiveStream[RowBatch],
                    send: ObjectSendStream[RowBatch]) -> None:
        """Do the work on every batch from ``receive``, into ``send``, in order."""
        async with receive, send:
            if not self._pool:
                stages = self.work.start()
                # A thread keeps the event loop answering (uploads, progress) meanwhile.
                async for batch in receive:
                    await send.send(await anyio.to_thread.run_sync(stages.apply, batch))
                return
            # Two batches per worker in flight: one being worked on, one waiting, so a
            # worker never idles while its last result travels back.
            to_collect, collecting = anyio.create_memory_object_stream[
                tuple[RowBatch, _Worker]](2 * len(self._pool))
            async with anyio.create_task_group() as group:
                group.start_soon(self._collect, collecting, send)
                async with to_collect:
                    turn = 0
                    async for batch in receive:
                        worker = self._pool[turn % len(self._pool)]
                        turn += 1
                        await to_collect.send((batch, worker))
                        await worker.send(([row.record for row in batch],
                                           [row.fields for row in batch]))

    @staticmethod
    async def _collect(collecting: ObjectReceiveStream[tuple[RowBatch, _Worker]],
                       send: ObjectSendStream[RowBatch]) -> None:
        async with collecting:
            async for batch, worker in collecting:
                await send.send(apply_results(batch, await worker.receive()))
