"""The sandbox's faults, on the API only: rate limits, 429s, server errors, dropped
connections and slow answers, each drawn from the sandbox's seeded random numbers; and
error answers that echo the request's credentials, everywhere but introspection."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass

from aiohttp import web

from streamer.cxone._routes import ACCESS_KEY_TOKEN, SANDBOX_TOKEN
from streamer.cxone._sandbox_config import Handler, SandboxConfig, is_api_path, problem

_TOKEN_ROUTES = (SANDBOX_TOKEN, ACCESS_KEY_TOKEN)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class Faults:
    """Misbehaviour as configured; ``resets`` counts the connections dropped."""

    def __init__(self, config: SandboxConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng
        self._buckets: dict[str, _Bucket] = {}
        self.resets = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Faults apply to the API only, never to discovery or introspection."""
        if not is_api_path(request.path):
            return await handler(request)
        c, rng = self.config, self._rng
        if c.latency_ms > 0:
            await asyncio.sleep(c.latency_ms * rng.uniform(0.5, 1.5) / 1000)
        if c.rate_limit > 0:
            route = request.match_info.route.resource
            endpoint = route.canonical if route is not None else request.path
            refused = self._take_rate_token(
                f"{request.headers.get('Authorization', '')} {request.method} {endpoint}")
            if refused is not None:
                # Real CXone sometimes omits Retry-After; so does the sandbox, half the time.
                if rng.random() < 0.5:
                    return problem(429, "Too many requests", **{"Retry-After": refused})
                return problem(429, "Too many requests")
        if c.throttle_rate > 0 and rng.random() < c.throttle_rate:
            if rng.random() < 0.5:
                return problem(429, "Too many requests", **{"Retry-After": str(c.retry_after_s)})
            return problem(429, "Too many requests")
        if c.error_rate > 0 and rng.random() < c.error_rate:
            status = rng.choice((500, 503))
            return problem(status, "Internal server error" if status == 500 else "Unavailable")
        if c.reset_rate > 0 and rng.random() < c.reset_rate:
            if rng.random() < 0.5:
                return self._reset(request)
            await handler(request)
            return self._reset(request)
        return await handler(request)

    @web.middleware
    async def echo(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """With ``echo_credentials``, an error answer's text fields end with the request's
        Authorization header and, on the token routes, what was posted (secrets too)."""
        if not self.config.echo_credentials or request.path.startswith("/sandbox/"):
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = web.Response(status=error.status, text=error.text,
                                    content_type="application/json")
        if response.status < 400 or not isinstance(response, web.Response) or (
                request.transport is None or request.transport.is_closing()):
            return response
        echoed = f"Authorization: {request.headers.get('Authorization', '')}"
        if request.path in _TOKEN_ROUTES and request.body_exists:
            if request.content_type == "application/x-www-form-urlencoded":
                form = await request.post()
                echoed += "; form: " + "&".join(
                    f"{k}={v}" for k, v in form.items() if isinstance(v, str))
            else:
                echoed += "; body: " + await request.text()
        try:
            body = json.loads(response.text or "")
        except ValueError:
            body = response.text
        if not isinstance(body, dict):
            body = {"error": str(body)}
        response.text = json.dumps({key: f"{value} ({echoed})" if isinstance(value, str)
                                    else value for key, value in body.items()})
        return response

    def _reset(self, request: web.Request) -> web.StreamResponse:
        """Drop the connection without an answer, as a flaky network does."""
        self.resets += 1
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # never reaches the client

    def _take_rate_token(self, client: str) -> str | None:
        """Spend one token of ``client``'s bucket (a token and an endpoint); when empty,
        the seconds until the next."""
        rate = self.config.rate_limit
        now = time.monotonic()
        bucket = self._buckets.setdefault(client, _Bucket(tokens=rate, updated=now))
        bucket.tokens = min(max(rate, 1.0), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return str(max(1, round((1.0 - bucket.tokens) / rate)))
