"""A CXone API client for calling lists: the :class:`~streamer.delivery.ListTarget` over HTTP.

Auth: OpenID discovery on the issuer gives the token endpoint; the access-key password
grant with Basic client auth gives a token and an ``id_token`` whose claims name the
tenant; the tenant's ``cxone-configuration`` gives the API host. Every aiohttp failure
is translated here, at one boundary, into :mod:`streamer.errors`.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import anyio
import structlog

from streamer.credentials import Credentials, Secret, require_safe_url
from streamer.cxone import _routes as routes
from streamer.delivery import JobState
from streamer.errors import ConfigError, HTTPStatusError, RemoteError, TransportError
from streamer.limits import MAX_PAGE_SIZE
from streamer.retry import parse_retry_after, retry_call
from streamer.settings import RetryPolicy, UploadOptions

T = TypeVar("T")


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified.

    Acceptable for the ``id_token`` only because it comes straight from the token
    endpoint over TLS (OpenID Connect Core 3.1.3.7 allows TLS in place of the signature).
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as error:
        raise RemoteError(f"the token endpoint sent an unreadable id_token ({error})") from None
    if not isinstance(claims, dict):
        raise RemoteError("the token endpoint sent an id_token without claims")
    return claims


class CXoneClient:
    """Authenticated calls to one CXone tenant's calling-list API.

    ``session`` belongs to the caller (who closes it); call :meth:`connect` first.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: Credentials,
        *,
        api_version: str = "v30.0",
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        log: structlog.typing.FilteringBoundLogger | None = None,
    ) -> None:
        self._session = session
        self._credentials = credentials
        self._api_version = api_version
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._log = log or structlog.get_logger("streamer")
        self._token_endpoint = ""
        self._access_token = ""
        self._renew_at = 0.0
        self._token_lock = anyio.Lock()
        self.api_base = ""
        self.tenant_id = ""

    # -- auth and discovery -------------------------------------------------------------

    async def connect(self) -> None:
        """Sign in, then find the tenant's API base (discovered unless it is configured)."""
        creds = self._credentials
        issuer = require_safe_url(creds.issuer.rstrip("/"))
        if creds.token_route == "password":
            openid = await self._retrying(
                partial(self._send, "GET", issuer + routes.OPENID_CONFIGURATION)
            )
            self._token_endpoint = require_safe_url(str(openid["token_endpoint"]))
        else:
            self._token_endpoint = issuer + routes.ACCESS_KEY_TOKEN
        token = await self._retrying(self._grant)
        if creds.api_base:
            base = require_safe_url(creds.api_base.rstrip("/"))
            self.api_base = (base if routes.is_api_base(base)
                             else routes.api_base(base, self._api_version))
        else:
            self.api_base = await self._discover_api_base(issuer, token)
        self._log.info("streamer.connected", tenant_id=self.tenant_id, api_base=self.api_base)

    async def _discover_api_base(self, issuer: str, token: dict[str, Any]) -> str:
        """The tenant (from the id_token) → its cxone-configuration → its API host."""
        if not token.get("id_token"):
            raise ConfigError("the token answer has no id_token to find the tenant by; "
                              "set CXONE_API_BASE")
        claims = jwt_claims(str(token["id_token"]))
        iss = require_safe_url(str(claims.get("iss") or issuer).rstrip("/"))
        self.tenant_id = str(claims.get("tenantId", ""))
        config = await self._retrying(partial(
            self._send, "GET", iss + routes.CXONE_CONFIGURATION,
            params={"tenantId": self.tenant_id},
        ))
        api_endpoint = require_safe_url(str(config["api_endpoint"]).rstrip("/"))
        return routes.api_base(api_endpoint, self._api_version)

    async def _grant(self) -> dict[str, Any]:
        """Get a token by the configured route; remember it and when to renew it."""
        creds = self._credentials
        if creds.token_route == "access-key":
            answer = await self._send("POST", self._token_endpoint, json_body={
                "accessKeyId": creds.access_key_id,
                "accessKeySecret": creds.access_key_secret.reveal(),
            })
        else:
            form = {
                "grant_type": "password",
                "username": creds.access_key_id,
                "password": creds.access_key_secret.reveal(),
            }
            basic = None
            if creds.client_auth == "post":
                form |= {"client_id": creds.client_id,
                         "client_secret": creds.client_secret.reveal()}
            else:
                basic = (creds.client_id, creds.client_secret)
            answer = await self._send("POST", self._token_endpoint, data=form, basic=basic)
        if not answer.get("access_token"):
            raise RemoteError("the token endpoint answered without an access_token")
        expires_in = float(answer.get("expires_in") or 3600)
        self._access_token = str(answer["access_token"])
        # Renew ahead of expiry: 5 minutes early on real hour-long tokens, a fifth of
        # the lifetime on short ones, so no request ever carries a stale token.
        self._renew_at = time.monotonic() + expires_in - min(300.0, expires_in / 5)
        self._log.info("streamer.token_issued", expires_in=expires_in,
                       route=creds.token_route)
        return answer

    async def _token(self, *, stale: str | None = None) -> str:
        """A current access token; renews it once when it is due or ``stale`` was refused."""
        async with self._token_lock:
            due = time.monotonic() >= self._renew_at
            if due or (stale is not None and stale == self._access_token):
                await self._retrying(self._grant)
            return self._access_token

    # -- HTTP ---------------------------------------------------------------------------

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        def note(attempt: int, error: RemoteError, wait: float) -> None:
            self._log.warning("streamer.request_retry", attempt=attempt, error=str(error),
                              wait_s=round(wait, 3))

        return await retry_call(call, self._retry, self._rng, on_retry=note)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        basic: tuple[str, Secret] | None = None,
        token: str | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> dict[str, Any]:
        """One HTTP exchange; a JSON object back, or a translated error."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if basic is not None:
            pair = f"{basic[0]}:{basic[1].reveal()}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        try:
            async with self._session.request(
                method, url, params=params, json=json_body, data=data, headers=headers
            ) as response:
                text = await response.text()
                if response.status not in expect:
                    raise HTTPStatusError(
                        response.status,
                        _error_message(text, response.reason),
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    )
        except (aiohttp.ClientError, TimeoutError) as error:
            # str() of a connection error names the host, never a header or body.
            raise TransportError(
                f"{method} {urlsplit(url).path}: {type(error).__name__}: {error}"
            ) from None
        if not text.strip():
            return {}
        try:
            body = json.loads(text)
        except ValueError:
            raise RemoteError(f"{method} {urlsplit(url).path}: the answer is not JSON") from None
        return body if isinstance(body, dict) else {"items": body}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        expect: tuple[int, ...] = (200,),
    ) -> dict[str, Any]:
        """An authenticated API call (one attempt); a 401 gets one new token and one repeat."""
        url = self.api_base + path
        token = await self._token()
        try:
            return await self._send(
                method, url, params=params, json_body=json_body, token=token, expect=expect
            )
        except HTTPStatusError as error:
            if error.status != 401:
                raise
            self._log.info("streamer.token_refused", path=path)
            token = await self._token(stale=token)
            return await self._send(
                method, url, params=params, json_body=json_body, token=token, expect=expect
            )

    # -- calling lists ------------------------------------------------------------------

    async def find_list(self, name: str) -> int | None:
        """The id of the calling list named ``name``, paging through all lists."""
        skip = 0
        while True:
            params = {"skip": skip, "top": MAX_PAGE_SIZE}
            page = await self._retrying(
                partial(self.request, "GET", routes.CALL_LISTS, params=params))
            lists = page.get("callingLists") or []
            for entry in lists:
                if entry.get("listName") == name:
                    return int(entry["listId"])
            skip += len(lists)
            if not lists or skip >= int(page.get("totalRecords") or 0):
                return None

    async def create_list(
        self,
        name: str,
        *,
        external_id_column: str,
        phone_column: str,
        phone_field: str = "PhoneNumber",
        first_name_column: str | None = None,
        last_name_column: str | None = None,
    ) -> int:
        """Create a calling list whose mapping names the upload file's headers."""
        params: dict[str, str | int] = {"listName": name, "externalIdColumn": external_id_column}
        if first_name_column:
            params["firstNameColumn"] = first_name_column
        if last_name_column:
            params["lastNameColumn"] = last_name_column
        body = {"destinationMappings": [{"fieldName": phone_field, "fieldValue": phone_column}]}
        answer = await self._retrying(
            lambda: self.request(
                "POST", routes.CALL_LISTS, params=params, json_body=body, expect=(200, 201)
            )
        )
        return int(answer["listId"])

    async def upload(
        self, list_id: int, file_name: str, payload: bytes, options: UploadOptions
    ) -> int:
        """Submit one CSV file to a list (one attempt); CXone answers 202 with a job id."""
        expiration = datetime.now(UTC).date().toordinal() + options.expiration_days
        body: dict[str, Any] = {
            "listFile": base64.b64encode(payload).decode("ascii"),
            "fileName": file_name,
            "forceOverwrite": options.force_overwrite,
            "expirationDate": datetime.fromordinal(expiration).date().isoformat(),
            "startSkill": options.start_skill,
            "sendEmail": options.send_email,
        }
        if options.skill_id is not None:
            body["skillId"] = options.skill_id
        if options.default_time_zone:
            body["defaultTimeZone"] = options.default_time_zone
        answer = await self.request(
            "POST", routes.CALL_LIST_UPLOAD.format(listId=list_id), json_body=body,
            expect=(200, 202)
        )
        return int(answer["jobId"])

    async def job(self, job_id: int) -> JobState:
        """One upload job's completion flags (one attempt)."""
        answer = await self.request("GET", routes.UPLOAD_JOB.format(jobId=job_id))
        jobs = answer.get("uploadJobs") or []
        if not jobs:
            raise RemoteError(f"job {job_id}: the answer holds no job")
        job = jobs[0]
        return JobState(
            job_id=job_id,
            is_complete=_truthy(job.get("isComplete")),
            is_cancelled=_truthy(job.get("isCancelled")),
        )

    async def records_page(self, list_id: int, skip: int) -> tuple[int, list[dict[str, Any]]]:
        """One page of a list's records (with retries): (the list's total, the records)."""
        params: dict[str, str | int] = {"includeRecords": "true", "skip": skip,
                                        "top": MAX_PAGE_SIZE}
        answer = await self._retrying(
            partial(self.request, "GET", routes.CALL_LIST.format(listId=list_id), params=params)
        )
        result = answer.get("resultSet") or {}
        return int(result.get("totalRecords") or 0), list(result.get("contactRecords") or [])

    async def list_records(self, list_id: int) -> AsyncIterator[dict[str, Any]]:
        """Every record of a list, read back page by page."""
        skip = 0
        while True:
            total, records = await self.records_page(list_id, skip)
            for record in records:
                yield record
            skip += len(records)
            if not records or skip >= total:
                return


    # -- do-not-call groups (read only: suppression never writes back) -------------------

    async def dnc_groups(self) -> list[dict[str, Any]]:
        """The tenant's DNC groups (``dncGroupId``, ``dncGroupName``, ...)."""
        answer = await self._retrying(partial(self.request, "GET", routes.DNC_GROUPS))
        result = answer.get("resultSet") or {}
        return list(result.get("dncGroups") or [])

    async def dnc_records(self, group_id: int) -> AsyncIterator[dict[str, Any]]:
        """Every record of one DNC group (``phoneNumber``, ``expiredDate``), paged."""
        skip = 0
        while True:
            params: dict[str, str | int] = {"skip": skip, "top": MAX_PAGE_SIZE}
            answer = await self._retrying(
                partial(self.request, "GET", routes.DNC_GROUP_RECORDS.format(groupId=group_id),
                        params=params)
            )
            result = answer.get("resultSet") or {}
            records = result.get("dncRecords") or []
            for record in records:
                yield record
            skip += len(records)
            if not records or skip >= int(result.get("totalRecords") or 0):
                return


def _truthy(value: Any) -> bool:
    """CXone's booleans arrive as JSON booleans or as strings."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _error_message(text: str, reason: str | None) -> str:
    """A short message from an error body: its JSON error field, or its first characters."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error_description", "message", "error", "Message"):
            if body.get(key):
                return str(body[key])[:200]
    return (text.strip() or reason or "no message")[:200]
