"""A misbehaving CXone for tests: an aiohttp server on 127.0.0.1 in front of a sandbox.

Every request is passed through to the sandbox and its answer passed back, unless a
rule for its method and path answers instead (a rule may also pass the request through
first, so the sandbox does the work and only the answer is bad). The client under test
talks to the front only: its credentials name the front as issuer and API base.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web

from streamer import Sandbox
from streamer.credentials import Credentials

#: Given the request and the sandbox's answer (``None`` when the rule does not pass the
#: request through), the answer the client gets.
Answer = Callable[[web.Request, "Passed | None"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Passed:
    """The sandbox's answer to a request passed through."""

    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(slots=True)
class _Rule:
    method: str
    path: re.Pattern[str]
    answer: Answer
    pass_through: bool
    times: int | None


class Front:
    """``async with Front(sandbox) as front:``; ``front.on(...)`` adds a rule."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._rules: list[_Rule] = []
        self.seen: list[tuple[str, str]] = []  # (method, path) of every request
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    def on(self, method: str, path: str, answer: Answer, *, pass_through: bool = False,
           times: int | None = None) -> None:
        """Answer ``method`` requests whose path matches ``path`` (a regex, searched)
        with ``answer``, ``times`` times (``None``: always)."""
        self._rules.append(_Rule(method, re.compile(path), answer, pass_through, times))

    @property
    def credentials(self) -> Credentials:
        """The sandbox's credentials, pointed at the front (API base included)."""
        return replace(self._sandbox.credentials, issuer=self.url,
                       api_base=self.url + "/inContactAPI/services/v30.0")

    async def __aenter__(self) -> Front:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None and self._runner is not None
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path))
        for rule in self._rules:
            if rule.method == request.method and rule.path.search(request.path) and (
                    rule.times is None or rule.times > 0):
                if rule.times is not None:
                    rule.times -= 1
                passed = await self._pass(request) if rule.pass_through else None
                return await rule.answer(request, passed)
        passed = await self._pass(request)
        return web.Response(status=passed.status, body=passed.body,
                            content_type=passed.content_type or None)

    async def _pass(self, request: web.Request) -> Passed:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("authorization", "content-type", "accept")}
        async with self._session.request(
                request.method, self._sandbox.url + request.rel_url.path_qs, headers=headers,
                data=await request.read(), allow_redirects=False) as answer:
            body = (await answer.read()).replace(self._sandbox.url.encode(), self.url.encode())
            return Passed(answer.status, body, answer.content_type)


def answer(status: int, body: bytes | str | None = None, **headers: str) -> Answer:
    """A fixed answer: ``body`` as given (a str is sent as JSON text's bytes)."""
    async def respond(request: web.Request, passed: Passed | None) -> web.StreamResponse:
        data = body.encode() if isinstance(body, str) else body
        return web.Response(status=status, body=data, headers=headers or None,
                            content_type="application/json" if data else None)
    return respond


def json_answer(status: int, value: Any) -> Answer:
    return answer(status, json.dumps(value))


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT with ``claims`` and no signature (clients read, never verify, these)."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part(claims)}."
