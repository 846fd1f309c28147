"""A CXone that misbehaves in each way seen in the wild, in front of the sandbox: the
run ends with one-line errors or correct outcomes, never a traceback, never a lost or
doubled row, and never a credential written down."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import anyio
import pytest
from aiohttp import web

import streamer
from streamer import Sandbox, SandboxConfig
from streamer.cxone import CXoneClient
from streamer.errors import HTTPStatusError, RemoteError, UnreadableAnswer
from streamer.settings import ListFields, RetryPolicy
from tests.cli_runs import cli_env, upload
from tests.conftest import WriteCsv
from tests.hostile_front import Front, Passed, answer, json_answer, unsigned_jwt
from tests.support import assert_exact, read_outcomes, settings_for, stored_records

UPLOAD = r"/call-lists/\d+/upload$"
CALL_LIST = r"/call-lists/\d+$"
CALL_LISTS = r"/call-lists$"


def contacts(write_csv: WriteCsv, count: int = 30) -> Path:
    return write_csv([["phone", "id"], *[[f"(415) 555-{n:04d}", f"c{n}"]
                                         for n in range(2000, 2000 + count)]])


async def run_through(front: Front, path: Path, out: Path, **overrides: object
                      ) -> streamer.Report:
    settings = settings_for(None, out, credentials=front.credentials, **overrides)
    return await streamer.run(path, settings)


# -- redirects ----------------------------------------------------------------------------


async def test_a_redirect_from_the_token_endpoint_is_never_followed(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with Sandbox() as sandbox, Front(sandbox) as front, Front(sandbox) as elsewhere:
        front.on("POST", "/auth/token$", answer(307, Location=f"{elsewhere.url}/steal?k=1"))
        with pytest.raises(RemoteError) as raised:
            await run_through(front, contacts(write_csv), tmp_path / "out")
    assert elsewhere.seen == []  # the access key went nowhere else
    message = str(raised.value)
    assert f"redirected to {elsewhere.url}/steal;" in message and "k=1" not in message


async def test_a_redirected_upload_fails_its_rows_and_is_not_followed(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with Sandbox() as sandbox, Front(sandbox) as front:
        front.on("POST", UPLOAD, answer(301, Location="/inContactAPI/services/v30.0/jobs"))
        report = await run_through(front, contacts(write_csv), tmp_path / "out")
        assert ("GET", "/inContactAPI/services/v30.0/jobs") not in front.seen
    assert report.balanced and report.outcomes["failed"] == 30
    assert {o["reason"] for o in read_outcomes(tmp_path / "out")} == {"upload_failed"}


# -- malformed answers --------------------------------------------------------------------


@pytest.mark.parametrize("body", ["{}", '{"jobId": "abc"}', "[7777]", "null", "<html>ok</html>"])
async def test_an_upload_answer_that_cannot_be_read_is_settled_by_read_back(
        tmp_path: Path, write_csv: WriteCsv, body: str) -> None:
    async with Sandbox() as sandbox, Front(sandbox) as front:
        # The sandbox takes the file; only its answer comes back garbled.
        front.on("POST", UPLOAD, answer(202, body), pass_through=True)
        report = await run_through(front, contacts(write_csv), tmp_path / "out")
        await assert_exact(sandbox, tmp_path / "out")
    assert report.outcomes["uploaded"] == 30 and report.outcomes["failed"] == 0
    assert report.verification["resent"] == 0


@pytest.mark.parametrize(("method", "path", "body", "says"), [
    ("POST", CALL_LISTS, '{"id": 5}', "create a calling list: the answer has no listId"),
    ("GET", CALL_LISTS, '{"callingLists": {"listId": 1}}',
     "GET the calling lists: callingLists is not a list of objects"),
    ("GET", "/openid-configuration$", "{}", "OpenID discovery: the answer has no token_endpoint"),
    ("POST", "/auth/token$", '{"token": "x"}',
     "the token endpoint: the answer has no access_token"),
])
def test_a_malformed_answer_ends_the_run_in_one_line(
        tmp_path: Path, write_csv: WriteCsv, method: str, path: str, body: str,
        says: str) -> None:
    async def serve() -> tuple[int, str]:
        async with Sandbox() as sandbox, Front(sandbox) as front:
            front.on(method, path, answer(200, body))
            child = await upload(cli_env(front.credentials), contacts(write_csv),
                                 tmp_path / "out")
            return child.returncode, child.stderr.decode()

    code, err = anyio.run(serve)
    assert code == 1
    assert err.strip().splitlines() == [f"streamer: {says}"]


async def test_discovery_without_an_api_endpoint_is_one_line(tmp_path: Path) -> None:
    async def id_token_from_the_front(request: web.Request,
                                      passed: Passed | None) -> web.StreamResponse:
        assert passed is not None
        token = passed.json() | {"id_token": unsigned_jwt({"iss": front.url,
                                                          "tenantId": "t-1"})}
        return web.json_response(token)

    async with Sandbox() as sandbox, Front(sandbox) as front:
        front.on("POST", "/auth/token$", id_token_from_the_front, pass_through=True)
        front.on("GET", "/cxone-configuration$", json_answer(200, {"area": "na1"}))
        creds = front.credentials
        async with aiohttp.ClientSession() as session:
            client = CXoneClient(session, creds.__class__(
                issuer=front.url, client_id=creds.client_id, client_secret=creds.client_secret,
                access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret))
            with pytest.raises(UnreadableAnswer, match="has no api_endpoint"):
                await client.connect()


# -- bounded ------------------------------------------------------------------------------


async def test_a_huge_error_body_is_read_only_as_far_as_its_message(tmp_path: Path) -> None:
    written = 0

    async def flood(request: web.Request, passed: Passed | None) -> web.StreamResponse:
        nonlocal written
        response = web.StreamResponse(status=500)
        await response.prepare(request)
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(300):  # 300 MB, if anyone read it
                await response.write(chunk)
                written += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    async with Sandbox() as sandbox, Front(sandbox) as front:
        front.on("GET", CALL_LISTS, flood)
        async with aiohttp.ClientSession() as session:
            client = CXoneClient(session, front.credentials)
            await client.connect()
            with pytest.raises(HTTPStatusError) as raised:
                await client.request("GET", "/lists/call-lists")
    assert raised.value.status == 500 and len(str(raised.value)) < 300
    assert written < 100 << 20  # the client hung up long before the end


async def test_a_huge_answer_is_refused_not_read(tmp_path: Path) -> None:
    async with Sandbox() as sandbox, Front(sandbox) as front:
        front.on("GET", CALL_LISTS, answer(200, b"[" + b"0," * (9 << 20) + b"0]"))
        async with aiohttp.ClientSession() as session:
            client = CXoneClient(session, front.credentials)
            await client.connect()
            with pytest.raises(UnreadableAnswer, match="over the 16 MB"):
                await client.request("GET", "/lists/call-lists")


async def test_read_back_ends_at_the_first_empty_page_whatever_the_total_claims(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async def inflate(request: web.Request, passed: Passed | None) -> web.StreamResponse:
        assert passed is not None
        body = passed.json()
        body["resultSet"]["totalRecords"] = 10**8
        return web.json_response(body, status=passed.status)

    async with Sandbox() as sandbox, Front(sandbox) as front:
        front.on("GET", CALL_LIST, inflate, pass_through=True)
        await run_through(front, contacts(write_csv, 250), tmp_path / "out")
        await assert_exact(sandbox, tmp_path / "out")
        pages = sum(1 for method, path in front.seen if method == "GET"
                    and path.rsplit("/", 1)[-1].isdigit() and "call-lists/" in path)
    assert pages <= 3 + 4  # three pages, then no further than the readers looked


# -- shapes streamer cannot know ----------------------------------------------------------


async def test_read_back_fields_of_another_name_stop_the_run_naming_them_and_resume(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    path, out = contacts(write_csv), tmp_path / "out"
    async with Sandbox(SandboxConfig()) as sandbox, Front(sandbox) as front:
        with pytest.raises(UnreadableAnswer) as raised:
            await run_through(front, path, out, list_fields=ListFields(
                record_id_fields=("clientReference",)))
        assert "none of the external id fields streamer reads (clientReference)" in str(
            raised.value)
        assert "externalId" in str(raised.value)  # the fields it did see
        report = await run_through(front, path, out)  # the right name: it resumes
        assert report.resumed
        await assert_exact(sandbox, out)
        assert sandbox.stats()["records_received"] == 30  # nothing sent twice


# -- credentials echoed back --------------------------------------------------------------


async def test_a_server_that_echoes_credentials_never_gets_them_written(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async def echo(request: web.Request, passed: Passed | None) -> web.StreamResponse:
        creds = front.credentials
        return web.json_response({"error": "bad_request", "errorDescription": (
            f"refused {request.headers.get('Authorization')} for "
            f"{creds.access_key_secret.reveal()} / {creds.client_secret.reveal()}")},
            status=400)

    async with Sandbox(SandboxConfig(client_secret="client-s3cret",
                                     access_key_secret="key-s3cret")) as sandbox, \
            Front(sandbox) as front:
        front.on("POST", UPLOAD, echo)
        report = await run_through(front, contacts(write_csv), tmp_path / "out")
    assert report.outcomes["failed"] == 30
    failed = (tmp_path / "out" / "failed.csv").read_text()
    assert "bad_request: refused Bearer [redacted] for [redacted] / [redacted]" in failed
    for name in ("failed.csv", "audit.jsonl", "report.json", "outcomes.csv"):
        text = (tmp_path / "out" / name).read_text()
        assert "s3cret" not in text, name
        assert json.dumps("Bearer ")[1:-1] + "ey" not in text


async def test_the_upload_body_is_well_formed_through_the_front(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    """The front itself passes a clean run through unchanged (so the tests above test
    the misbehaviour, not the front)."""
    async with Sandbox() as sandbox, Front(sandbox) as front:
        report = await run_through(front, contacts(write_csv), tmp_path / "out")
        await assert_exact(sandbox, tmp_path / "out")
    assert report.outcomes["uploaded"] == 30


async def test_a_read_back_that_cannot_finish_still_ends_with_every_row_decided(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with Sandbox() as sandbox, Front(sandbox) as front:
        front.on("GET", CALL_LIST, json_answer(503, {"error": "busy"}))
        report = await run_through(front, contacts(write_csv), tmp_path / "out",
                                   retry=RetryPolicy(wait_initial=0.01, wait_max=0.05,
                                                     give_up_after=0.5))
    assert report.balanced and report.outcomes["failed"] == 30
    assert report.verification["incomplete"] == "HTTP 503: busy"
    failed = read_outcomes(tmp_path / "out")
    assert {o["reason"] for o in failed} == {"verify_incomplete"}
    assert not (tmp_path / "out" / "journal.sqlite3").exists()


async def test_two_runs_creating_one_list_name_end_with_one_list(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    header = ["phone", "contact_id"]
    first = write_csv([header, *[[f"(415) 555-{n:04d}", f"a{n}"] for n in range(40)]],
                      "first.csv")
    second = write_csv([header, *[[f"(415) 556-{n:04d}", f"b{n}"] for n in range(40)]],
                       "second.csv")
    reports: list[streamer.Report] = []
    async with Sandbox(SandboxConfig(latency_ms=60)) as sandbox:
        async def upload(path: Path, out: str) -> None:
            reports.append(await streamer.run(path, settings_for(
                sandbox, tmp_path / out, list_name="spring campaign")))

        async with anyio.create_task_group() as runs:  # both look, find none, create
            runs.start_soon(upload, first, "one")
            runs.start_soon(upload, second, "two")
        async with aiohttp.ClientSession() as session:
            client = CXoneClient(session, sandbox.credentials)
            await client.connect()
            lists = await client.request("GET", "/lists/call-lists")
        named = [entry["listId"] for entry in lists["callingLists"]
                 if entry["listName"] == "spring campaign"]
        assert len(named) == 1
        assert {report.list_id for report in reports} == {named[0]}
        stored = await stored_records(sandbox, named[0])
    assert sorted(r["externalId"] for r in stored) == sorted(
        [f"a{n}" for n in range(40)] + [f"b{n}" for n in range(40)])


async def test_a_webhook_answered_with_a_redirect_is_not_followed(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with Sandbox() as sandbox, Front(sandbox) as hook, Front(sandbox) as elsewhere:
        hook.on("POST", "/hook$", answer(307, Location=f"{elsewhere.url}/collect"))
        report = await streamer.run(contacts(write_csv, 3), settings_for(
            sandbox, tmp_path / "out", webhook_url=f"{hook.url}/hook", webhook_attempts=2))
    assert report.balanced and report.webhook is not None
    assert report.webhook["delivered"] is False and report.webhook["attempts"] == 1
    assert f"redirected to {elsewhere.url}/collect" in report.webhook["error"]
    assert elsewhere.seen == []


async def test_an_inactive_list_of_the_name_is_never_picked(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with Sandbox() as sandbox:
        retired = sandbox.add_list("spring")
        sandbox.set_list_status(retired, "Inactive")
        report = await streamer.run(contacts(write_csv, 3), settings_for(
            sandbox, tmp_path / "out", list_name="spring"))
        assert report.list_id != retired
        assert await stored_records(sandbox, retired) == []
        assert len(await stored_records(sandbox, report.list_id or 0)) == 3
