"""The client against the sandbox, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64

import aiohttp
import anyio
import pytest

from streamer import ConfigError, HTTPStatusError, Sandbox, SandboxConfig, Secret
from streamer.credentials import Credentials, require_safe_url
from streamer.cxone import CXoneClient, jwt_claims
from streamer.fields import BASE_MAPPING
from streamer.retry import parse_retry_after
from streamer.settings import RetryPolicy, UploadOptions
from streamer.upload_format import UPLOAD_HEADER
from tests.support import stored_records

FAST = RetryPolicy(attempts=6, wait_initial=0.01, wait_max=0.05, timeout=5)


def csv_file(*rows: tuple[str, ...], header: tuple[str, ...] = UPLOAD_HEADER) -> bytes:
    return "\r\n".join(",".join(r) for r in (header, *rows)).encode() + b"\r\n"


async def new_list(api: CXoneClient, name: str = "spring") -> int:
    return await api.create_list(name, mapping=BASE_MAPPING)


async def wait_for(api: CXoneClient, job_id: int) -> None:
    while not (await api.job(job_id)).finished:
        await anyio.sleep(0.01)


async def test_connect_discovers_the_tenant_and_api_base(
    sandbox: Sandbox, api: CXoneClient
) -> None:
    assert api.tenant_id == sandbox.config.tenant_id
    assert api.api_base == f"{sandbox.url}/inContactAPI/services/v30.0"


async def test_create_find_upload_and_read_back(sandbox: Sandbox, api: CXoneClient) -> None:
    list_id = await new_list(api)
    assert await api.find_list("spring") == list_id
    assert await api.find_list("autumn") is None
    job_id = await api.upload(list_id, "b.csv", csv_file(
        ("A", "+14155552671", "Ann", "Lee"), ("B", "+14155552672", "Bob", "")), UploadOptions())
    await wait_for(api, job_id)
    assert [i async for i in api.list_external_ids(list_id)] == ["A", "B"]
    records = await stored_records(sandbox, list_id)
    assert [(r["externalId"], r["phoneNumber"]) for r in records] == [
        ("A", "+14155552671"), ("B", "+14155552672")]


async def test_the_same_external_id_updates_and_never_adds(sandbox: Sandbox,
                                                           api: CXoneClient) -> None:
    list_id = await new_list(api)
    for name in ("Ann", "Anne"):
        job_id = await api.upload(list_id, "b.csv", csv_file(("A", "+14155552671", name, "")),
                                  UploadOptions())
        await wait_for(api, job_id)
    records = await stored_records(sandbox, list_id)
    assert [(r["externalId"], r["firstName"]) for r in records] == [("A", "Anne")]


async def test_lists_and_records_are_read_in_pages(api: CXoneClient) -> None:
    for n in range(105):
        await new_list(api, f"list {n}")
    assert await api.find_list("list 104") is not None
    list_id = await new_list(api)
    rows = [(f"id{n}", f"+1415555{n:04d}", "", "") for n in range(250)]
    await wait_for(api, await api.upload(list_id, "b.csv", csv_file(*rows), UploadOptions()))
    ids = [i async for i in api.list_external_ids(list_id)]
    assert ids == [f"id{n}" for n in range(250)]


@pytest.mark.parametrize(
    ("body_change", "message"),
    [
        ({"listFile": "not base64!"}, "not valid base64"),
        ({"sendEmail": None}, "missing required fields: sendEmail"),
        ({"listFile": base64.b64encode(b"Phone,Name\r\n1,a\r\n").decode()},
         "lacks mapped columns"),
    ],
)
async def test_the_sandbox_checks_uploads_as_cxone_would(
    api: CXoneClient, body_change: dict[str, object], message: str
) -> None:
    list_id = await new_list(api)
    body: dict[str, object] = {
        "listFile": base64.b64encode(csv_file(("A", "+14155552671", "", ""))).decode(),
        "fileName": "b.csv", "forceOverwrite": False, "expirationDate": "2030-01-01",
        "startSkill": False, "sendEmail": False,
    }
    body.update(body_change)
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(HTTPStatusError, match=message) as caught:
        await api.request("POST", f"/lists/call-lists/{list_id}/upload", json_body=body,
                          expect=(202,))
    assert caught.value.status == 400


async def test_records_over_512_characters_are_refused(api: CXoneClient) -> None:
    list_id = await new_list(api)
    with pytest.raises(HTTPStatusError, match="over 512 characters"):
        await api.upload(list_id, "b.csv", csv_file(("A", "+14155552671", "x" * 600, "")),
                         UploadOptions())


async def test_an_expired_token_is_renewed_once_and_the_call_repeated() -> None:
    async with Sandbox(SandboxConfig(token_ttl=0.3)) as sandbox, aiohttp.ClientSession() as s:
        client = CXoneClient(s, sandbox.credentials, retry=FAST)
        await client.connect()
        # Force the stale token onto the wire: the client must see 401 and recover.
        client._renew_at = float("inf")
        await anyio.sleep(0.4)
        list_id = await new_list(client)
        assert list_id > 0
        stats = sandbox.stats()
        assert stats["tokens_issued"] == 2
        assert stats["requests"]["POST /inContactAPI/services/{version}/lists/call-lists"] == {
            "401": 1, "200": 1}


async def test_tokens_are_renewed_before_they_expire() -> None:
    async with Sandbox(SandboxConfig(token_ttl=0.5)) as sandbox, aiohttp.ClientSession() as s:
        client = CXoneClient(s, sandbox.credentials, retry=FAST)
        await client.connect()
        for _ in range(6):
            await client.find_list("x")
            await anyio.sleep(0.1)
        stats = sandbox.stats()
        assert stats["tokens_issued"] >= 2
        assert all("401" not in statuses for statuses in stats["requests"].values())


async def test_wrong_credentials_are_refused_without_echoing_the_secret(
    sandbox: Sandbox,
) -> None:
    creds = Credentials(issuer=sandbox.url, client_id="sandbox",
                        client_secret=Secret("hunter2-very-secret"), access_key_id="sandbox",
                        access_key_secret=Secret("sandbox"))
    async with aiohttp.ClientSession() as session:
        client = CXoneClient(session, creds, retry=FAST)
        with pytest.raises(HTTPStatusError) as caught:
            await client.connect()
    assert caught.value.status == 401
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(creds)


async def test_429_and_5xx_are_retried_and_counted_by_the_sandbox() -> None:
    config = SandboxConfig(error_rate=0.3, rate_limit=20, seed=3)
    async with Sandbox(config) as sandbox, aiohttp.ClientSession() as session:
        client = CXoneClient(session, sandbox.credentials, retry=RetryPolicy(
            attempts=30, wait_initial=0.01, wait_max=0.1, timeout=5))
        await client.connect()
        for n in range(40):
            await client.find_list(f"x{n}")
        statuses = sandbox.stats()["requests"][
            "GET /inContactAPI/services/{version}/lists/call-lists"]
    assert statuses["200"] == 40
    assert statuses.get("429", 0) > 0
    assert statuses.get("500", 0) + statuses.get("503", 0) > 0


def test_plain_http_is_refused_except_to_this_machine() -> None:
    assert require_safe_url("https://cxone.niceincontact.com")
    assert require_safe_url("http://127.0.0.1:8765")
    assert require_safe_url("http://localhost:1")
    with pytest.raises(ConfigError, match="use https"):
        require_safe_url("http://cxone.niceincontact.com")


def test_helpers_read_jwt_claims_and_retry_after() -> None:
    payload = base64.urlsafe_b64encode(b'{"iss":"https://x","tenantId":"t"}').rstrip(b"=")
    claims = jwt_claims(f"h.{payload.decode()}.s", "id_token")
    assert claims == {"iss": "https://x", "tenantId": "t"}
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None



@pytest.mark.parametrize(
    ("client_auth", "token_route", "token_path"),
    [("basic", "password", "POST /auth/token"), ("post", "password", "POST /auth/token"),
     ("basic", "access-key", "POST /authentication/v1/token/access-key")],
)
async def test_each_token_route_and_client_auth_signs_in(
    sandbox: Sandbox, client_auth: str, token_route: str, token_path: str
) -> None:
    base = sandbox.credentials
    creds = Credentials(issuer=base.issuer, client_id=base.client_id,
                        client_secret=base.client_secret, access_key_id=base.access_key_id,
                        access_key_secret=base.access_key_secret, client_auth=client_auth,
                        token_route=token_route)
    async with aiohttp.ClientSession() as session:
        client = CXoneClient(session, creds, retry=FAST)
        await client.connect()
        assert await client.find_list("nothing") is None
    assert sandbox.stats()["requests"][token_path] == {"200": 1}


async def test_a_configured_api_base_skips_tenant_discovery(sandbox: Sandbox) -> None:
    base = sandbox.credentials
    creds = Credentials(issuer=base.issuer, client_id=base.client_id,
                        client_secret=base.client_secret, access_key_id=base.access_key_id,
                        access_key_secret=base.access_key_secret, api_base=sandbox.url)
    async with aiohttp.ClientSession() as session:
        client = CXoneClient(session, creds, api_version="v31.0", retry=FAST)
        await client.connect()
        assert client.api_base == f"{sandbox.url}/inContactAPI/services/v31.0"
        assert await client.find_list("nothing") is None
    assert "GET /.well-known/cxone-configuration" not in sandbox.stats()["requests"]


def test_credentials_come_from_the_environment_by_token_route() -> None:
    from streamer.credentials import credentials_from_env

    assert credentials_from_env({}) is None
    key = {"CXONE_ACCESS_KEY_ID": "k", "CXONE_ACCESS_KEY_SECRET": "s"}
    with pytest.raises(ConfigError, match="CXONE_CLIENT_ID, CXONE_CLIENT_SECRET not set"):
        credentials_from_env(key)
    creds = credentials_from_env(key | {"CXONE_TOKEN_ROUTE": "access-key"})
    assert creds is not None and creds.token_route == "access-key"
    creds = credentials_from_env(key | {"CXONE_CLIENT_ID": "c", "CXONE_CLIENT_SECRET": "x",
                                        "CXONE_CLIENT_AUTH": "post",
                                        "CXONE_API_BASE": "https://api-na1.niceincontact.com"})
    assert creds is not None
    assert (creds.client_auth, creds.api_base) == ("post", "https://api-na1.niceincontact.com")
    assert "x" not in repr(creds.client_secret)
    with pytest.raises(ConfigError, match="client auth"):
        credentials_from_env(key | {"CXONE_CLIENT_ID": "c", "CXONE_CLIENT_SECRET": "x",
                                    "CXONE_CLIENT_AUTH": "cookie"})
