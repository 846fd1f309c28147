"""A local CXone: an aiohttp app serving the calling-list API's endpoints and JSON shapes.

It checks requests as CXone would (auth, required fields, base64, the mapped columns,
CXone's file limits) and keeps records keyed by external id, so a second upload of the
same id updates a record and never adds one. Tests, benchmarks and the README demo use
it; it can also misbehave on purpose (rate limits, server errors, slow jobs).

Introspection without auth: ``GET /sandbox/stats`` and ``GET /sandbox/lists/{id}/records``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
import random
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from streamer.batching import record_chars
from streamer.limits import MAX_FILE_BYTES, MAX_PAGE_SIZE, MAX_RECORD_CHARS, MAX_RECORDS_PER_FILE
from streamer.settings import Credentials, Secret

API_PREFIX = "/inContactAPI/services/{version:v[0-9]+\\.0}"
_UPLOAD_REQUIRED = ("listFile", "forceOverwrite", "expirationDate", "startSkill", "sendEmail")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxConfig:
    """What the sandbox accepts and how badly it behaves. Deterministic for a given seed."""

    client_id: str = "sandbox"
    client_secret: str = "sandbox"
    access_key_id: str = "sandbox"
    access_key_secret: str = "sandbox"
    tenant_id: str = "11eb0000-5a4d-b0c5-0000-00000000c0de"
    token_ttl: float = 3600.0
    #: API requests per second per access token and endpoint (a token bucket each, as
    #: gateways limit routes apart: job polls do not eat the uploads' allowance);
    #: 0 means unlimited.
    rate_limit: float = 0.0
    #: Share of API requests answered 429 whatever the rate (half with Retry-After).
    throttle_rate: float = 0.0
    #: The Retry-After those 429s carry, in seconds.
    retry_after_s: int = 1
    #: Share of API requests answered 500 or 503.
    error_rate: float = 0.0
    #: Share of API requests whose connection is dropped: half before the request is
    #: handled, half after (the work is done but the answer is lost, as in real life).
    reset_rate: float = 0.0
    #: Milliseconds added to every API answer, give or take half of it at random.
    latency_ms: float = 0.0
    #: Milliseconds between an upload and its job completing.
    job_delay_ms: float = 0.0
    #: Share of upload jobs that end cancelled, storing nothing.
    cancel_rate: float = 0.0
    #: Share of records a completed job silently does not store (read-back catches them).
    lose_rate: float = 0.0
    seed: int = 0
    #: DNC groups to serve: (name, file of "number[,expiredDate]" lines).
    dnc_groups: tuple[tuple[str, Path], ...] = ()
    max_records_per_file: int = MAX_RECORDS_PER_FILE
    max_file_bytes: int = MAX_FILE_BYTES
    max_record_chars: int = MAX_RECORD_CHARS


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


@dataclass(slots=True)
class _DncGroup:
    group_id: int
    name: str
    records: list[dict[str, str | None]] = field(default_factory=list)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message, "message": message}, status=status,
                             headers=headers or None)


class Sandbox:
    """The emulator. ``async with Sandbox(config) as sandbox:`` serves on 127.0.0.1."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._rng = random.Random(self.config.seed)
        self._signing_key = secrets.token_bytes(32)
        self._tokens: dict[str, float] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._lists: dict[int, _CallingList] = {}
        self._jobs: dict[int, _Job] = {}
        self._next_list_id = 1001
        self._next_job_id = 5001
        self._dnc_groups: dict[int, _DncGroup] = {}
        for name, path in self.config.dnc_groups:
            group_id = self.add_dnc_group(name)
            for line in path.read_text(encoding="utf-8").splitlines():
                number, _, until = line.strip().partition(",")
                if number and not number.startswith("#"):
                    self._dnc_groups[group_id].records.append(
                        {"phoneNumber": number.strip(), "expiredDate": until.strip() or None})
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.records_received = 0
        self.records_lost = 0
        self.jobs_cancelled = 0
        self.resets = 0
        self.tokens_issued = 0
        self.webhooks: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # -- serving ------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._count, self._misbehave],
                              client_max_size=2 * MAX_FILE_BYTES)
        api = API_PREFIX
        app.router.add_get("/.well-known/openid-configuration", self._openid_configuration)
        app.router.add_post("/auth/token", self._token)
        app.router.add_post("/authentication/v1/token/access-key", self._access_key_token)
        app.router.add_get("/.well-known/cxone-configuration", self._cxone_configuration)
        app.router.add_get(f"{api}/lists/call-lists", self._authed(self._get_lists))
        app.router.add_post(f"{api}/lists/call-lists", self._authed(self._create_list))
        app.router.add_get(f"{api}/lists/call-lists/jobs", self._authed(self._get_jobs))
        app.router.add_get(f"{api}/lists/call-lists/jobs/{{jobId:\\d+}}",
                           self._authed(self._get_job))
        app.router.add_get(f"{api}/lists/call-lists/{{listId:\\d+}}",
                           self._authed(self._get_list))
        app.router.add_delete(f"{api}/lists/call-lists/{{listId:\\d+}}",
                              self._authed(self._delete_list))
        app.router.add_post(f"{api}/lists/call-lists/{{listId:\\d+}}/upload",
                            self._authed(self._upload))
        app.router.add_get(f"{api}/dnc-groups", self._authed(self._get_dnc_groups))
        app.router.add_get(f"{api}/dnc-groups/{{groupId:\\d+}}/records",
                           self._authed(self._get_dnc_records))
        app.router.add_post(f"{api}/dnc-groups/{{groupId:\\d+}}/records",
                            self._authed(self._add_dnc_records))
        app.router.add_get("/sandbox/stats", self._stats)
        app.router.add_get("/sandbox/lists/{listId:\\d+}/records", self._stored_records)
        # A stand-in CRM, so webhook calls can be tested against a real server too.
        app.router.add_post("/sandbox/webhook", self._receive_webhook)
        app.router.add_get("/sandbox/webhooks", self._received_webhooks)
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

    # -- middleware ---------------------------------------------------------------------

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
    async def _misbehave(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Faults apply to the API only, never to discovery or introspection."""
        self._settle_jobs()
        if not request.path.startswith("/inContactAPI/"):
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
                    return _error(429, "Too many requests", **{"Retry-After": refused})
                return _error(429, "Too many requests")
        if c.throttle_rate > 0 and rng.random() < c.throttle_rate:
            if rng.random() < 0.5:
                return _error(429, "Too many requests", **{"Retry-After": str(c.retry_after_s)})
            return _error(429, "Too many requests")
        if c.error_rate > 0 and rng.random() < c.error_rate:
            status = rng.choice((500, 503))
            return _error(status, "Internal server error" if status == 500 else "Unavailable")
        if c.reset_rate > 0 and rng.random() < c.reset_rate:
            if rng.random() < 0.5:
                return self._reset(request)
            await handler(request)
            return self._reset(request)
        return await handler(request)

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

    def _authed(self, handler: Handler) -> Handler:
        async def check(request: web.Request) -> web.StreamResponse:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            expires = self._tokens.get(token) if scheme == "Bearer" else None
            if expires is None or expires <= time.monotonic():
                return _error(401, "invalid or expired token")
            return await handler(request)

        return check

    # -- auth and discovery -------------------------------------------------------------

    async def _openid_configuration(self, request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.json_response({
            "issuer": base,
            "token_endpoint": f"{base}/auth/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "grant_types_supported": ["password", "refresh_token", "authorization_code"],
        })

    async def _token(self, request: web.Request) -> web.Response:
        """The password grant; the client authenticates by Basic header or in the form."""
        c = self.config
        form = await request.post()
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            client = base64.b64decode(encoded, validate=True).decode() if scheme == "Basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            client = ""
        if not client and "client_id" in form:
            client = f"{form.get('client_id')!s}:{form.get('client_secret')!s}"
        if client != f"{c.client_id}:{c.client_secret}":
            return _error(401, "invalid_client")
        if form.get("grant_type") != "password":
            return _error(400, "unsupported_grant_type")
        if form.get("username") != c.access_key_id or form.get("password") != c.access_key_secret:
            return _error(400, "invalid_grant")
        return self._issue_token(request)

    async def _access_key_token(self, request: web.Request) -> web.Response:
        """The developer portal's route: the access key as JSON, no client."""
        try:
            body = await request.json()
            key_id, key_secret = body["accessKeyId"], body["accessKeySecret"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "accessKeyId and accessKeySecret are required")
        if (key_id, key_secret) != (self.config.access_key_id, self.config.access_key_secret):
            return _error(401, "invalid access key")
        return self._issue_token(request)

    def _issue_token(self, request: web.Request) -> web.Response:
        c = self.config
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + c.token_ttl
        self.tokens_issued += 1
        base = f"{request.scheme}://{request.host}"
        return web.json_response({
            "access_token": token,
            "token_type": "bearer",
            "refresh_token": secrets.token_urlsafe(24),
            "expires_in": c.token_ttl,
            "id_token": self._id_token(base),
        })

    def _id_token(self, issuer: str) -> str:
        now = int(time.time())
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = _b64url(json.dumps({
            "iss": issuer, "sub": f"user:{self.config.access_key_id}",
            "aud": self.config.client_id, "tenantId": self.config.tenant_id,
            "iat": now, "exp": now + int(self.config.token_ttl),
        }).encode())
        signature = hmac.new(self._signing_key, f"{header}.{claims}".encode(), hashlib.sha256)
        return f"{header}.{claims}.{_b64url(signature.digest())}"

    async def _cxone_configuration(self, request: web.Request) -> web.Response:
        if request.query.get("tenantId") != self.config.tenant_id:
            return _error(404, "unknown tenant")
        base = f"{request.scheme}://{request.host}"
        return web.json_response({
            "private": False, "ui_endpoint": base, "auth_endpoint": base, "api_endpoint": base,
            "area": "sandbox", "cluster": "SB1", "domain": request.host,
            "tenantId": self.config.tenant_id,
        })

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
        skip, top = _paging(request)
        lists = list(self._lists.values())
        return web.json_response({
            "totalRecords": len(lists),
            "callingLists": [self._summary(cl) for cl in lists[skip : skip + top]],
        })

    async def _create_list(self, request: web.Request) -> web.Response:
        query = request.query
        name, external_id = query.get("listName", ""), query.get("externalIdColumn", "")
        if not name or not external_id:
            return _error(400, "listName and externalIdColumn are required")
        try:
            body = await request.json()
            mappings = body["destinationMappings"]
            phone = next(m["fieldValue"] for m in mappings if m["fieldName"] == "PhoneNumber")
        except (ValueError, KeyError, TypeError, StopIteration):
            return _error(400, "destinationMappings must map PhoneNumber to a column")
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
            skip, top = _paging(request)
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
            return _error(400, "the body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the body is not a JSON object")
        missing = [name for name in _UPLOAD_REQUIRED if name not in body]
        if missing:
            return _error(400, f"missing required fields: {', '.join(missing)}")
        try:
            data = base64.b64decode(str(body["listFile"]), validate=True)
        except (binascii.Error, ValueError):
            return _error(400, "listFile is not valid base64")
        if len(data) > c.max_file_bytes:
            return _error(400, f"the file is over {c.max_file_bytes} bytes")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _error(400, "the file is not UTF-8")
        rows = csv.reader(io.StringIO(text, newline=""))
        header = next(rows, [])
        absent = [h for h in calling_list.columns.values() if h not in header]
        if absent:
            return _error(400, f"the file's header lacks mapped columns: {', '.join(absent)}")
        where = {name: header.index(h) for name, h in calling_list.columns.items()}
        records: list[dict[str, str]] = []
        for number, fields in enumerate(rows, start=1):
            if not fields:
                continue
            if len(records) >= c.max_records_per_file:
                return _error(400, f"the file has over {c.max_records_per_file} records")
            if record_chars(tuple(fields)) > c.max_record_chars:
                return _error(400, f"record {number} is over {c.max_record_chars} characters")
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
            return _error(404, "no such job")
        return web.json_response({"uploadJobs": [self._job_json(job)]})

    async def _get_jobs(self, request: web.Request) -> web.Response:
        skip, top = _paging(request)
        jobs = list(self._jobs.values())
        return web.json_response({
            "businessUnitId": 4_000_001, "lastPollTime": _now_iso(), "totalRecords": len(jobs),
            "uploadJobs": [self._job_json(job) for job in jobs[skip : skip + top]],
        })

    # -- do-not-call groups -------------------------------------------------------------

    def add_dnc_group(self, name: str) -> int:
        """A new, empty DNC group (CXone's API has no call for this; the admin UI does)."""
        group_id = 7001 + len(self._dnc_groups)
        self._dnc_groups[group_id] = _DncGroup(group_id, name)
        return group_id

    def _group(self, request: web.Request) -> _DncGroup:
        group = self._dnc_groups.get(int(request.match_info["groupId"]))
        if group is None:
            raise web.HTTPNotFound(text='{"error": "no such DNC group"}',
                                   content_type="application/json")
        return group

    async def _get_dnc_groups(self, request: web.Request) -> web.Response:
        groups = [{"dncGroupId": g.group_id, "dncGroupName": g.name,
                   "dncGroupDescription": "", "recordCount": len(g.records), "isActive": True}
                  for g in self._dnc_groups.values()]
        return web.json_response({"resultSet": {"totalGroups": len(groups),
                                                "dncGroups": groups}})

    async def _get_dnc_records(self, request: web.Request) -> web.Response:
        group = self._group(request)
        skip, top = _paging(request)
        return web.json_response({"resultSet": {
            "totalRecords": len(group.records),
            "dncRecords": group.records[skip : skip + top],
        }})

    async def _add_dnc_records(self, request: web.Request) -> web.Response:
        group = self._group(request)
        try:
            entries = (await request.json())["dncGroupRecords"]
            added = [{"phoneNumber": str(e["phoneNumber"]), "expiredDate": e.get("expiredDate")}
                     for e in entries]
        except (ValueError, KeyError, TypeError):
            return _error(400, "dncGroupRecords must list phoneNumber entries")
        group.records.extend(added)
        return web.json_response({
            "successfulRecords": [{"phoneNumber": a["phoneNumber"], "resultCode": "Success"}
                                  for a in added],
            "failedRecords": [],
        })

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


def _paging(request: web.Request) -> tuple[int, int]:
    """``skip``/``top`` as CXone pages: top defaults to 50 and is capped at 100."""
    try:
        skip = max(0, int(request.query.get("skip", "0")))
        top = int(request.query.get("top", "50"))
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "skip and top must be integers"}',
                                 content_type="application/json") from None
    return skip, min(max(top, 1), MAX_PAGE_SIZE)
