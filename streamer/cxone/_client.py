"""A CXone API client for calling lists: the :class:`~streamer.delivery.ListTarget` over HTTP.

Auth: OpenID discovery on the issuer gives the token endpoint; the access-key password
grant with Basic client auth gives a token and an ``id_token`` whose claims name the
tenant (the access-key route may send no ``id_token``: then the access token's own claims
do); the tenant's ``cxone-configuration`` gives the API host. Every exchange goes through
:class:`~streamer.cxone._http.Http` (errors translated, redirects refused, bodies bounded)
and every answer through :mod:`~streamer.cxone._answers` (typed, or one line saying why
not). Calls the delivery stage paces itself are one attempt each; the rest retry here,
paced, within the retry policy's time budget.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import anyio
import structlog

from streamer.cleaning import DncEntry, DncGroup
from streamer.credentials import Credentials, Secret, require_safe_url
from streamer.cxone import _answers as answers
from streamer.cxone import _routes as routes
from streamer.cxone._http import Http
from streamer.delivery import AdaptiveLimiter, JobState, RecordsPage, Removal
from streamer.errors import ConfigError, HTTPStatusError, RemoteError, UnreadableAnswer
from streamer.fields import ListMapping
from streamer.limits import MAX_PAGE_SIZE
from streamer.retry import retry_call
from streamer.settings import ListFields, RetryPolicy, UploadOptions

T = TypeVar("T")

#: The list status CXone gives a list that no longer dials; never picked by name.
_INACTIVE = "inactive"
#: How much of CXone's word on one removed record is kept (it goes into removed.csv).
_RESULT_CHARS = 200


def jwt_claims(token: str, what: str = "id_token") -> dict[str, Any]:
    """The claims of a JWT, unverified.

    Acceptable only for tokens that come straight from the token endpoint over TLS
    (OpenID Connect Core 3.1.3.7 allows TLS in place of the signature).
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise UnreadableAnswer(f"the token endpoint sent an unreadable {what}") from None
    if not isinstance(claims, dict):
        raise UnreadableAnswer(f"the token endpoint sent an {what} without claims")
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
        fields: ListFields | None = None,
        rng: random.Random | None = None,
        log: structlog.typing.FilteringBoundLogger | None = None,
    ) -> None:
        self._credentials = credentials
        self._api_version = api_version
        self._retry = retry or RetryPolicy()
        self._fields = fields or ListFields()
        self._rng = rng or random.Random()
        self._log = log or structlog.get_logger("streamer")
        self._http = Http(session, self._secrets)
        self._token_endpoint = ""
        self._access_token = ""
        self._renew_at = 0.0
        self._token_lock = anyio.Lock()
        # The calls retried here (lists, DNC pages) are paced like uploads: after a 429
        # they go no faster than the server was accepting.
        self._pace = AdaptiveLimiter(1, 4, self._log, calls="reads")
        self.api_base = ""
        self.tenant_id = ""

    def _secrets(self) -> tuple[Secret | str, ...]:
        return (*self._credentials.secret_values(), self._access_token)

    # -- auth and discovery -------------------------------------------------------------

    async def connect(self) -> None:
        """Sign in, then find the tenant's API base (discovered unless it is configured)."""
        creds = self._credentials
        issuer = require_safe_url(creds.issuer.rstrip("/"))
        if creds.token_route == "password":
            what = "OpenID discovery"
            openid = answers.json_object(await self._retrying(
                partial(self._http.send, "GET", issuer + routes.OPENID_CONFIGURATION)), what)
            self._token_endpoint = require_safe_url(
                answers.text(openid, "token_endpoint", what))
        else:
            self._token_endpoint = require_safe_url(
                creds.access_key_host() + routes.ACCESS_KEY_TOKEN)
        token = await self._retrying(self._grant)
        if creds.api_base:
            base = require_safe_url(creds.api_base.rstrip("/"))
            self.api_base = (base if routes.is_api_base(base)
                             else routes.api_base(base, self._api_version))
        else:
            self.api_base = await self._discover_api_base(issuer, token)
        self._log.info("streamer.connected", tenant_id=self.tenant_id, api_base=self.api_base)

    async def _discover_api_base(self, issuer: str, token: answers.Token) -> str:
        """The tenant (from the id_token, else the access token) → its cxone-configuration
        → its API host."""
        if token.id_token is not None:
            claims = jwt_claims(token.id_token, "id_token")
        else:
            try:
                claims = jwt_claims(token.access_token, "access token")
            except UnreadableAnswer:
                claims = {}
            if not claims.get("tenantId"):
                raise ConfigError("the token answer has no id_token and its access token "
                                  "names no tenant; set CXONE_API_BASE")
        iss = require_safe_url(str(claims.get("iss") or issuer).rstrip("/"))
        self.tenant_id = str(claims.get("tenantId", ""))
        what = "API discovery (cxone-configuration)"
        config = answers.json_object(await self._retrying(partial(
            self._http.send, "GET", iss + routes.CXONE_CONFIGURATION,
            params={"tenantId": self.tenant_id},
        )), what)
        api_endpoint = require_safe_url(answers.text(config, "api_endpoint", what).rstrip("/"))
        return routes.api_base(api_endpoint, self._api_version)

    async def _grant(self) -> answers.Token:
        """Get a token by the configured route; remember it and when to renew it."""
        creds = self._credentials
        if creds.token_route == "access-key":
            answer = await self._http.send("POST", self._token_endpoint, json_body={
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
            answer = await self._http.send("POST", self._token_endpoint, data=form,
                                           basic=basic)
        token = answers.token(answer, "the token endpoint")
        self._access_token = token.access_token
        # Renew ahead of expiry: 5 minutes early on real hour-long tokens, a fifth of
        # the lifetime on short ones, so no request ever carries a stale token.
        expires_in = token.expires_in
        self._renew_at = time.monotonic() + expires_in - min(300.0, expires_in / 5)
        self._log.info("streamer.token_issued", expires_in=expires_in,
                       route=creds.token_route)
        return token

    async def _token(self, *, stale: str | None = None) -> str:
        """A current access token; renews it once when it is due or ``stale`` was refused."""
        async with self._token_lock:
            due = time.monotonic() >= self._renew_at
            if due or (stale is not None and stale == self._access_token):
                await self._retrying(self._grant)
            return self._access_token

    # -- HTTP ---------------------------------------------------------------------------

    async def _retrying(self, call: Callable[[], Awaitable[T]], *, paced: bool = False) -> T:
        """``call`` retried within the retry policy's time budget; ``paced`` API calls
        also wait their turn (sign-in, which a paced call may need, never does)."""
        def note(attempt: int, error: RemoteError, wait: float) -> None:
            self._log.warning("streamer.request_retry", attempt=attempt, error=str(error),
                              wait_s=round(wait, 3))

        attempt = partial(self._pace.run, call) if paced else call
        return await retry_call(attempt, self._retry, self._rng, on_retry=note,
                                within=self._retry.give_up_after)

    async def _api(self, method: str, path: str, **options: Any) -> Any:
        """An API call, paced and retried: for the calls delivery does not pace itself."""
        return await self._retrying(partial(self.request, method, path, **options), paced=True)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        expect: tuple[int, ...] = (200,),
    ) -> Any:
        """An authenticated API call (one attempt); a 401 gets one new token and one repeat.
        The answer's JSON, ``None`` when it had no body."""
        url = self.api_base + path
        token = await self._token()
        try:
            return await self._http.send(
                method, url, params=params, json_body=json_body, bearer=token, expect=expect)
        except HTTPStatusError as error:
            if error.status != 401:
                raise
            self._log.info("streamer.token_refused", path=path)
            token = await self._token(stale=token)
            return await self._http.send(
                method, url, params=params, json_body=json_body, bearer=token, expect=expect)

    # -- calling lists ------------------------------------------------------------------

    async def find_list(self, name: str) -> int | None:
        """The id of the oldest active calling list named ``name``."""
        return min((entry.list_id for entry in await self._lists(name)
                    if (entry.status or "").lower() != _INACTIVE), default=None)

    async def lists_named(self, name: str) -> list[int]:
        """The ids of every calling list named ``name``, whatever its status."""
        return [entry.list_id for entry in await self._lists(name)]

    async def _lists(self, name: str) -> list[answers.ListEntry]:
        """The calling lists named ``name``, paging through all lists (to the first empty
        page: a total is a hint, not a bound)."""
        found: list[answers.ListEntry] = []
        skip, previous = 0, None
        while True:
            params = {"skip": skip, "top": MAX_PAGE_SIZE}
            what = "GET the calling lists"
            lists = answers.lists_page(
                await self._api("GET", routes.CALL_LISTS, params=params), what)
            if not lists:
                return found
            _check_paging(lists, previous, what)
            found += [entry for entry in lists if entry.name == name]
            skip, previous = skip + len(lists), lists

    async def list_name(self, list_id: int) -> str:
        """A list's name (``removeProspects`` names the list by name)."""
        answer = await self._api("GET", routes.CALL_LIST.format(listId=list_id))
        return answers.list_name(answer, f"GET list {list_id}")

    async def create_list(self, name: str, *, mapping: ListMapping) -> int:
        """Create a calling list whose mapping names the upload file's headers.

        Fields with a create-call parameter go in the query **[C]**; PhoneNumber, Email
        and SMSPhoneNumber in ``destinationMappings`` (PhoneNumber seen in third-party
        code, the others inferred; their names are settings); custom and ``phone:``
        fields as ``ListFields.custom_fields_as`` says (inferred).
        """
        fields = self._fields
        params: dict[str, str | int] = {"listName": name}
        destinations: list[dict[str, str]] = []
        custom: list[dict[str, str]] = []
        renamed = {"PhoneNumber": fields.phone_field, "Email": fields.email_field}
        for target, header in mapping:
            if target.create_param is not None:
                params[target.create_param] = header
            elif target.custom and fields.custom_fields_as == "custom-field-mappings":
                custom.append({"fieldName": target.name, "fieldValue": header})
            else:
                destinations.append({"fieldName": renamed.get(target.name, target.name),
                                     "fieldValue": header})
        body: dict[str, Any] = {"destinationMappings": destinations}
        if custom:
            body["customFieldMappings"] = custom
        answer = await self._api("POST", routes.CALL_LISTS, params=params, json_body=body,
                                 expect=(200, 201))
        what = "create a calling list"
        return answers.integer(answers.json_object(answer, what), "listId", what)

    async def delete_list(self, list_id: int) -> None:
        """Remove a list this run created (and must not keep)."""
        await self._api("DELETE", routes.CALL_LIST.format(listId=list_id),
                        params={"forceInactive": "true", "forceDelete": "true"},
                        expect=(200, 202, 204))

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
            expect=(200, 202))
        what = f"upload {file_name}"
        return answers.integer(answers.json_object(answer, what), "jobId", what)

    async def job(self, job_id: int) -> JobState:
        """One upload job's completion flags (one attempt)."""
        answer = await self.request("GET", routes.UPLOAD_JOB.format(jobId=job_id))
        return answers.job_state(answer, f"job {job_id}", job_id)

    async def records_page(self, list_id: int, skip: int) -> RecordsPage:
        """One page of a list's records (one attempt)."""
        params: dict[str, str | int] = {"includeRecords": "true", "skip": skip,
                                        "top": MAX_PAGE_SIZE}
        answer = await self.request("GET", routes.CALL_LIST.format(listId=list_id),
                                    params=params)
        return answers.records_page(answer, f"read back list {list_id}",
                                    self._fields.record_id_fields)

    async def remove_prospects(self, list_name: str, external_ids: list[str]) -> list[Removal]:
        """Remove records from a list by external id (one attempt), as CXone answers for
        each. Its words reach removed.csv only scrubbed of credentials, and cut short."""
        body = {"prospectsToRemove": [{"externalId": i} for i in external_ids]}
        answer = await self.request(
            "DELETE", routes.CALL_LIST_REMOVE_PROSPECTS.format(listName=quote(list_name, safe="")),
            json_body=body, expect=(200, 202))
        # externalId is the documented name; read-back's own names are accepted too.
        said = answers.removals(answer, f"remove records from list {list_name!r}", external_ids,
                                ("externalId", *self._fields.record_id_fields))
        return [Removal(r.external_id, r.removed, self._http.scrub(r.result)[:_RESULT_CHARS])
                for r in said]

    async def list_external_ids(self, list_id: int) -> AsyncIterator[str]:
        """Every external id in a list, read page by page to the first empty page."""
        skip, previous = 0, None
        while True:
            page = await self._retrying(partial(self.records_page, list_id, skip), paced=True)
            if not page.size:
                return
            _check_paging(page.external_ids, previous, f"read back list {list_id}")
            for external_id in page.external_ids:
                yield external_id
            skip, previous = skip + page.size, page.external_ids

    # -- do-not-call groups (read only: suppression never writes back) -------------------

    async def dnc_groups(self) -> list[DncGroup]:
        """The tenant's DNC groups."""
        answer = await self._api("GET", routes.DNC_GROUPS)
        return answers.dnc_groups(answer, "GET the DNC groups")

    async def dnc_records(self, group_id: int) -> AsyncIterator[DncEntry]:
        """Every entry of one DNC group, paged to the first empty page."""
        skip, previous = 0, None
        what = f"DNC group {group_id}"
        while True:
            params: dict[str, str | int] = {"skip": skip, "top": MAX_PAGE_SIZE}
            answer = await self._api("GET", routes.DNC_GROUP_RECORDS.format(groupId=group_id),
                                     params=params)
            entries, size = answers.dnc_page(answer, what, self._fields.dnc_phone_fields)
            if not size:
                return
            _check_paging(entries, previous, what)
            for entry in entries:
                yield entry
            skip, previous = skip + size, entries


def _check_paging(page: Sequence[object], previous: Sequence[object] | None, what: str) -> None:
    """Paging goes to the first empty page; a server that ignores ``skip`` would never
    send one, so the same page twice running stops the run instead of looping."""
    if previous is not None and list(page) == list(previous):
        raise UnreadableAnswer(f"{what}: the same page came back for the next skip; the "
                               "server does not page")
