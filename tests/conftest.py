"""Shared fixtures: every end-to-end test gets its own sandbox on a free loopback port."""

from __future__ import annotations

import csv
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import aiohttp
import pytest

from streamer import Sandbox, SandboxConfig, _core
from streamer.cxone import CXoneClient

if not _core.CORE.compiled:
    # The session's header says once that the twin runs (below); the runs the tests start,
    # in this process or as subprocesses, choose it too, without repeating the warning.
    _WHY_THE_TWIN = _core.warning()
    os.environ[_core.PURE_ENV] = "1"
else:
    _WHY_THE_TWIN = None


def pytest_report_header() -> list[str]:
    return [f"streamer: {_core.CORE.describe()}", *filter(None, [_WHY_THE_TWIN])]


@pytest.fixture
def anyio_backend() -> str:
    # aiohttp runs on asyncio only, so the library does too.
    return "asyncio"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig()) as running:
        yield running


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[CXoneClient]:
    """A client connected to the sandbox: for reading back what a run stored."""
    async with aiohttp.ClientSession() as session:
        client = CXoneClient(session, sandbox.credentials)
        await client.connect()
        yield client


WriteCsv = Callable[..., Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write rows (a header first) as a CSV file; an empty row becomes a blank line."""

    def write(rows: Sequence[Sequence[str]], name: str = "contacts.csv", **fmt: str) -> Path:
        path = tmp_path / name
        with open(path, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, **fmt)  # type: ignore[arg-type]
            for row in rows:
                if row:
                    writer.writerow(row)
                else:
                    file.write("\r\n")
        return path

    return write
