"""What to tell the user when the output directory fails us: full, read-only, damaged,
or a directory standing where a file goes.

Each failure becomes one :class:`~streamer.errors.OutputError` naming the path and what
to do, raised where the I/O happens (the lock, the journal, the audit log, the output
files). Nothing here deletes anything: the journal stays for the re-run that resumes.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from streamer.errors import OutputError

_RESUME = "then run the same command again to resume"
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _in_the_way(path: Path) -> OutputError:
    return OutputError(f"{path} is a directory where streamer writes a file: remove it "
                       f"(or use another --out), {_RESUME}")


def output_error(path: Path, error: OSError) -> OutputError:
    """``error``, met while writing ``path``, as one line saying what to do."""
    code = error.errno
    if code in _FULL:
        return OutputError(f"no space left to write {path}: free space on that disk, {_RESUME}")
    if code == errno.EISDIR or (code != errno.ENOTDIR and _is_dir(path)):
        return _in_the_way(path)
    if code in _READ_ONLY:
        return OutputError(f"cannot write {path} ({error.strerror}): make {path.parent} "
                           f"writable, {_RESUME}")
    if code in (errno.ENOTDIR, errno.EEXIST):
        return OutputError(f"cannot use {path}: a file stands where a directory must be; "
                           "move it, or use another --out")
    return OutputError(f"cannot write {path}: {error.strerror or error}; {_RESUME} once "
                       "the cause is fixed")


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Around local I/O on ``path``: an ``OSError`` leaves as an :class:`OutputError`."""
    try:
        yield
    except OSError as error:
        raise output_error(path, error) from error


def journal_error(path: Path, error: sqlite3.Error) -> OutputError | None:
    """A SQLite error of the journal at ``path`` as one line, when the disk or the file
    is to blame; ``None`` for any other (a bug, to be raised as it is)."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF  # the primary code
    if code == sqlite3.SQLITE_FULL:
        return output_error(path, OSError(errno.ENOSPC, "disk full"))
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return output_error(path, OSError(errno.EROFS, str(error)))
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return OutputError(f"the journal {path} is damaged ({error}): use --restart to "
                           "discard it and start over, or another --out")
    if code == sqlite3.SQLITE_IOERR:
        return OutputError(f"cannot use the journal {path} ({error}): check that disk, "
                           f"{_RESUME}")
    return None


@contextmanager
def journaling(path: Path) -> Iterator[None]:
    """Around the journal's SQLite calls: the disk's and the file's failures leave as an
    :class:`OutputError`; others (bugs) as they are."""
    try:
        yield
    except sqlite3.Error as error:
        translated = journal_error(path, error)
        if translated is None:
            raise
        raise translated from error
    except OSError as error:
        raise output_error(path, error) from error


class _AtPath(Protocol):
    @property
    def path(self) -> Path: ...


_P = ParamSpec("_P")
_T = TypeVar("_T")
_S = TypeVar("_S", bound=_AtPath)


def sqlite_io(method: Callable[Concatenate[_S, _P], _T]) -> Callable[Concatenate[_S, _P], _T]:
    """A journal method whose SQLite failures are the disk's or the file's to fix."""

    @functools.wraps(method)
    def guarded(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        with journaling(self.path):
            return method(self, *args, **kwargs)

    return guarded


def sqlite_io_pages(
    method: Callable[Concatenate[_S, _P], Iterator[_T]],
) -> Callable[Concatenate[_S, _P], Iterator[_T]]:
    """:func:`sqlite_io` for a method that yields pages: SQLite may fail on any page."""

    @functools.wraps(method)
    def guarded(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> Iterator[_T]:
        with journaling(self.path):
            yield from method(self, *args, **kwargs)

    return guarded
