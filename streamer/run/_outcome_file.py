"""outcomes.csv, written as the run goes: appended in record order to ``outcomes.csv.part``
and renamed into place when the run ends, so a file named ``outcomes.csv`` is always
whole.

The journal owns this file and keeps it in step with itself: each append is written
before the journal transaction that records the outcomes, and that transaction stores
the file's new length. Whatever kills the process, the journal's length is a length the
file has (the bytes are written before the commit), so a resumed run cuts the file back
to it and appends from there: bytes past it belong to outcomes the journal never
recorded, which that run decides again.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path

from streamer.csv_text import FORMULA_STARTS, csv_line, neutralize
from streamer.errors import OutputError
from streamer.run._local_io import writing
from streamer.run._report import OUTCOME_HEADER

HEADER = (csv_line(OUTCOME_HEADER) + "\r\n").encode()
#: An id :func:`neutralize` changes or CSV must quote; the others (nearly all) go as
#: they are, without the call.
_NEEDS_CELL = re.compile("^[" + re.escape("".join(sorted(FORMULA_STARTS))) + ']|[,"\r\n]')


def outcome_cell(external_id: str) -> str:
    """The external id made safe for a spreadsheet and quoted as CSV."""
    return csv_line((neutralize(external_id),))


def id_cell(external_id: str) -> str:
    """The external id as outcomes.csv holds it: :func:`outcome_cell`, called only when it
    changes anything."""
    return outcome_cell(external_id) if _NEEDS_CELL.search(external_id) else external_id


def outcome_line(record: int, outcome: str, reason: str | None, duplicate_of: int | None,
                 external_id: str) -> str:
    """One line of outcomes.csv (CRLF included), as ``csv.writer`` writes it."""
    return (f"{record},{outcome},{reason or ''},"
            f"{'' if duplicate_of is None else duplicate_of},{id_cell(external_id)}\r\n")


class OutcomeFile:
    """``outcomes.csv.part`` open for appending, and how many of its bytes the journal
    has committed (:attr:`size`)."""

    def __init__(self, path: Path) -> None:
        self.path = path  # where the whole file goes at the end
        self.partial = path.with_name(path.name + ".part")
        self.size = 0
        self._fd: int | None = None

    def start(self) -> int:
        """A fresh file holding the header; returns its length, for the journal to commit."""
        with writing(self.partial):
            self._fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self.size = 0
        return self.append(HEADER)

    def reopen(self, size: int, *, finished: bool) -> None:
        """The file of a run being resumed, cut back to the ``size`` bytes its journal
        committed. A ``finished`` one may already have been renamed into place."""
        if finished and not self.partial.exists() and self.path.is_file():
            with writing(self.path):
                os.replace(self.path, self.partial)
        with writing(self.partial):
            try:
                fd = os.open(self.partial, os.O_WRONLY)
            except FileNotFoundError:
                raise self._cut_short(size) from None
            if os.fstat(fd).st_size < size:
                os.close(fd)
                raise self._cut_short(size)
            os.ftruncate(fd, size)
            os.lseek(fd, size, os.SEEK_SET)
        self._fd, self.size = fd, size

    def _cut_short(self, size: int) -> OutputError:
        return OutputError(
            f"{self.partial} is missing or shorter than the journal says ({size:,} bytes), "
            "so the run cannot go on from it: use --restart to start over, or another --out")

    def append(self, data: bytes) -> int:
        """Write ``data`` after what is there (not yet committed); returns the file's new
        length, for the journal to commit with the outcomes the data holds. A failure
        (a full disk) cuts the file back to the committed length, and leaves as an
        :class:`~streamer.errors.OutputError`."""
        assert self._fd is not None, "start() or reopen() first"
        view = memoryview(data)
        try:
            with writing(self.partial):
                while view:
                    view = view[os.write(self._fd, view):]
        except BaseException:
            self.rollback()
            raise
        return self.size + len(data)

    def rollback(self) -> None:
        """Forget the bytes written since the last commit (the journal did not take them)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):  # the error that got us here is the one to tell
                os.ftruncate(self._fd, self.size)
                os.lseek(self._fd, self.size, os.SEEK_SET)

    def finish(self) -> None:
        """Everything is written: to disk, and into place under its own name."""
        assert self._fd is not None, "start() or reopen() first"
        with writing(self.partial):
            os.fsync(self._fd)
        self.close()
        with writing(self.path):
            os.replace(self.partial, self.path)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)

    def external_ids(self, outcome: str) -> Iterator[str]:
        """The external ids of the lines with ``outcome``, as written (made safe for a
        spreadsheet: as uploaded), from the committed part of the file."""
        with writing(self.partial), open(self.partial, encoding="utf-8", newline="") as file:
            rows = csv.reader(file)
            next(rows, None)  # the header
            for row in rows:
                if row[1] == outcome:
                    yield row[4]
