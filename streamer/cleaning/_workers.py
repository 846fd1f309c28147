"""The row stages (normalise, the campaign rules, dedup), on the machine's other cores.

The stages come as one list, in the order a row meets them (the pipeline makes it):
this module only decides where each runs. Together they are most of the CPU a row
costs; Python threads share one interpreter lock, so on big inputs they run in worker
processes: each batch's records and raw fields go out and the stages' results come back,
both as a few compact columns (:mod:`streamer.cleaning._batch_columns`), while the main
process reads, journals, batches and uploads. Batches come back in file order.

A stage that must see every batch of the file in order (dedup keeps an index of every
contact kept so far, and the first record of a contact is the one kept) runs where one
process sees them all: in the one worker, or in this process when there are none; with
several workers, each sees only some batches, so it and the stages after it run here,
after them.

The workers are plain subprocesses (``python -m streamer.cleaning._worker_process``)
speaking length-prefixed pickles over their pipes, not ``multiprocessing``: that would
re-run the caller's main script in each worker, which breaks a library user's script that
has no ``if __name__ == "__main__"`` guard. A worker ends when its stdin closes, so it
never outlives the run, even one that is killed.

Small files are worked on in process: starting a worker costs more than it saves below
a few hundred thousand rows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from subprocess import PIPE
from types import TracebackType
from typing import Protocol

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream, Process
from anyio.streams.buffered import BufferedByteReceiveStream

from streamer.cleaning._batch_columns import (
    PackedResults,
    PackedRows,
    apply_results,
    pack_results,
    pack_rows,
    unpack_rows,
)
from streamer.cleaning._frames import HEADER, frame, unframe
from streamer.errors import StreamerError
from streamer.records import RowBatch

#: Where this package was imported from: its workers import the very same one.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: How a worker process is started (see :mod:`streamer.cleaning._worker_process`).
WORKER_COMMAND = (sys.executable, "-m", "streamer.cleaning._worker_process")
#: Below this input size ``workers=None`` means no worker processes.
IN_PROCESS_BELOW_BYTES = 16 << 20


def worker_environment() -> dict[str, str]:
    """This process's environment, with this package first on the workers' import path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))}


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


class RowStage(Protocol):
    """One row stage: small and picklable, for worker processes."""

    @property
    def whole_file(self) -> bool:
        """Whether it must see every batch of the file, in order, in one process."""
        ...

    def start(self) -> Callable[[RowBatch], RowBatch]:
        """The stage's batch function, with fresh state."""
        ...


@dataclass(frozen=True, slots=True)
class RowWork:
    """Row stages to run one after the other, in one process."""

    stages: tuple[RowStage, ...]

    def start(self) -> RowStages:
        return RowStages(self)


class RowStages:
    """The work's stages started in one process, with their state (the dedup index)."""

    def __init__(self, work: RowWork) -> None:
        self._steps = [stage.start() for stage in work.stages]

    def apply(self, batch: RowBatch) -> RowBatch:
        """The stages, on the rows themselves (in process)."""
        for step in self._steps:
            batch = step(batch)
        return batch

    def results(self, rows: PackedRows) -> PackedResults:
        """The stages on a worker's copy of the rows, as columns to send back."""
        return pack_results(self.apply(unpack_rows(rows)))


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

    async def receive(self) -> PackedResults:
        try:
            header = await self._answers.receive_exactly(HEADER.size)
            (size,) = HEADER.unpack(header)
            data = await self._answers.receive_exactly(size)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            raise self._died() from None
        results: PackedResults = unframe(data)  # type: ignore[assignment]
        return results

    async def finish(self) -> None:
        await self._requests.aclose()


class RowWorkers:
    """``workers`` processes running the row stages; ``0`` runs them in this process."""

    def __init__(self, stages: Sequence[RowStage], workers: int) -> None:
        split = len(stages)
        if workers > 1:
            # Each worker would keep its own state of only the batches it saw.
            split = next((at for at, stage in enumerate(stages) if stage.whole_file), split)
        self.work = RowWork(tuple(stages[:split]))
        #: Stages run in this process, after the workers' (with several workers).
        self.after = RowWork(tuple(stages[split:]))
        self.workers = workers
        self._pool: list[_Worker] = []
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> RowWorkers:
        env = worker_environment()
        async with AsyncExitStack() as stack:
            for _ in range(self.workers):
                process = await stack.enter_async_context(await anyio.open_process(
                    WORKER_COMMAND, stdin=PIPE, stdout=PIPE, stderr=None, env=env))
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
                group.start_soon(self._collect, collecting, send, self.after.start())
                async with to_collect:
                    turn = 0
                    async for batch in receive:
                        worker = self._pool[turn % len(self._pool)]
                        turn += 1
                        await to_collect.send((batch, worker))
                        await worker.send(pack_rows(batch))

    @staticmethod
    async def _collect(collecting: ObjectReceiveStream[tuple[RowBatch, _Worker]],
                       send: ObjectSendStream[RowBatch], after: RowStages) -> None:
        async with collecting:
            async for batch, worker in collecting:
                await send.send(after.apply(apply_results(batch, await worker.receive())))
