"""``--mirror``: a second file leaves the list holding exactly its uploaded contacts, the
guard refuses what would remove too much, a dry run only lists, a failed row stops it, and
a mirror killed or stopped mid-removal resumes removing each record once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import anyio
import pytest
from aiohttp import web

import streamer
import streamer.delivery._mirror as mirror_module
from streamer import ConfigError, MirrorRefused, Sandbox, SandboxConfig
from streamer.cli import main
from tests.cli_runs import cli_env, one_line, upload, upload_command
from tests.conftest import WriteCsv
from tests.hostile_front import Front, Passed
from tests.mirror_support import (
    REMOVE,
    REMOVE_PATH,
    assert_removed_once,
    customers,
    external_id,
    first_and_second,
    introspect,
    letters,
    read_csv,
    two_runs,
)
from tests.support import assert_exact, settings_for, stored_records

# -- end to end through the command line ----------------------------------------------------


async def test_mirror_leaves_the_list_holding_exactly_the_second_files_uploaded_ids(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    first, second, gone = first_and_second(write_csv)
    env = cli_env(sandbox)
    done = await upload(env, first, tmp_path / "one", "--list", "spring")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "two"
    done = await upload(env, second, out, "--list", "spring", "--mirror",
                        "--mirror-max-remove", "0.5")
    assert done.returncode == 0, done.stderr
    assert "mirror removed 100 of the list's 350 records" in done.stdout.decode()

    report = await assert_exact(sandbox, out)  # the list holds exactly file two's uploads
    assert report["outcomes"]["uploaded"] == 250
    assert {key: report["mirror"][key] for key in (
        "enabled", "list_name", "list_size", "would_remove", "removed", "failed", "refused",
        "skipped")} == {"enabled": True, "list_name": "spring", "list_size": 350,
                        "would_remove": 100, "removed": 100, "failed": 0, "refused": None,
                        "skipped": None}
    removed = read_csv(out / "removed.csv")
    assert [r["external_id"] for r in removed] == gone
    assert {(r["result"], r["detail"]) for r in removed} == {("removed", "Success")}
    view = await introspect(sandbox, report["list_id"])
    assert_removed_once(view, gone)
    changed = next(r for r in view["records"] if r["externalId"] == external_id(10))
    assert changed["lastName"] == "Newname" + letters(10)  # updated, not added twice

    assert 'id="mirror-summary"' in (out / "report.html").read_text()
    audit = (out / "audit.jsonl").read_text()
    events = [json.loads(line)["event"] for line in audit.splitlines()]
    for name in ("mirror_planned", "mirror_batch", "mirror_finished"):
        assert f"streamer.{name}" in events
    assert all(external_id(n) not in audit for n in range(300))  # masked, never in full


async def test_over_the_default_share_the_mirror_refuses_and_removes_nothing(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    first, second, gone = first_and_second(write_csv)
    env = cli_env(sandbox)
    assert (await upload(env, first, tmp_path / "one", "--list", "spring")).returncode == 0
    out = tmp_path / "two"
    done = await upload(env, second, out, "--list", "spring", "--mirror")
    assert done.returncode == 2
    line = one_line(done)
    assert line.startswith("streamer: --mirror refused: it would remove 100 of the 350 "
                           "records in list 'spring' (29%), more than --mirror-max-remove 0.2")
    report = json.loads((out / "report.json").read_text())
    assert report["mirror"]["refused"] and report["mirror"]["removed"] == 0
    assert report["outcomes"]["uploaded"] == 250 and report["balanced"]
    assert len(read_csv(out / "outcomes.csv")) == 250
    assert [(r["external_id"], r["result"]) for r in read_csv(out / "removed.csv")] == [
        (i, "would_remove") for i in gone]
    assert not (out / "journal.sqlite3").exists()
    assert len(await stored_records(sandbox, report["list_id"])) == 350  # nothing removed
    assert REMOVE not in sandbox.stats()["requests"]


async def test_a_dry_run_lists_what_the_mirror_would_remove_and_removes_nothing(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    first, second, gone = first_and_second(write_csv)
    env = cli_env(sandbox)
    assert (await upload(env, first, tmp_path / "one", "--list", "spring")).returncode == 0
    out = tmp_path / "dry"
    done = await upload(env, second, out, "--list", "spring", "--mirror", "--dry-run",
                        "--mirror-max-remove", "0.5")
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    # The list holds the first file only: the second's new customers were never sent.
    assert report["mirror"]["list_size"] == 300 and report["mirror"]["would_remove"] == 100
    assert [(r["external_id"], r["result"]) for r in read_csv(out / "removed.csv")] == [
        (i, "would_remove") for i in gone]
    assert len(await stored_records(sandbox, 1001)) == 300
    assert REMOVE not in sandbox.stats()["requests"]
    assert sandbox.records_received == 300  # the dry run uploaded nothing either


def test_a_dry_run_without_credentials_reads_an_empty_embedded_sandbox(
        tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("CXONE_")]:
        monkeypatch.delenv(name)
    path = customers(write_csv, "crm.csv", range(5))
    out = tmp_path / "out"
    assert main(["upload", str(path), "--out", str(out), "--dry-run", "--mirror"]) == 0
    assert "embedded CXone sandbox" in capsys.readouterr().err
    mirror = json.loads((out / "report.json").read_text())["mirror"]
    assert mirror["skipped"] == "no list is named 'crm' yet: nothing to remove"


async def test_the_mirror_never_runs_when_a_row_failed(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    first, _, _ = first_and_second(write_csv)
    # This tenant refuses records over 80 characters: one long name fails its batch.
    second = customers(write_csv, "second.csv", [*range(200), *range(300, 350)],
                       long_name=320)
    async with Sandbox(SandboxConfig(max_record_chars=80)) as sandbox:
        env = cli_env(sandbox)
        assert (await upload(env, first, tmp_path / "one", "--list", "spring")).returncode == 0
        out = tmp_path / "two"
        done = await upload(env, second, out, "--list", "spring", "--mirror",
                            "--mirror-max-remove", "1", "--batch-size", "10")
        assert done.returncode == 1
        assert "Traceback" not in done.stderr.decode()
        report = json.loads((out / "report.json").read_text())
        assert report["outcomes"]["failed"] == 10
        assert report["mirror"]["skipped"].startswith("10 rows failed")
        assert read_csv(out / "removed.csv") == []
        assert len(await stored_records(sandbox, report["list_id"])) == 340
        assert sandbox.stats()["records_removed"] == 0


async def test_a_list_whose_name_is_not_its_own_is_never_mirrored(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    older = sandbox.add_list("twin", first_name_column="FirstName", last_name_column="LastName")
    twin = sandbox.add_list("twin", first_name_column="FirstName", last_name_column="LastName")
    path = customers(write_csv, "crm.csv", range(20))
    out = tmp_path / "out"
    done = await upload(cli_env(sandbox), path, out, "--list-id", str(twin), "--mirror")
    assert done.returncode == 2
    assert "2 lists are named 'twin', and removeProspects names a list by name" in one_line(done)
    assert len(await stored_records(sandbox, twin)) == 20  # uploaded, and nothing removed
    assert await stored_records(sandbox, older) == []
    assert REMOVE not in sandbox.stats()["requests"]


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def done_removals(journal: Path) -> int:
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=0.1) as db:
            row = db.execute("SELECT count(*) FROM mirror WHERE state = 'done'").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


@pytest.mark.timeout(300)
async def test_a_mirror_killed_mid_removal_resumes_and_removes_each_record_once(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    first, second, gone = first_and_second(write_csv, size=3000)
    flags = ("--list", "spring", "--mirror", "--mirror-max-remove", "0.5", "--concurrency", "1")
    out = tmp_path / "two"
    # Slow answers: ten removal requests take a second or two, time to kill one.
    async with Sandbox(SandboxConfig(latency_ms=150)) as sandbox:
        env = cli_env(sandbox)
        assert (await upload(env, first, tmp_path / "one", "--list", "spring")).returncode == 0
        run = start(upload_command(second, out, *flags), env)
        deadline = time.monotonic() + 200
        while (removed := done_removals(out / "journal.sqlite3")) < 100:
            assert run.poll() is None and time.monotonic() < deadline, "removal never began"
            await anyio.sleep(0.02)
        run.send_signal(signal.SIGKILL)
        run.communicate()
        assert removed < len(gone), "the run finished before the kill"
        received = sandbox.records_received

        done = await upload(env, second, out, *flags)  # the same command again
        assert done.returncode == 0, done.stderr
        report = await assert_exact(sandbox, out)
        assert report["resumed"] and report["mirror"]["removed"] == len(gone)
        assert sandbox.records_received == received  # no row was uploaded again
        removals = read_csv(out / "removed.csv")
        assert [r["external_id"] for r in removals] == gone  # each once, in list order
        assert {r["result"] for r in removals} == {"removed"}
        assert_removed_once(await introspect(sandbox, report["list_id"]), gone)


# -- through the library ------------------------------------------------------------------


async def test_the_library_raises_mirror_refused_with_the_report(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    second, _ = await two_runs(sandbox, write_csv, tmp_path)
    with pytest.raises(MirrorRefused) as raised:
        await streamer.run(second, settings_for(sandbox, tmp_path / "two", list_name="spring",
                                                mirror=True))
    report = raised.value.report
    assert report is not None and report.outcomes["uploaded"] == 250
    assert report.mirror["refused"].startswith("it would remove 100 of the 350 records")


async def test_without_read_back_the_mirror_reads_the_list_itself(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox) -> None:
    second, gone = await two_runs(sandbox, write_csv, tmp_path)
    out = tmp_path / "two"
    report = await streamer.run(second, settings_for(
        sandbox, out, list_name="spring", verify=False, mirror=True, mirror_max_remove=0.5))
    assert not report.verification["enabled"] and report.mirror["list_size"] == 350
    await assert_exact(sandbox, out)
    assert [r["external_id"] for r in read_csv(out / "removed.csv")] == gone


async def test_a_mirror_stopped_mid_removal_resumes_only_with_mirror(
        tmp_path: Path, write_csv: WriteCsv, sandbox: Sandbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_module, "REMOVE_CHUNK", 10)
    second, gone = await two_runs(sandbox, write_csv, tmp_path)
    stop = anyio.Event()

    async def stop_after(request: web.Request, passed: Passed | None) -> web.StreamResponse:
        stop.set()  # Ctrl-C while the first removal is out
        assert passed is not None
        return web.Response(status=passed.status, body=passed.body,
                            content_type=passed.content_type)

    out = tmp_path / "two"
    async with Front(sandbox) as front:
        front.on("DELETE", REMOVE_PATH, stop_after, pass_through=True, times=1)
        settings = settings_for(None, out, credentials=front.credentials, list_name="spring",
                                mirror=True, mirror_max_remove=0.5, concurrency=1)
        with pytest.raises(streamer.Interrupted, match="stopped while --mirror removed"):
            await streamer.run(second, settings, stop=stop)
        with pytest.raises(ConfigError, match="holds a --mirror run under way"):
            await streamer.run(second, settings_for(
                None, out, credentials=front.credentials, list_name="spring"))
        report = await streamer.run(second, settings)
    assert report.resumed and report.mirror["removed"] == 100
    await assert_exact(sandbox, out)
    assert [r["external_id"] for r in read_csv(out / "removed.csv")] == gone
    assert_removed_once(await introspect(sandbox, 1001), gone)


def test_mirror_max_remove_is_a_share(tmp_path: Path, write_csv: WriteCsv,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for share in (-0.1, 1.5, float("nan")):
        with pytest.raises(ConfigError, match=r"must be a share .*--mirror-max-remove"):
            streamer.Settings(mirror_max_remove=share)
    path = customers(write_csv, "crm.csv", range(3))
    with pytest.raises(SystemExit) as raised:
        main(["upload", str(path), "--mirror", "--mirror-max-remove", "2"])
    assert raised.value.code == 2
    assert "expected a share between 0 and 1" in capsys.readouterr().err
