"""Exceptions raised by streamer.

Row-level problems are never exceptions: they are outcomes with a reason code
(see :mod:`streamer.records`). Exceptions are for runs that cannot go on::

    StreamerError              base of everything streamer raises
    ├── InputError             the input file cannot be used (missing, unreadable, no phone column)
    ├── ConfigError            a setting or credential is missing or inconsistent
    ├── OutputError            the output directory cannot be used: full, read-only, a
    │                          damaged journal, a directory in a file's way, another run in it
    ├── Interrupted            the run was stopped on request; the same call resumes it
    ├── MirrorRefused          --mirror would remove too much of the list: nothing removed
    └── RemoteError            the CXone service (or the sandbox) failed us
        ├── TransportError     no HTTP answer: refused, reset, timed out
        ├── HTTPStatusError    an HTTP answer with an unexpected status (a redirect too)
        └── UnreadableAnswer   an expected status, but a body that is not what it must be

What the user must fix (``InputError``, ``ConfigError``, ``OutputError``, ``MirrorRefused``)
makes the CLI print one line saying what to do, and exit 2.
No message ever carries a credential or a token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:  # the report is built on these errors' base: no import cycle at run time
    from streamer.run import Report

#: What a stage meets when the stage it feeds has died: its stream broke under it.
_ECHOES = (anyio.BrokenResourceError, anyio.ClosedResourceError)


class StreamerError(Exception):
    """Base class of every error streamer raises."""


class InputError(StreamerError):
    """The input file cannot be read or used as a contacts file."""


class ConfigError(StreamerError):
    """A setting or a credential is missing, malformed or contradictory."""


class OutputError(StreamerError):
    """The output directory cannot be used: the disk is full, it is read-only, the
    journal is damaged, a directory stands where a file goes, or another run holds it.

    Raised where the local I/O fails, never after the journal is given up: fixing the
    cause and running the same command again resumes the run.
    """


class Interrupted(StreamerError):
    """The run stopped because it was asked to (Ctrl-C); its journal lets it resume."""


class MirrorRefused(StreamerError):
    """``--mirror`` would have removed more of the list than ``--mirror-max-remove``
    allows (or could not be sure of the list it removes from), so it removed nothing.

    Raised once the run is otherwise complete: every row has its outcome and every output
    is written. ``report`` is the run's :class:`~streamer.run.Report`, saying why.
    """

    def __init__(self, message: str, report: Report | None = None) -> None:
        super().__init__(message)
        self.report = report


class RemoteError(StreamerError):
    """The remote service failed in a way the run could not recover from."""


class TransportError(RemoteError):
    """The request got no HTTP answer (connection refused or reset, timeout)."""


class HTTPStatusError(RemoteError):
    """The service answered with a status the call does not accept.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one; which
    statuses are worth another try is :mod:`streamer.retry`'s to say.
    """

    def __init__(
        self, status: int, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Whether a later try may pass: :func:`streamer.retry.is_retryable` decides."""
        from streamer.retry import is_retryable  # retry builds on these errors: no cycle

        return is_retryable(self)


class UnreadableAnswer(RemoteError):
    """The service answered with the status a call expects and a body that cannot be
    read (not JSON, too large, a field missing or of the wrong type).

    Never retried: the request may have done its work. An upload answered so is
    *unconfirmed*, and settled by reading the list back.
    """


@contextmanager
def one_error_alone() -> Iterator[None]:
    """Inside, a task group's failure that is one :class:`StreamerError` is raised as that
    error alone: a caller of ``streamer.run`` catches what the docs name, not a group.
    Anything else (several errors, a bug) stays the group it is."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = list(_leaves(group))
        if len(leaves) == 1 and isinstance(leaves[0], StreamerError):
            raise leaves[0] from None
        raise


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


@asynccontextmanager
async def echoes_dropped() -> AsyncIterator[None]:
    """Around a task group of stages: the errors that stopped it, without their echoes.

    When a stage fails, the stage sending to it may find its stream broken before the
    group's cancel reaches it, and fail too. That second error tells nothing the first
    does not, and would turn one line for the user into a traceback: it is dropped. A
    group of echoes alone (a real bug, then) is raised as it is.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        _, causes = group.split(_ECHOES)
        if causes is None or causes is group:
            raise
        raise causes from None
