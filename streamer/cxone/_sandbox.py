"""A local CXone: an aiohttp app serving the calling-list API's endpoints and JSON shapes.

It checks requests as CXone would (auth, required fields, base64, the mapped columns,
CXone's file limits) and keeps records keyed by external id, so a second upload of the
same id updates a record and never adds one. Tests, benchmarks and the README demo use
it; it can also misbehave on purpose (rate limits, server errors, slow jobs).

Introspection without auth: ``GET /sandbox/stats`` and ``GET /sandbox/lists/{id}/records``.
It serves the routes of :mod:`streamer.cxone._routes`; sign-in is :mod:`._sandbox_auth`'s,
misbehaving :mod:`._sandbox_faults`'.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from streamer.credentials import Credentials, Secret
from streamer.cxone import _routes as routes
from streamer.cxone._sandbox_auth import Auth
from streamer.cxone._sandbox_config import Handler, SandboxConfig, paging, problem
from streamer.cxone._sandbox_dnc import DncGroups
from streamer.cxone._sandbox_faults import Faults
from streamer.limits import MAX_FILE_BYTES
from streamer.upload_format import record_chars

_UPLOAD_REQUIRED = ("listFile", "forceOverwrite", "expirationDate", "startSkill", "sendEmail")


@dataclass(slots=True)
class _CallingList:
    list_id: int
    name: str
    columns: dict[str, str]  # system field -> CSV header
    created: str
    records: dict[str, dict[str, str]] = field(default_factory=dict)
    #: External ids in the order first stored: a page is a slice of this, not a copy of
    #: every record (reading a million-record list back page by page stays linear).
    order: list[str] = field(default_factory=list)
    invalid_records: int = 0
    uploaded: str = ""

    def forget_records(self) -> None:
        """Lose every record, as a list emptied behind the client's back (for tests)."""
        self.records.clear()
        self.order.clear()


@dataclass(slots=True)
class _Job:
    job_id: int
    list_id: int
    records: list[dict[str, str]]
    submitted: str
    ready_at: float
    will_cancel: bool = False
    complete: bool = False
    cancelled: bool = False
    completed: str = ""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Sandbox:
    """The emulator. ``async with Sandbox(config) as sandbox:`` serves on 127.0.0.1."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._rng = random.Random(self.config.seed)
        self._auth = Auth(self.config)
        self._faults = Faults(self.config, self._rng)
        self._lists: dict[int, _CallingList] = {}
        self._jobs: dict[int, _Job] = {}
        self._next_list_id = 1001
        self._next_job_id = 5001
        self._dnc = DncGroups(self.config)
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.records_received = 0
        self.records_lost = 0
        self.jobs_cancelled = 0
        self.webhooks: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # -- serving ------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._count, self._settle, self._faults.middleware],
                              client_max_size=2 * MAX_FILE_BYTES)
        auth, add = self._auth, app.router.add_route

        def api(method: str, route: str, handler: Handler) -> None:
            add(method, routes.server_pattern(routes.API_BASE + route), auth.authed(handler))

        add("GET", routes.OPENID_CONFIGURATION, auth.openid_configuration)
        add("POST", routes.SANDBOX_TOKEN, auth.password_token)
        add("POST", routes.ACCESS_KEY_TOKEN, auth.access_key_token)
        add("GET", routes.CXONE_CONFIGURATION, auth.cxone_configuration)
        api("GET", routes.CALL_LISTS, self._get_lists)
        api("POST", routes.CALL_LISTS, self._create_list)
        api("GET", routes.UPLOAD_JOBS, self._get_jobs)
        api("GET", routes.UPLOAD_JOB, self._get_job)
        api("GET", routes.CALL_LIST, self._get_list)
        api("DELETE", routes.CALL_LIST, self._delete_list)
        api("POST", routes.CALL_LIST_UPLOAD, self._upload)
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
        name = f"{request.method} {route.canonical if route else request.path}"
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
        self._settle_jobs()
        return await handler(request)

    @property
    def resets(self) -> int:
        """Connections dropped on purpose."""
        return self._faults.resets

    @property
    def tokens_issued(self) -> int:
        return self._auth.tokens_issued

    # -- calling lists ------------------------------------------------------------------

    def _summary(self, calling_list: _CallingList) -> dict[str, Any]:
        return {
            "listId": calling_list.list_id, "listName": calling_list.name, "status": "Active",
            "totalRecords": len(calling_list.records) + calling_list.invalid_records,
            "validRecords": len(calling_list.records),
            "invalidRecords": calling_list.invalid_records, "finalizedRecords": 0,
            "createDate": calling_list.created, "uploadDate": calling_list.uploaded,
        }

    async def _get_lists(self, request: web.Request) -> web.Response:
        skip, top = paging(request)
        lists = list(self._lists.values())
        return web.json_response({
            "totalRecords": len(lists),
            "callingLists": [self._summary(cl) for cl in lists[skip : skip + top]],
        })

    async def _create_list(self, request: web.Request) -> web.Response:
        query = request.query
        name, external_id = query.get("listName", ""), query.get("externalIdColumn", "")
        if not name or not external_id:
            return problem(400, "listName and externalIdColumn are required")
        try:
            body = await request.json()
            mappings = body["destinationMappings"]
            phone = next(m["fieldValue"] for m in mappings if m["fieldName"] == "PhoneNumber")
        except (ValueError, KeyError, TypeError, StopIteration):
            return problem(400, "destinationMappings must map PhoneNumber to a column")
        columns = {"externalId": external_id, "phoneNumber": str(phone)}
        for field_name, param in (("firstName", "firstNameColumn"),
                                  ("lastName", "lastNameColumn")):
            if query.get(param):
                columns[field_name] = query[param]
        list_id = self._next_list_id
        self._next_list_id += 1
        self._lists[list_id] = _CallingList(list_id, name, columns, _now_iso())
        return web.json_response({"listId": list_id})

    def _find(self, request: web.Request) -> _CallingList:
        calling_list = self._lists.get(int(request.match_info["listId"]))
        if calling_list is None:
            raise web.HTTPNotFound(text='{"error": "no such list"}',
                                   content_type="application/json")
        return calling_list

    async def _get_list(self, request: web.Request) -> web.Response:
        calling_list = self._find(request)
        result = self._summary(calling_list)
        if request.query.get("includeRecords", "").lower() == "true":
            skip, top = paging(request)
            stored = calling_list.records
            result["contactRecords"] = [stored[i] for i in calling_list.order[skip : skip + top]]
        return web.json_response({"resultSet": result})

    async def _delete_list(self, request: web.Request) -> web.Response:
        calling_list = self._find(request)
        del self._lists[calling_list.list_id]
        return web.json_response({})

    async def _upload(self, request: web.Request) -> web.Response:
        calling_list = self._find(request)
        c = self.config
        try:
            body = await request.json()
        except ValueError:
            return problem(400, "the body is not JSON")
        if not isinstance(body, dict):
            return problem(400, "the body is not a JSON object")
        missing = [name for name in _UPLOAD_REQUIRED if name not in body]
        if missing:
            return problem(400, f"missing required fields: {', '.join(missing)}")
        try:
            data = base64.b64decode(str(body["listFile"]), validate=True)
        except (binascii.Error, ValueError):
            return problem(400, "listFile is not valid base64")
        if len(data) > c.max_file_bytes:
            return problem(400, f"the file is over {c.max_file_bytes} bytes")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return problem(400, "the file is not UTF-8")
        rows = csv.reader(io.StringIO(text, newline=""))
        header = next(rows, [])
        absent = [h for h in calling_list.columns.values() if h not in header]
        if absent:
            return problem(400, f"the file's header lacks mapped columns: {', '.join(absent)}")
        where = {name: header.index(h) for name, h in calling_list.columns.items()}
        records: list[dict[str, str]] = []
        for number, fields in enumerate(rows, start=1):
            if not fields:
                continue
            if len(records) >= c.max_records_per_file:
                return problem(400, f"the file has over {c.max_records_per_file} records")
            if record_chars(tuple(fields)) > c.max_record_chars:
                return problem(400, f"record {number} is over {c.max_record_chars} characters")
            records.append({name: fields[i] if i < len(fields) else ""
                            for name, i in where.items()})
        self.records_received += len(records)
        job_id = self._next_job_id
        self._next_job_id += 1
        self._jobs[job_id] = _Job(job_id, calling_list.list_id, records, _now_iso(),
                                  time.monotonic() + c.job_delay_ms / 1000,
                                  will_cancel=self._rng.random() < c.cancel_rate)
        self._settle_jobs()
        return web.json_response({"jobId": job_id}, status=202)

    def _settle_jobs(self) -> None:
        """Finish every job whose delay has passed: cancel it, or store its records."""
        now = time.monotonic()
        for job in self._jobs.values():
            if job.complete or job.cancelled or job.ready_at > now:
                continue
            job.completed = _now_iso()
            if job.will_cancel:
                job.cancelled = True
                self.jobs_cancelled += 1
            else:
                job.complete = True
                self._store(job)
            job.records = []

    def _store(self, job: _Job) -> None:
        calling_list = self._lists.get(job.list_id)
        if calling_list is None:
            return
        lose_rate = self.config.lose_rate
        for record in job.records:
            if lose_rate > 0 and self._rng.random() < lose_rate:
                self.records_lost += 1
            elif record.get("externalId") and record.get("phoneNumber"):
                if record["externalId"] not in calling_list.records:
                    calling_list.order.append(record["externalId"])
                calling_list.records[record["externalId"]] = record
            else:
                calling_list.invalid_records += 1
        calling_list.uploaded = _now_iso()

    def _job_json(self, job: _Job) -> dict[str, Any]:
        calling_list = self._lists.get(job.list_id)
        return {
            "jobId": job.job_id, "listId": job.list_id,
            "listName": calling_list.name if calling_list else "",
            "startDate": job.submitted, "submitDate": job.submitted,
            "isComplete": job.complete, "isCancelled": job.cancelled,
            "completedDate": job.completed or None,
        }

    async def _get_job(self, request: web.Request) -> web.Response:
        job = self._jobs.get(int(request.match_info["jobId"]))
        if job is None:
            return problem(404, "no such job")
        return web.json_response({"uploadJobs": [self._job_json(job)]})

    async def _get_jobs(self, request: web.Request) -> web.Response:
        skip, top = paging(request)
        jobs = list(self._jobs.values())
        return web.json_response({
            "businessUnitId": 4_000_001, "lastPollTime": _now_iso(), "totalRecords": len(jobs),
            "uploadJobs": [self._job_json(job) for job in jobs[skip : skip + top]],
        })

    # -- do-not-call groups -------------------------------------------------------------

    def add_dnc_group(self, name: str) -> int:
        """A new, empty DNC group (CXone's API has no call for this; the admin UI does)."""
        return self._dnc.add(name)

    # -- introspection ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Requests by route and status, records received, records stored per list."""
        return {
            "requests": {route: dict(statuses) for route, statuses in self.requests.items()},
            "records_received": self.records_received,
            "records_stored": {str(i): len(cl.records) for i, cl in self._lists.items()},
            "records_lost": self.records_lost,
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
        calling_list = self._find(request)
        return web.json_response({"listId": calling_list.list_id,
                                  "records": list(calling_list.records.values())})
