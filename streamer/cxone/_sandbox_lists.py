"""The sandbox's calling lists and upload jobs.

It checks uploads as CXone would (required fields, base64, the mapped columns, CXone's
file limits) and keeps records keyed by external id, so a second upload of the same id
updates a record and never adds one. Jobs finish at a client's next call after their
delay; the faults of a job (cancelled, records lost) are drawn here.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from streamer.cxone._sandbox_config import (
    SandboxConfig,
    collection,
    not_found,
    paging,
    problem,
)
from streamer.fields import SYSTEM_FIELDS
from streamer.upload_format import record_chars

_UPLOAD_REQUIRED = ("listFile", "forceOverwrite", "expirationDate", "startSkill", "sendEmail")
_BY_PARAM = {f.create_param: f for f in SYSTEM_FIELDS if f.create_param is not None}
_SYSTEM = {f.name.casefold(): f for f in SYSTEM_FIELDS}
#: The statuses a calling list can have.
LIST_STATUSES = ("Active", "Inactive")


@dataclass(slots=True)
class CallingList:
    list_id: int
    name: str
    #: Each mapped field (a system field camelCase, a custom field by its name) -> the
    #: CSV header that holds it.
    columns: dict[str, str]
    created: str
    status: str = "Active"
    #: Records as stored, keyed by ``columns``' field names (``externalId``, ``zip``,
    #: ``Balance``), each holding every mapped field.
    records: dict[str, dict[str, str]] = field(default_factory=dict)
    #: External ids in the order first stored: a page is a slice of this, not a copy of
    #: every record (reading a million-record list back page by page stays linear).
    order: list[str] = field(default_factory=list)
    invalid_records: int = 0
    uploaded: str = ""
    #: Per external id: how many times removeProspects named it, and removed its record.
    removals_asked: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    #: ``order`` still holds removed ids: rebuilt at the next read, not at every removal.
    order_stale: bool = False

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


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _spelling(style: str) -> Callable[[str], str] | None:
    """How a camelCase field name is spelled in read-back records; None: as it is."""
    if style == "pascal":
        return lambda name: name[:1].upper() + name[1:]
    if style == "snake":
        return lambda name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return None


class CallingLists:
    """The lists, their records and the upload jobs, with their request handlers."""

    def __init__(self, config: SandboxConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng
        self._spell = _spelling(config.record_keys)
        self.lists: dict[int, CallingList] = {}
        self.jobs: dict[int, _Job] = {}
        self._next_list_id = 1001
        self._next_job_id = 5001
        self.records_received = 0
        self.records_lost = 0
        self.records_removed = 0
        self.jobs_cancelled = 0

    def add(self, name: str, columns: dict[str, str]) -> int:
        """A new, empty list whose ``columns`` map system fields to the file's headers."""
        list_id = self._next_list_id
        self._next_list_id += 1
        self.lists[list_id] = CallingList(list_id, name, columns, now_iso())
        return list_id

    def _summary(self, calling_list: CallingList) -> dict[str, Any]:
        return {
            "listId": calling_list.list_id, "listName": calling_list.name,
            "status": calling_list.status,
            "totalRecords": len(calling_list.records) + calling_list.invalid_records,
            "validRecords": len(calling_list.records),
            "invalidRecords": calling_list.invalid_records, "finalizedRecords": 0,
            "createDate": calling_list.created, "uploadDate": calling_list.uploaded,
        }

    async def get_lists(self, request: web.Request) -> web.Response:
        skip, top = paging(request)
        page = [self._summary(cl) for cl in list(self.lists.values())[skip : skip + top]]
        return collection(self.config, {"totalRecords": len(self.lists), "callingLists": page},
                          page)

    async def create_list(self, request: web.Request) -> web.Response:
        """A list mapping every field named: the ``*Column`` query parameters, then
        ``destinationMappings`` (system fields by name, any other name a custom field)
        and ``customFieldMappings`` (custom fields, as older API versions send them)."""
        query = request.query
        name, external_id = query.get("listName", ""), query.get("externalIdColumn", "")
        if not name or not external_id:
            return problem(400, "listName and externalIdColumn are required")
        columns = {_BY_PARAM[param].record_key: header for param, header in query.items()
                   if param in _BY_PARAM and header}
        try:
            body = await request.json()
            mappings = [(str(m["fieldName"]), str(m["fieldValue"]))
                        for key in ("destinationMappings", "customFieldMappings")
                        for m in body.get(key) or ()]
        except (ValueError, KeyError, TypeError, AttributeError):
            return problem(400, "destinationMappings must be a list of fieldName/fieldValue")
        for field_name, header in mappings:
            system = _SYSTEM.get(field_name.casefold())
            columns[system.record_key if system is not None else field_name] = header
        if "phoneNumber" not in columns:
            return problem(400, "destinationMappings must map PhoneNumber to a column")
        return web.json_response({"listId": self.add(name, columns)})

    def _find(self, request: web.Request) -> CallingList:
        calling_list = self.lists.get(int(request.match_info["listId"]))
        if calling_list is None:
            raise not_found("no such list")
        return calling_list

    async def get_list(self, request: web.Request) -> web.Response:
        calling_list = self._find(request)
        result = self._summary(calling_list)
        if request.query.get("includeRecords", "").lower() != "true":
            return web.json_response({"resultSet": result})
        skip, top = paging(request)
        stored, spell = calling_list.records, self._spell
        if calling_list.order_stale:
            calling_list.order = list(dict.fromkeys(i for i in calling_list.order if i in stored))
            calling_list.order_stale = False
        page = [stored[i] for i in calling_list.order[skip : skip + top]]
        if spell is not None:
            page = [{spell(k): v for k, v in record.items()} for record in page]
        result["contactRecords"] = page
        return collection(self.config, {"resultSet": result}, page)

    async def delete_list(self, request: web.Request) -> web.Response:
        calling_list = self._find(request)
        del self.lists[calling_list.list_id]
        return web.json_response({})

    async def remove_prospects(self, request: web.Request) -> web.Response:
        """``removeProspects``: records removed by external id, from the list of that name
        (the oldest active one, when several are), answered per record; an id the list
        does not hold is a failed record (``NotFound``)."""
        name = request.match_info["listName"]
        named = sorted((cl for cl in self.lists.values() if cl.name == name),
                       key=lambda cl: (cl.status != "Active", cl.list_id))
        if not named:
            raise not_found("no list of that name")
        calling_list = named[0]
        try:
            body = await request.json()
            ids = [str(prospect["externalId"]) for prospect in body["prospectsToRemove"]]
        except (ValueError, KeyError, TypeError):
            return problem(400, "prospectsToRemove must be a list of {externalId}")
        successful: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        for external_id in ids:
            calling_list.removals_asked[external_id] += 1
            if calling_list.records.pop(external_id, None) is None:
                failed.append({"externalId": external_id, "resultCode": "NotFound",
                               "resultMessage": "no record with this external id"})
            else:
                calling_list.removed[external_id] += 1
                successful.append({"externalId": external_id, "resultCode": "Success"})
        calling_list.order_stale = calling_list.order_stale or bool(successful)
        self.records_removed += len(successful)
        return web.json_response({"successfulRecords": successful, "failedRecords": failed})

    async def upload(self, request: web.Request) -> web.Response:
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
        self.jobs[job_id] = _Job(job_id, calling_list.list_id, records, now_iso(),
                                 time.monotonic() + c.job_delay_ms / 1000,
                                 will_cancel=self._rng.random() < c.cancel_rate)
        self.settle_jobs()
        return web.json_response({"jobId": job_id}, status=202)

    def settle_jobs(self) -> None:
        """Finish every job whose delay has passed: cancel it, or store its records."""
        now = time.monotonic()
        for job in self.jobs.values():
            if job.complete or job.cancelled or job.ready_at > now:
                continue
            job.completed = now_iso()
            if job.will_cancel:
                job.cancelled = True
                self.jobs_cancelled += 1
            else:
                job.complete = True
                self._store(job)
            job.records = []

    def _store(self, job: _Job) -> None:
        calling_list = self.lists.get(job.list_id)
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
        calling_list.uploaded = now_iso()

    def _job_json(self, job: _Job) -> dict[str, Any]:
        calling_list = self.lists.get(job.list_id)
        return {
            "jobId": job.job_id, "listId": job.list_id,
            "listName": calling_list.name if calling_list else "",
            "startDate": job.submitted, "submitDate": job.submitted,
            "isComplete": job.complete, "isCancelled": job.cancelled,
            "completedDate": job.completed or None,
        }

    async def get_job(self, request: web.Request) -> web.Response:
        job = self.jobs.get(int(request.match_info["jobId"]))
        if job is None:
            return problem(404, "no such job")
        return web.json_response({"uploadJobs": [self._job_json(job)]})

    async def get_jobs(self, request: web.Request) -> web.Response:
        skip, top = paging(request)
        page = [self._job_json(job) for job in list(self.jobs.values())[skip : skip + top]]
        return collection(self.config, {
            "businessUnitId": 4_000_001, "lastPollTime": now_iso(),
            "totalRecords": len(self.jobs), "uploadJobs": page,
        }, page)
