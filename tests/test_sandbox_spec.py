"""The sandbox follows the spec (/work/shared/cxone-api.md) where it is known, and plays
each of its unknowns either way on a switch: raw HTTP against a sandbox on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamer import Sandbox, SandboxConfig, cli
from streamer._cli_sandbox import sandbox_config
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


# -- DNC add answer; the DNC record's number field -----------------------------------------


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


@pytest.mark.parametrize("field", ["phoneNumber", "formattedPhone"])
async def test_dnc_records_name_their_number_as_configured(
    tmp_path: Path, http: aiohttp.ClientSession, field: str,
) -> None:
    numbers = tmp_path / "dnc.txt"
    numbers.write_text("4155552671,2030-01-01\n")
    config = SandboxConfig(dnc_phone_field=field, dnc_groups=(("Internal", numbers),))
    async with Sandbox(config) as sandbox:
        headers = await bearer(http, sandbox)
        # Adds take the configured field as well as the spec's phoneNumber.
        status, _ = await call(http, sandbox, "POST", "/dnc-groups/7001/records", headers,
                               json={"dncGroupRecords": [{field: "4155552672"}]})
        assert status == 200
        _, text = await call(http, sandbox, "GET", "/dnc-groups/7001/records", headers)
    records = json.loads(text)["resultSet"]["dncRecords"]
    assert records == [{field: "4155552671", "expiredDate": "2030-01-01"},
                       {field: "4155552672", "expiredDate": None}]


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


# -- tokens, the API root, the switches ---------------------------------------------------


@pytest.mark.parametrize(
    ("style", "keys"),
    [
        ("camel", ["externalId", "phoneNumber", "firstName", "lastName"]),
        ("pascal", ["ExternalId", "PhoneNumber", "FirstName", "LastName"]),
        ("snake", ["external_id", "phone_number", "first_name", "last_name"]),
    ],
)
async def test_read_back_records_spell_their_keys_as_configured(
    http: aiohttp.ClientSession, style: str, keys: list[str],
) -> None:
    async with Sandbox(SandboxConfig(record_keys=style)) as sandbox:
        list_id = sandbox.add_list("spring", first_name_column="FirstName",
                                   last_name_column="LastName")
        headers = await bearer(http, sandbox)
        await upload(http, sandbox, headers, list_id, "A,+14155552671,Ann,Lee")
        _, text = await call(http, sandbox, "GET", f"/lists/call-lists/{list_id}", headers,
                             params={"includeRecords": "true"})
        stored = await (await http.get(f"{sandbox.url}/sandbox/lists/{list_id}/records")).json()
    assert json.loads(text)["resultSet"]["contactRecords"] == [
        dict(zip(keys, ["A", "+14155552671", "Ann", "Lee"], strict=True))]
    # What the sandbox keeps (and shows to introspection) is spelled one way only.
    assert list(stored["records"][0]) == ["externalId", "phoneNumber", "firstName", "lastName"]


def test_an_unknown_key_spelling_is_refused() -> None:
    with pytest.raises(ValueError, match="record_keys"):
        SandboxConfig(record_keys="kebab")


@pytest.mark.parametrize("empty_204", [False, True])
async def test_empty_collections_answer_204_when_switched_on(
    http: aiohttp.ClientSession, empty_204: bool,
) -> None:
    async with Sandbox(SandboxConfig(empty_204=empty_204)) as sandbox:
        headers = await bearer(http, sandbox)
        empty = ["/lists/call-lists", "/lists/call-lists/jobs", "/dnc-groups"]
        answers = [await call(http, sandbox, "GET", path, headers) for path in empty]
        list_id = sandbox.add_list("spring")
        group_id = sandbox.add_dnc_group("Internal")
        answers.append(await call(http, sandbox, "GET", f"/dnc-groups/{group_id}/records",
                                  headers))
        records = f"/lists/call-lists/{list_id}"
        answers.append(await call(http, sandbox, "GET", records, headers,
                                  params={"includeRecords": "true"}))
        await upload(http, sandbox, headers, list_id, "A,+14155552671,,")
        # A page with records is a page; the one past the end is empty.
        full = await call(http, sandbox, "GET", records, headers,
                          params={"includeRecords": "true"})
        answers.append(await call(http, sandbox, "GET", records, headers,
                                  params={"includeRecords": "true", "skip": "1"}))
        # Without includeRecords a list is one object, never an empty collection.
        summary = await call(http, sandbox, "GET", records, headers)
    assert full[0] == 200 and len(json.loads(full[1])["resultSet"]["contactRecords"]) == 1
    assert summary[0] == 200
    if empty_204:
        assert answers == [(204, "")] * 6
    else:
        assert [status for status, _ in answers] == [200] * 6
        assert all(json.loads(text) for _, text in answers)


async def test_without_an_id_token_the_access_token_names_the_tenant(
    http: aiohttp.ClientSession,
) -> None:
    async with Sandbox(SandboxConfig(id_token=False)) as sandbox:
        answer = await access_key_answer(http, sandbox)
        token = answer["access_token"]
        status, _ = await call(http, sandbox, "GET", "/lists/call-lists",
                               {"Authorization": f"Bearer {token}"})
        # The password grant keeps its id_token: the switch plays the access-key route.
        async with http.post(f"{sandbox.url}/auth/token", headers=basic("sandbox:sandbox"),
                             data={"grant_type": "password", "username": "sandbox",
                                   "password": "sandbox"}) as grant:
            password_answer = await grant.json()
    assert "id_token" not in answer
    assert status == 200
    header, _, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256",
                                                                    "typ": "JWT"}
    claims = jwt_claims(token)
    assert claims["iss"] == sandbox.url
    assert claims["tenantId"] == sandbox.config.tenant_id
    assert "id_token" in password_answer


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


@pytest.mark.parametrize("echo", [False, True])
async def test_echo_credentials_puts_the_requests_secrets_in_error_answers(
    http: aiohttp.ClientSession, echo: bool,
) -> None:
    config = SandboxConfig(echo_credentials=echo, client_secret="client-hunter2",
                           access_key_secret="key-hunter2")
    async with Sandbox(config) as sandbox:
        headers = await bearer(http, sandbox)
        token = headers["Authorization"].removeprefix("Bearer ")
        texts = []
        async with http.post(f"{sandbox.url}/auth/token", headers=basic("sandbox:client-hunter2"),
                             data={"grant_type": "password", "username": "sandbox",
                                   "password": "key-hunter2x"}) as answer:
            assert answer.status == 400
            texts.append(await answer.text())
        async with http.post(f"{sandbox.url}/authentication/v1/token/access-key", json={
                "accessKeyId": "sandbox", "accessKeySecret": "key-hunter2x"}) as answer:
            assert answer.status == 401
            texts.append(await answer.text())
        list_id = sandbox.add_list("spring")
        for method, path, body in (
                ("GET", "/lists/call-lists/999", None),
                ("POST", f"/lists/call-lists/{list_id}/upload", {"listFile": "x"}),
                ("POST", f"/lists/call-lists/{list_id}/upload",
                 upload_body("A,1", header="Id,Phone"))):
            status, text = await call(http, sandbox, method, path, headers, json=body)
            assert status in (400, 404)
            texts.append(text)
        # Ok answers never echo.
        status, ok = await call(http, sandbox, "GET", "/lists/call-lists", headers)
    assert status == 200 and token not in ok
    password, key, *api = texts
    for text in texts:
        assert isinstance(json.loads(text), dict)
    encoded = base64.b64encode(b"sandbox:client-hunter2").decode()
    assert (encoded in password and "key-hunter2x" in password) is echo
    assert ("key-hunter2x" in key) is echo
    assert all((token in text) is echo for text in api)
    if echo:
        # In every text field, so a client reading any of them meets the secret.
        assert all(token in json.loads(api[0])[k] for k in ("error", "message"))
        assert all("key-hunter2x" in v for v in json.loads(key).values())


# -- the switches on the command line ------------------------------------------------------


def test_the_sandbox_command_takes_every_switch(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
    with subprocess.Popen(
        [sys.executable, "-m", "streamer", "sandbox", "--port", "0", "--record-keys", "pascal",
         "--empty-204", "--dnc-phone-field", "formattedPhone", "--no-id-token",
         "--echo-credentials"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    ) as server:
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
            issuer = re.search(r"issuer (http://\S+)", first)
            assert issuer, first
            url = issuer.group(1)
            request = urllib.request.Request(
                f"{url}/authentication/v1/token/access-key", method="POST",
                data=b'{"accessKeyId": "sandbox", "accessKeySecret": "sandbox"}',
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as answer:
                token = json.loads(answer.read())
            lists = urllib.request.Request(f"{url}{API}/lists/call-lists", headers={
                "Authorization": f"Bearer {token['access_token']}"})
            with urllib.request.urlopen(lists, timeout=30) as answer:
                lists_status, lists_body = answer.status, answer.read()
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(
                    f"{url}{API}/lists/call-lists/1",
                    headers={"Authorization": "Bearer echo-me"}), timeout=30)
            echoed = refused.value.read().decode()
            refused.value.close()
        finally:
            server.terminate()
    assert "id_token" not in token
    assert (lists_status, lists_body) == (204, b"")
    assert "echo-me" in echoed


def test_the_sandbox_command_maps_each_flag_to_its_setting() -> None:
    parser = cli.build_parser()
    flags = parser.parse_args(["sandbox", "--record-keys", "snake", "--empty-204",
                               "--dnc-phone-field", "formattedPhone", "--no-id-token",
                               "--echo-credentials", "--rate-limit", "5"])
    assert sandbox_config(flags) == SandboxConfig(
        record_keys="snake", empty_204=True, dnc_phone_field="formattedPhone",
        id_token=False, echo_credentials=True, rate_limit=5)
    assert sandbox_config(parser.parse_args(["sandbox"])) == SandboxConfig()
