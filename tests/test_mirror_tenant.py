"""``--mirror`` against a tenant whose removeProspects answers are not what they should be:
each record's fate is settled by the list itself, a contradiction stops the run in one
line and the same command then finishes, and every shape the answer may take is read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import streamer
import streamer.delivery._mirror as mirror_module
from streamer import Sandbox, SandboxConfig
from streamer.cxone import CXoneClient
from streamer.cxone import _answers as answers
from streamer.delivery import Removal
from streamer.errors import HTTPStatusError, UnreadableAnswer
from streamer.settings import UploadOptions
from tests.cli_runs import cli_env, one_line, upload
from tests.conftest import WriteCsv
from tests.hostile_front import Front, Passed, json_answer
from tests.mirror_support import (
    REMOVE_PATH,
    assert_removed_once,
    first_and_second,
    introspect,
    read_csv,
    two_runs,
)
from tests.support import assert_exact, settings_for, stored_records


async def test_an_answer_that_names_no_record_is_settled_by_reading_the_list(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    second, _ = await two_runs(sandbox, write_csv, tmp_path)
    out = tmp_path / "two"
    async with Front(sandbox) as front:
        # The sandbox removes the records; the answer says nothing of any of them.
        front.on("DELETE", REMOVE_PATH, json_answer(200, {}), pass_through=True)
        report = await streamer.run(second, settings_for(
            None, out, credentials=front.credentials, list_name="spring", mirror=True,
            mirror_max_remove=0.5))
    assert report.mirror["removed"] == 100 and report.mirror["failed"] == 0
    assert {(r["result"], r["detail"]) for r in read_csv(out / "removed.csv")} == {
        ("removed", "not in the list when read back")}
    await assert_exact(sandbox, out)


async def test_a_failed_answer_to_a_repeated_request_is_checked_against_the_list(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    second, gone = await two_runs(sandbox, write_csv, tmp_path)
    out = tmp_path / "two"
    async with Front(sandbox) as front:
        # The first try removes the records and its answer is lost; the retry then hears
        # NotFound for every one of them.
        front.on("DELETE", REMOVE_PATH, json_answer(503, {"error": "Unavailable"}),
                 pass_through=True, times=1)
        report = await streamer.run(second, settings_for(
            None, out, credentials=front.credentials, list_name="spring", mirror=True,
            mirror_max_remove=0.5))
    assert report.mirror["retries"] == 1 and report.mirror["removed"] == 100
    assert {r["result"] for r in read_csv(out / "removed.csv")} == {"removed"}
    view = await introspect(sandbox, report.list_id or 0)
    assert view["removed"] == dict.fromkeys(gone, 1)
    assert view["removals_asked"] == dict.fromkeys(gone, 2)  # asked twice, removed once
    await assert_exact(sandbox, out)


async def test_an_answer_that_contradicts_the_request_stops_the_run_in_one_line(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    first, second, gone = first_and_second(write_csv)
    env = cli_env(sandbox)
    assert (await upload(env, first, tmp_path / "one", "--list", "spring")).returncode == 0
    out = tmp_path / "two"
    flags = ("--list", "spring", "--mirror", "--mirror-max-remove", "0.5")
    async with Front(sandbox) as front:
        front.on("DELETE", REMOVE_PATH, json_answer(200, {"successfulRecords": [
            {"externalId": "someone-else", "resultCode": "Success"}]}), times=1)
        done = await upload(cli_env(front.credentials), second, out, *flags)
        assert done.returncode == 1
        assert "names an external id that was not sent" in one_line(done)
        assert "run the same command again to resume" in one_line(done)
        assert (out / "journal.sqlite3").exists()
        done = await upload(cli_env(front.credentials), second, out, *flags)
    assert done.returncode == 0, done.stderr
    await assert_exact(sandbox, out)
    assert [r["external_id"] for r in read_csv(out / "removed.csv")] == gone
    assert_removed_once(await introspect(sandbox, 1001), gone)


async def refuse_each(request: web.Request, passed: Passed | None) -> web.StreamResponse:
    """A tenant that will not remove these records, and says so for each."""
    asked = (await request.json())["prospectsToRemove"]
    return web.json_response({"successfulRecords": [], "failedRecords": [
        {"externalId": p["externalId"], "resultCode": "Finalized",
         "resultMessage": "the record is being dialled"} for p in asked]})


async def test_records_the_tenant_will_not_remove_fail_the_run_with_one_line(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    first, second, gone = first_and_second(write_csv)
    env = cli_env(sandbox)
    assert (await upload(env, first, tmp_path / "one", "--list", "spring")).returncode == 0
    out = tmp_path / "two"
    async with Front(sandbox) as front:
        front.on("DELETE", REMOVE_PATH, refuse_each)
        done = await upload(cli_env(front.credentials), second, out, "--list", "spring",
                            "--mirror", "--mirror-max-remove", "0.5")
    assert done.returncode == 1
    assert one_line(done) == ("streamer: 100 records could not be removed from the list; "
                              "removed.csv says why for each")
    report = json.loads((out / "report.json").read_text())
    assert (report["mirror"]["removed"], report["mirror"]["failed"]) == (0, 100)
    assert report["outcomes"]["failed"] == 0 and not (out / "journal.sqlite3").exists()
    # Checked against the list, still there: failed, in CXone's own words.
    assert {(r["external_id"], r["result"], r["detail"]) for r in read_csv(out / "removed.csv")
            } == {(i, "failed", "Finalized: the record is being dialled") for i in gone}
    assert len(await stored_records(sandbox, report["list_id"])) == 350


async def test_dropped_connections_still_remove_each_record_once(
        tmp_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_module, "REMOVE_CHUNK", 5)
    async with Sandbox(SandboxConfig(reset_rate=0.2, seed=11)) as sandbox:
        second, gone = await two_runs(sandbox, write_csv, tmp_path)
        out = tmp_path / "two"
        report = await streamer.run(second, settings_for(
            sandbox, out, list_name="spring", mirror=True, mirror_max_remove=0.5))
        assert sandbox.resets > 0
        await assert_exact(sandbox, out)
        view = await introspect(sandbox, report.list_id or 0)
    assert report.mirror["removed"] == 100 and report.mirror["failed"] == 0
    assert view["removed"] == dict.fromkeys(gone, 1)
    assert {r["result"] for r in read_csv(out / "removed.csv")} == {"removed"}


async def test_the_sandbox_removes_by_external_id_and_answers_for_each(
        sandbox: Sandbox, api: CXoneClient) -> None:
    list_id = sandbox.add_list("spring sale")
    payload = b"ExternalId,PhoneNumber\r\na-1,+14155550001\r\na-2,+14155550002\r\n"
    await api.job(await api.upload(list_id, "f.csv", payload, UploadOptions()))
    assert await api.list_name(list_id) == "spring sale"
    assert await api.lists_named("spring sale") == [list_id]
    assert await api.remove_prospects("spring sale", ["a-1", "zz-9"]) == [
        Removal("a-1", True, "Success"),
        Removal("zz-9", False, "NotFound: no record with this external id")]
    view = await introspect(sandbox, list_id)
    assert [r["externalId"] for r in view["records"]] == ["a-2"]
    assert (view["removed"], view["removals_asked"]) == ({"a-1": 1}, {"a-1": 1, "zz-9": 1})
    assert [page async for page in api.list_external_ids(list_id)] == ["a-2"]
    with pytest.raises(HTTPStatusError) as raised:
        await api.remove_prospects("no such list", ["a-2"])
    assert raised.value.status == 404


# -- the answer, read at the boundary; the flag --------------------------------------------

SENT = ["a-1", "a-2", "a-3"]
ID_FIELDS = ("externalId",)


@pytest.mark.parametrize(("body", "expected"), [
    ({"successfulRecords": [{"externalId": "a-1", "resultCode": "Success"}],
      "failedRecords": [{"externalId": "a-2", "resultCode": 404, "message": "not found"}]},
     [Removal("a-1", True, "Success"), Removal("a-2", False, "404: not found"),
      Removal("a-3", None)]),
    ({"successfulRecords": [{"ExternalId": "a-3", "ResultCode": 0}]},  # failed missing
     [Removal("a-1", None), Removal("a-2", None), Removal("a-3", True, "0")]),
    ({"resultSet": {"successful_records": [{"external_id": "a-2"}], "failedRecords": None}},
     [Removal("a-1", None), Removal("a-2", True), Removal("a-3", None)]),
    (None, [Removal(i, None) for i in SENT]),  # 204 No Content
])
def test_removal_answers_are_read_in_every_known_shape(
        body: Any, expected: list[Removal]) -> None:
    assert answers.removals(body, "remove", SENT, ID_FIELDS) == expected


@pytest.mark.parametrize(("body", "says"), [
    ([], "the answer is a JSON list, not an object"),
    ({"successfulRecords": {"externalId": "a-1"}}, "successfulRecords is not a list of objects"),
    ({"failedRecords": [{"id": "a-1", "code": 1}]},
     "carries none of the external id fields streamer reads (externalId); its fields: id, code"),
    ({"successfulRecords": [{"externalId": "b-9"}]}, "names an external id that was not sent"),
    ({"successfulRecords": [{"externalId": "a-1"}], "failedRecords": [{"externalId": "a-1"}]},
     "in both successfulRecords and failedRecords"),
])
def test_an_answer_that_contradicts_the_call_names_what_was_seen(body: Any, says: str) -> None:
    with pytest.raises(UnreadableAnswer, match=re.escape(says)):
        answers.removals(body, "remove", SENT, ID_FIELDS)
