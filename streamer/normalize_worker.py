"""A normalising worker process: ``python -m streamer.normalize_worker``.

It reads frames (:mod:`streamer.frames`) from stdin, the first holding the
:class:`NormalizeRules` and each later one a batch of records' fields, and answers each
batch with one frame of results on stdout, in order, until stdin ends.
"""

from __future__ import annotations

import signal
import sys
from typing import BinaryIO

from streamer.frames import frame, read_frame
from streamer.normalize import NormalizeRules, normalize_records


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    rules = read_frame(requests)
    if not isinstance(rules, NormalizeRules):
        raise SystemExit("streamer.normalize_worker: expected rules first")
    while (records := read_frame(requests)) is not None:
        answers.write(frame(normalize_records(records, rules)))  # type: ignore[arg-type]
        answers.flush()


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group; the main process decides what it means
    # (drain, or stop) and ends this worker by closing its stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
