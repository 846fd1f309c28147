"""The sandbox follows the spec (/work/shared/cxone-api.md) where it is known: raw HTTP
against a sandbox on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from streamer import Sandbox, SandboxConfig
from streamer.cxone import jwt_claims

API = "/inContactAPI/services/v30.0"
LISTS_ROUTE = "GET /inContactAPI/services/{version}/lists/call-lists"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def basic(client: str) -> dict[str, str]:
    """A Basic Authorization header for ``client`` (``id:secret``)."""
    return {"Authorization": "Basic " + base64.b64encode(client.encode()).decode()}


async def access_key_answer(http: aiohttp.ClientSession, sandbox: Sandbox) -> dict[str, Any]:
    c = sandbox.config
    async with http.post(f"{sandbox.url}/authentication/v1/token/access-key", json={
            "accessKeyId": c.access_key_id, "accessKeySecret": c.access_key_secret}) as answer:
        assert answer.status == 200
        body: dict[str, Any] = await answer.json()
        return body


async def bearer(http: aiohttp.ClientSession, sandbox: Sandbox) -> dict[str, str]:
    token = (await access_key_answer(http, sandbox))["access_token"]
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


async def call(
    http: aiohttp.ClientSession, sandbox: Sandbox, method: str, path: str,
    headers: dict[str, str] | None = None, **kwargs: Any,
) -> tuple[int, str]:
    async with http.request(method, f"{sandbox.url}{API}{path}", headers=headers,
                            **kwargs) as answer:
        return answer.status, await answer.text()


def upload_body(*rows: str, header: str = "ExternalId,PhoneNumber,FirstName,LastName") -> dict[
        str, object]:
    text = "\r\n".join((header, *rows)) + "\r\n"
    return {"listFile": base64.b64encode(text.encode()).decode(), "fileName": "b.csv",
            "forceOverwrite": False, "expirationDate": "2030-01-01", "startSkill": False,
            "sendEmail": False}


async def upload(http: aiohttp.ClientSession, sandbox: Sandbox, headers: dict[str, str],
                 list_id: int, *rows: str) -> None:
    """Upload ``rows`` and see the job complete (the sandbox's jobs finish at once)."""
    status, text = await call(http, sandbox, "POST", f"/lists/call-lists/{list_id}/upload",
                              headers, json=upload_body(*rows))
    assert status == 202, text
    status, text = await call(http, sandbox, "GET",
                              f"/lists/call-lists/jobs/{json.loads(text)['jobId']}", headers)
    assert json.loads(text)["uploadJobs"][0]["isComplete"] is True


# -- auth comes before every fault ---------------------------------------------------------


async def test_a_request_without_a_valid_token_gets_401_never_a_fault(
    http: aiohttp.ClientSession,
) -> None:
    config = SandboxConfig(rate_limit=1, throttle_rate=1.0, error_rate=1.0)
    async with Sandbox(config) as sandbox:
        headers = await bearer(http, sandbox)
        # The faults are on: a signed-in call meets them.
        assert (await call(http, sandbox, "GET", "/lists/call-lists", headers))[0] == 429
        for _ in range(5):
            for wrong in ({}, {"Authorization": "Bearer nope"},
                          {"Authorization": headers["Authorization"] + "x"}):
                status, text = await call(http, sandbox, "GET", "/lists/call-lists", wrong)
                assert status == 401
                assert json.loads(text)["message"] == "invalid or expired token"


# -- error bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "form", "status", "error"),
    [
        ("sandbox:wrong", {"grant_type": "password"}, 401, "invalid_client"),
        ("sandbox:sandbox", {"grant_type": "client_credentials"}, 400,
         "unsupported_grant_type"),
        ("sandbox:sandbox", {"grant_type": "password", "username": "sandbox",
                             "password": "wrong"}, 400, "invalid_grant"),
    ],
)
async def test_the_token_endpoint_answers_errors_in_the_auth_schema(
    sandbox: Sandbox, http: aiohttp.ClientSession, client: str, form: dict[str, str],
    status: int, error: str,
) -> None:
    async with http.post(f"{sandbox.url}/auth/token", data=form,
                         headers=basic(client)) as answer:
        assert answer.status == status
        body = await answer.json()
    assert set(body) == {"error", "errorDescription"}
    assert body["error"] == error and body["errorDescription"]


@pytest.mark.parametrize(
    ("posted", "status", "error"),
    [
        ({"accessKeyId": "sandbox"}, 400, "invalid_request"),
        ({"accessKeyId": "sandbox", "accessKeySecret": "wrong"}, 401, "invalid_grant"),
    ],
)
async def test_the_access_key_route_answers_errors_in_the_auth_schema(
    sandbox: Sandbox, http: aiohttp.ClientSession, posted: dict[str, str], status: int,
    error: str,
) -> None:
    async with http.post(f"{sandbox.url}/authentication/v1/token/access-key",
                         json=posted) as answer:
        assert answer.status == status
        body = await answer.json()
    assert set(body) == {"error", "errorDescription"}
    assert body["error"] == error


async def test_api_errors_stay_readable(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    headers = await bearer(http, sandbox)
    status, text = await call(http, sandbox, "GET", "/lists/call-lists/jobs/1", headers)
    assert status == 404
    assert json.loads(text) == {"error": "no such job", "message": "no such job"}


# -- DNC add answer ------------------------------------------------------------------------


async def test_a_dnc_add_answers_per_record_results(
    sandbox: Sandbox, http: aiohttp.ClientSession,
) -> None:
    group_id = sandbox.add_dnc_group("Internal")
    headers = await bearer(http, sandbox)
    status, text = await call(http, sandbox, "POST", f"/dnc-groups/{group_id}/records", headers,
                              json={"dncGroupRecords": [
                                  {"phoneNumber": 4155552671, "expiredDate": None},
                                  {"expiredDate": "2030-01-01"},
                                  {"phoneNumber": "4155552672"}]})
    assert status == 200
    result = json.loads(text)["resultSet"]
    assert result["errorCount"] == 1
    assert [r["success"] for r in result["recordResults"]] == [True, False, True]
    _, text = await call(http, sandbox, "GET", f"/dnc-groups/{group_id}/records", headers)
    assert [r["phoneNumber"] for r in json.loads(text)["resultSet"]["dncRecords"]] == [
        "4155552671", "4155552672"]


# -- discovery -----------------------------------------------------------------------------


async def test_the_tenant_configuration_has_every_documented_field(
    sandbox: Sandbox, http: aiohttp.ClientSession,
) -> None:
    async with http.get(f"{sandbox.url}/.well-known/cxone-configuration",
                        params={"tenantId": sandbox.config.tenant_id}) as answer:
        body = await answer.json()
    assert set(body) >= {"private", "ui_endpoint", "auth_endpoint", "api_endpoint", "area",
                         "cluster", "domain", "acdDomain", "uhDomain", "tenantId",
                         "globaldomain"}
    assert body["api_endpoint"] == sandbox.url
    assert body["tenantId"] == sandbox.config.tenant_id


# -- a list's status and counts ------------------------------------------------------------


async def test_lists_carry_status_and_counts_and_a_test_can_deactivate_one(
    sandbox: Sandbox, http: aiohttp.ClientSession,
) -> None:
    list_id = sandbox.add_list("spring", first_name_column="FirstName")
    headers = await bearer(http, sandbox)
    await upload(http, sandbox, headers, list_id, "A,+14155552671,Ann,", "B,,Bob,",
                 "C,+14155552673,,")
    sandbox.set_list_status(list_id, "Inactive")
    _, text = await call(http, sandbox, "GET", "/lists/call-lists", headers)
    [entry] = json.loads(text)["callingLists"]
    _, text = await call(http, sandbox, "GET", f"/lists/call-lists/{list_id}", headers)
    result = json.loads(text)["resultSet"]
    for answer in (entry, result):
        assert answer["listName"] == "spring"
        assert (answer["status"], answer["totalRecords"], answer["validRecords"],
                answer["invalidRecords"]) == ("Inactive", 3, 2, 1)
    sandbox.set_list_status(list_id, "Active")
    _, text = await call(http, sandbox, "GET", f"/lists/call-lists/{list_id}", headers)
    assert json.loads(text)["resultSet"]["status"] == "Active"
    with pytest.raises(ValueError, match="Active, Inactive"):
        sandbox.set_list_status(list_id, "Paused")


async def test_a_list_created_over_the_api_is_active(
    sandbox: Sandbox, http: aiohttp.ClientSession,
) -> None:
    headers = await bearer(http, sandbox)
    status, text = await call(
        http, sandbox, "POST", "/lists/call-lists", headers,
        params={"listName": "autumn", "externalIdColumn": "ExternalId"},
        json={"destinationMappings": [{"fieldName": "PhoneNumber", "fieldValue": "Phone"}]})
    assert status == 200
    _, text = await call(http, sandbox, "GET", f"/lists/call-lists/{json.loads(text)['listId']}",
                         headers)
    assert json.loads(text)["resultSet"]["status"] == "Active"


# -- tokens and the API root ---------------------------------------------------------------


async def test_by_default_the_access_key_route_answers_an_id_token(
    sandbox: Sandbox, http: aiohttp.ClientSession,
) -> None:
    answer = await access_key_answer(http, sandbox)
    assert jwt_claims(answer["id_token"])["tenantId"] == sandbox.config.tenant_id
    # Every access token is a JWT, and each one is new.
    assert jwt_claims(answer["access_token"])["tenantId"] == sandbox.config.tenant_id
    assert (await access_key_answer(http, sandbox))["access_token"] != answer["access_token"]


@pytest.mark.parametrize("root", ["/inContactAPI", "/incontactapi", "/incontactApi",
                                  "/INCONTACTAPI"])
async def test_the_api_root_is_served_in_any_case_and_always_needs_a_token(
    sandbox: Sandbox, http: aiohttp.ClientSession, root: str,
) -> None:
    headers = await bearer(http, sandbox)
    url = f"{sandbox.url}{root}/services/v30.0/lists/call-lists"
    async with http.get(url, headers=headers) as answer:
        assert answer.status == 200
        assert (await answer.json())["totalRecords"] == 0
    async with http.get(url) as answer:
        assert answer.status == 401
    assert sandbox.stats()["requests"][LISTS_ROUTE] == {"200": 1, "401": 1}
