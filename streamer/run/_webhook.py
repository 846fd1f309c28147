"""The CRM webhook: a JSON summary POSTed when a run ends, signed when a secret is set.

Signature: ``X-Streamer-Signature: sha256=<hex>``, the HMAC-SHA256 under
``STREAMER_WEBHOOK_SECRET`` of ``<X-Streamer-Timestamp>.<body>``; a receiver recomputes it
and rejects old timestamps, so a captured call cannot be replayed later. A webhook that
fails is audited and reported; it never fails the run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from typing import Any

import aiohttp
from structlog.typing import FilteringBoundLogger

from streamer.credentials import Secret, redirect_target
from streamer.errors import HTTPStatusError, RemoteError, TransportError
from streamer.retry import retry_call, webhook_policy

SIGNATURE_HEADER = "X-Streamer-Signature"
TIMESTAMP_HEADER = "X-Streamer-Timestamp"


def sign(secret: Secret, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.reveal().encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


async def notify(
    url: str,
    payload: dict[str, Any],
    *,
    secret: Secret | None,
    timeout_s: float,
    attempts: int,
    log: FilteringBoundLogger,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """POST ``payload`` to ``url`` with retries; what happened, for the report."""
    body = json.dumps(payload, sort_keys=True).encode()
    tries = 0

    async def post() -> int:
        nonlocal tries
        tries += 1
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as session, session.post(url, data=body, headers=headers,
                                       allow_redirects=False) as response:
                if 300 <= response.status < 400:
                    # A signed body re-posted wherever a server points is not delivery.
                    raise HTTPStatusError(response.status, "redirected to "
                                          f"{redirect_target(response.headers.get('Location'))}; "
                                          "streamer never follows a redirect")
                if response.status >= 300:
                    raise HTTPStatusError(response.status, response.reason or "refused")
                return response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransportError(f"webhook: {type(error).__name__}: {error}") from None

    try:
        status = await retry_call(post, webhook_policy(attempts, timeout_s),
                                  rng or random.Random())
    except RemoteError as error:
        log.error("streamer.webhook_failed", attempts=tries, error=str(error))
        return {"delivered": False, "attempts": tries, "error": str(error)}
    log.info("streamer.webhook_delivered", status=status, attempts=tries,
             signed=secret is not None)
    return {"delivered": True, "attempts": tries, "status": status}
