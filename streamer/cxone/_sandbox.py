"""A local CXone: an aiohttp app serving the calling-list API's endpoints and JSON shapes.

It checks requests as CXone would and keeps what they store (:mod:`._sandbox_lists`,
:mod:`._sandbox_dnc`); tests, benchmarks and the README demo use it. It can misbehave on
purpose (rate limits, server errors, slow jobs: :mod:`._sandbox_faults`) and play each
of the API's unknowns either way (:class:`SandboxConfig`'s last fields). Sign-in, and
the check of every API call's token before any fault, is :mod:`._sandbox_auth`'s.

It serves the routes of :mod:`streamer.cxone._routes`, the API root in any case
(``/incontactapi/`` too), as CXone's IIS servers do. Introspection without auth:
``GET /sandbox/stats`` and ``GET /sandbox/lists/{id}/records`` (the records a list holds,
and per external id how often removeProspects was asked to remove it and did).
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from types import TracebackType
from typing import Any

from aiohttp import web

from streamer.credentials import Credentials, Secret
from streamer.cxone import _routes as routes
from streamer.cxone._sandbox_auth import Auth
from streamer.cxone._sandbox_config import Handler, SandboxConfig, not_found
from streamer.cxone._sandbox_dnc import DncGroups
from streamer.cxone._sandbox_faults import Faults
from streamer.cxone._sandbox_lists import LIST_STATUSES, CallingList, CallingLists
from streamer.limits import MAX_FILE_BYTES

#: The API root as a router pattern matching it in any case; named in stats as written.
_API_ROOT_PARAMETER = "{apiRoot}"
_API_ROOT_ANY_CASE = "/{apiRoot:(?i:" + re.escape(routes.API_ROOT.lstrip("/")) + ")}"


class Sandbox:
    """The emulator. ``async with Sandbox(config) as sandbox:`` serves on 127.0.0.1."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._rng = random.Random(self.config.seed)
        self._auth = Auth(self.config)
        self._faults = Faults(self.config, self._rng)
        self._calling = CallingLists(self.config, self._rng)
        #: The lists by id (tests look inside: ``records`` keyed by external id).
        self._lists: dict[int, CallingList] = self._calling.lists
        self._dnc = DncGroups(self.config)
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.webhooks: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # -- serving ------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        faults = self._faults
        app = web.Application(
            # Outermost first: a request without a valid token is refused before any fault.
            middlewares=[self._count, self._settle, faults.echo, self._auth.middleware,
                         faults.middleware],
            client_max_size=2 * MAX_FILE_BYTES)
        auth, lists, add = self._auth, self._calling, app.router.add_route

        def api(method: str, route: str, handler: Handler) -> None:
            pattern = routes.server_pattern(routes.API_BASE + route)
            add(method, _API_ROOT_ANY_CASE + pattern.removeprefix(routes.API_ROOT), handler)

        add("GET", routes.OPENID_CONFIGURATION, auth.openid_configuration)
        add("POST", routes.SANDBOX_TOKEN, auth.password_token)
        add("POST", routes.ACCESS_KEY_TOKEN, auth.access_key_token)
        add("GET", routes.CXONE_CONFIGURATION, auth.cxone_configuration)
        api("GET", routes.CALL_LISTS, lists.get_lists)
        api("POST", routes.CALL_LISTS, lists.create_list)
        api("GET", routes.UPLOAD_JOBS, lists.get_jobs)
        api("GET", routes.UPLOAD_JOB, lists.get_job)
        api("GET", routes.CALL_LIST, lists.get_list)
        api("DELETE", routes.CALL_LIST, lists.delete_list)
        api("POST", routes.CALL_LIST_UPLOAD, lists.upload)
        api("DELETE", routes.CALL_LIST_REMOVE_PROSPECTS, lists.remove_prospects)
        api("GET", routes.DNC_GROUPS, self._dnc.get_groups)
        api("GET", routes.DNC_GROUP_RECORDS, self._dnc.get_records)
        api("POST", routes.DNC_GROUP_RECORDS, self._dnc.add_records)
        add("GET", "/sandbox/stats", self._stats)
        add("GET", "/sandbox/lists/{listId:\\d+}/records", self._stored_records)
        # A stand-in CRM, so webhook calls can be tested against a real server too.
        add("POST", "/sandbox/webhook", self._receive_webhook)
        add("GET", "/sandbox/webhooks", self._received_webhooks)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port); returns the issuer URL."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def credentials(self) -> Credentials:
        """Credentials that this sandbox accepts, with its URL as the issuer."""
        c = self.config
        return Credentials(
            issuer=self.url,
            client_id=c.client_id,
            client_secret=Secret(c.client_secret),
            access_key_id=c.access_key_id,
            access_key_secret=Secret(c.access_key_secret),
        )

    # -- middleware -------------------------------------------------------------------------

    @web.middleware
    async def _count(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.resource
        path = request.path if route is None else route.canonical.replace(
            _API_ROOT_PARAMETER, routes.API_ROOT.lstrip("/"), 1)
        name = f"{request.method} {path}"
        try:
            response = await handler(request)
        except web.HTTPException as error:
            self.requests[name][str(error.status)] += 1
            raise
        self.requests[name][str(response.status)] += 1
        return response

    @web.middleware
    async def _settle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Jobs finish in the background, as far as a client can tell: at its next call."""
        self._calling.settle_jobs()
        return await handler(request)

    # -- setting the scene (for tests) ----------------------------------------------------

    def add_list(
        self,
        name: str,
        *,
        external_id_column: str = "ExternalId",
        phone_column: str = "PhoneNumber",
        first_name_column: str | None = None,
        last_name_column: str | None = None,
        status: str = "Active",
    ) -> int:
        """A new, empty calling list, as ``POST /lists/call-lists`` makes one; its id."""
        columns = {"externalId": external_id_column, "phoneNumber": phone_column}
        if first_name_column:
            columns["firstName"] = first_name_column
        if last_name_column:
            columns["lastName"] = last_name_column
        list_id = self._calling.add(name, columns)
        self.set_list_status(list_id, status)
        return list_id

    def set_list_status(self, list_id: int, status: str) -> None:
        """Make a list ``Active`` or ``Inactive`` (as an admin would in CXone's UI).

        An inactive list still takes uploads: what CXone does then is not known.
        """
        if status not in LIST_STATUSES:
            raise ValueError(f"status must be one of {', '.join(LIST_STATUSES)}, not {status!r}")
        self._lists[list_id].status = status

    def add_dnc_group(self, name: str) -> int:
        """A new, empty DNC group (CXone's API has no call for this; the admin UI does)."""
        return self._dnc.add(name)

    # -- introspection ------------------------------------------------------------------

    @property
    def resets(self) -> int:
        """Connections dropped on purpose."""
        return self._faults.resets

    @property
    def tokens_issued(self) -> int:
        return self._auth.tokens_issued

    @property
    def records_received(self) -> int:
        return self._calling.records_received

    @property
    def records_lost(self) -> int:
        return self._calling.records_lost

    @property
    def jobs_cancelled(self) -> int:
        return self._calling.jobs_cancelled

    def stats(self) -> dict[str, Any]:
        """Requests by route and status, records received, records stored per list."""
        return {
            "requests": {route: dict(statuses) for route, statuses in self.requests.items()},
            "records_received": self.records_received,
            "records_stored": {str(i): len(cl.records) for i, cl in self._lists.items()},
            "records_lost": self.records_lost,
            "records_removed": self._calling.records_removed,
            "jobs_cancelled": self.jobs_cancelled,
            "resets": self.resets,
            "tokens_issued": self.tokens_issued,
        }

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _receive_webhook(self, request: web.Request) -> web.Response:
        self.webhooks.append({"headers": dict(request.headers),
                              "body": (await request.read()).decode("utf-8", "replace")})
        return web.json_response({"received": True})

    async def _received_webhooks(self, request: web.Request) -> web.Response:
        return web.json_response(self.webhooks)

    async def _stored_records(self, request: web.Request) -> web.Response:
        calling_list = self._lists.get(int(request.match_info["listId"]))
        if calling_list is None:
            raise not_found("no such list")
        return web.json_response({"listId": calling_list.list_id,
                                  "records": list(calling_list.records.values()),
                                  "removed": dict(calling_list.removed),
                                  "removals_asked": dict(calling_list.removals_asked)})
