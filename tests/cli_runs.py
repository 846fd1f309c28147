"""Helpers for tests that run ``python -m streamer upload`` as a subprocess against the
test's own in-process sandbox (the test's event loop serves it while the run goes on)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from subprocess import CompletedProcess

import anyio
from aiohttp import web

from streamer import Credentials, Sandbox


def cli_env(target: Sandbox | Credentials) -> dict[str, str]:
    """This environment, with the sandbox's (or these) credentials as the ``CXONE_*``
    variables."""
    credentials = target.credentials if isinstance(target, Sandbox) else target
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
    return env | {
        "CXONE_ISSUER": credentials.issuer, "CXONE_CLIENT_ID": credentials.client_id,
        "CXONE_CLIENT_SECRET": credentials.client_secret.reveal(),
        "CXONE_ACCESS_KEY_ID": credentials.access_key_id,
        "CXONE_ACCESS_KEY_SECRET": credentials.access_key_secret.reveal(),
    } | ({"CXONE_API_BASE": credentials.api_base} if credentials.api_base else {})


def upload_command(source: Path, out: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "streamer", "upload", str(source), "--out", str(out), *flags]


async def upload(env: dict[str, str], source: Path, out: Path,
                 *flags: str) -> CompletedProcess[bytes]:
    return await anyio.run_process(upload_command(source, out, *flags), env=env, check=False)


def one_line(done: CompletedProcess[bytes]) -> str:
    """The one line a refused run wrote on stderr (after checking that it is one line)."""
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamer: "), stderr
    return lines[0]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def webhook_receiver(handler: Handler) -> AsyncIterator[str]:
    """A webhook receiver on a free loopback port, calling ``handler``; yields its URL."""
    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/"
    finally:
        await runner.cleanup()


async def read_all(stream: anyio.abc.ByteReceiveStream | None) -> str:
    chunks = [chunk async for chunk in stream] if stream is not None else []
    return b"".join(chunks).decode()
