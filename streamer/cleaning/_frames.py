"""Length-prefixed pickles: how the main process and its normalising workers talk.

A frame is a 4-byte big-endian length and a pickle. Both ends are this package, started
by :mod:`streamer.cleaning._workers`: nothing else ever writes to these pipes.
"""

from __future__ import annotations

import pickle
import struct
from typing import BinaryIO

HEADER = struct.Struct(">I")


def frame(payload: object) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def write_frame(stream: BinaryIO, payload: object) -> None:
    """Write ``payload``'s frame, all of it, and flush it."""
    data = memoryview(frame(payload))
    # ``write`` may take only part of it: a worker's stdout is raw (``FileIO``, one
    # write(2) per call), not buffered, under ``python -u`` or ``PYTHONUNBUFFERED``, and a
    # write(2) to a full pipe returns short when the process is stopped meanwhile
    # (SIGSTOP, Ctrl-Z, a profiler's ptrace stops). Dropping the rest would cut the frame:
    # the reader would take the next frame's bytes for the rest of this one.
    while data:
        data = data[stream.write(data):]
    stream.flush()


def unframe(data: bytes) -> object:
    return pickle.loads(data)  # only ever our own processes' data, see above


def read_frame(stream: BinaryIO) -> object | None:
    """The next frame's object, or ``None`` at the end of the stream."""
    # No such loop as in write_frame: stdin stays buffered even under -u, and a buffered
    # read(n) on a blocking pipe repeats short read(2)s (and EINTR) until n bytes or the end.
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return unframe(stream.read(size))
