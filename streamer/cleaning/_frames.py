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


def unframe(data: bytes) -> object:
    return pickle.loads(data)  # only ever our own processes' data, see above


def read_frame(stream: BinaryIO) -> object | None:
    """The next frame's object, or ``None`` at the end of the stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return unframe(stream.read(size))
