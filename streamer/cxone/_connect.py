"""Signing in to the tenant a run's settings name."""

from __future__ import annotations

import random
from contextlib import AsyncExitStack

import aiohttp
from structlog.typing import FilteringBoundLogger

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
            + ("" if settings.dry_run else ", or use --dry-run")
        )
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
