"""A task outside the caller's task groups, on asyncio or trio: what :func:`streamer.stream`
runs the pipeline in, so the caller's code between iterations never runs inside the
pipeline's cancel scope (anyio's task groups cannot hand a task over a ``yield``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


def asyncio_running() -> bool:
    """Whether the caller runs on asyncio (anyio's ``trio`` backend has no asyncio loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class DetachedTask(Generic[T]):
    """``await task.result()`` gives the function's return or raises its error;
    :meth:`stop` cancels it and waits until it has stopped."""

    def __init__(self, function: Callable[[], Awaitable[T]]) -> None:
        self._function = function
        self._done = anyio.Event()
        self._scope = anyio.CancelScope()
        self._value: T | None = None
        self._error: BaseException | None = None
        if asyncio_running():
            asyncio.get_running_loop().create_task(self._run())
        else:
            # trio has no free-standing tasks but its system tasks; this one catches
            # everything, since an error escaping a system task would end trio itself.
            import trio

            trio.lowlevel.spawn_system_task(self._run)

    async def _run(self) -> None:
        try:
            with self._scope:
                self._value = await self._function()
        except BaseException as error:  # handed to whoever awaits result()
            self._error = error
        finally:
            self._done.set()

    async def stop(self) -> None:
        """Cancel it unless it has ended, and wait until it has (its errors are not ours
        then: the caller is leaving for a reason of its own)."""
        if self._done.is_set():
            return
        self._scope.cancel()
        with anyio.CancelScope(shield=True):
            await self._done.wait()

    async def result(self) -> T | None:
        """The function's value (``None`` when it was cancelled); its error re-raised."""
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value
