"""Signing in to the tenant a run's settings name."""

from __future__ import annotations

import random
from contextlib import AsyncExitStack

import aiohttp
from structlog.typing import FilteringBoundLogger

from streamer._detached import asyncio_running
from streamer.cxone._client import CXoneClient
from streamer.errors import ConfigError, HTTPStatusError
from streamer.settings import Settings


async def connect(
    stack: AsyncExitStack, settings: Settings, *, rng: random.Random, log: FilteringBoundLogger
) -> CXoneClient:
    """A client signed in to the tenant (or the sandbox), its session closed by ``stack``.

    Credentials the tenant refuses are the user's to fix: a :class:`ConfigError`.
    """
    if settings.credentials is None:
        raise ConfigError(
            "no CXone credentials: set CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, "
            "CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET"
            + ("" if settings.dry_run else ", or make it a dry run (--dry-run, "
               "Settings.dry_run)")
        )
    if not asyncio_running():
        raise ConfigError(
            "talking to CXone needs asyncio (its HTTP client, aiohttp, runs only there): run "
            "streamer under asyncio; under trio only a dry run without DNC groups or a "
            "mirror works")
    session = await stack.enter_async_context(aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.retry.timeout),
    ))
    client = CXoneClient(session, settings.credentials, api_version=settings.api_version,
                         retry=settings.retry, fields=settings.list_fields, rng=rng, log=log)
    try:
        await client.connect()
    except HTTPStatusError as error:
        if error.status in (400, 401, 403):
            raise ConfigError(f"CXone refused the credentials ({error})") from None
        raise
    return client
