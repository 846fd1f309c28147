"""A worker process: ``python -m streamer.cleaning._worker_process``, started by
:mod:`streamer.cleaning._workers`.

It reads frames (:mod:`streamer.cleaning._frames`) from stdin, the first holding the
:class:`~streamer.cleaning._workers.RowWork` to do and each later one a batch of records (their
numbers and fields as :mod:`streamer.cleaning._batch_columns` packs them), and answers each
batch with one frame of its results, as columns, on stdout, in order, until stdin ends.
"""

from __future__ import annotations

import signal
import sys
from typing import BinaryIO, cast

from streamer.cleaning._batch_columns import PackedRows
from streamer.cleaning._frames import read_frame, write_frame
from streamer.cleaning._gc_pacing import rarer_collections
from streamer.cleaning._workers import RowWork


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    work = read_frame(requests)
    if not isinstance(work, RowWork):
        raise SystemExit("streamer worker: expected the work to do first")
    stages = work.start()
    while (batch := read_frame(requests)) is not None:
        write_frame(answers, stages.results(cast(PackedRows, batch)))


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group; the main process decides what it means
    # (drain, or stop) and ends this worker by closing its stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with rarer_collections():
        serve(sys.stdin.buffer, sys.stdout.buffer)
