"""The output directory, held by one run at a time.

Two runs in one directory would share a journal: one could resume rows the other is
sending, or (``--restart``) delete the journal under it. So a run takes an exclusive
``flock`` on ``OUT/.streamer.lock`` before it writes anything there, and keeps it to the
end. The kernel releases it when the file is closed or the process dies, however it
dies: a lock left by a killed run never needs clearing by hand. The file itself stays
(deleting it would let a third run lock a new file while the second holds the old).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamer.errors import OutputError
from streamer.run._local_io import writing

LOCK_NAME = ".streamer.lock"


@contextmanager
def claim_out_dir(out_dir: Path) -> Iterator[None]:
    """The output directory, made if need be and held by this run alone until the
    context exits; another run holding it is refused in one line."""
    with writing(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    lock_path = out_dir / LOCK_NAME
    with writing(lock_path):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        with writing(lock_path):  # a file system without locks, say
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputError(f"another streamer run{_holder(fd)} is using {out_dir}; "
                                  "wait for it to finish or use another --out") from None
            # Who holds it, for the message above.
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """`` (pid N)`` of the run holding the lock, when it has written it yet."""
    try:
        pid = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
