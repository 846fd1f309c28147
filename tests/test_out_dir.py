"""The output directory: one run at a time, and every local failure (full, read-only,
a damaged journal, a directory in a file's way) told in one line, exit 2, journal kept;
once the cause is fixed, the same command resumes and ends exact."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import anyio
import pytest
from aiohttp import web

import streamer
from examples.make_contacts import write_contacts
from streamer import Interrupted, OutputError, Sandbox, Settings
from streamer._core import PURE_ENV
from streamer.errors import echoes_dropped
from streamer.run import Journal, claim_out_dir, open_audit_log
from streamer.run._report import RowFileWriter
from tests.cli_runs import (
    cli_env,
    one_line,
    read_all,
    upload,
    upload_command,
    webhook_receiver,
)
from tests.local_disk import small_disk
from tests.support import assert_exact, settings_for


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    write_contacts(path, 3000, seed=5)
    return path


class _Gate:
    """A webhook receiver that keeps the run holding the lock at its webhook until the
    other run has exited: the two always overlap, however the machine schedules them."""

    def __init__(self) -> None:
        self.other_exited = anyio.Event()

    async def hold(self, request: web.Request) -> web.Response:
        with anyio.fail_after(60):
            await self.other_exited.wait()
        return web.json_response({})


async def _race(env: dict[str, str], source: Path, out: Path, gate: _Gate,
                *flags: str) -> list[subprocess.CompletedProcess[bytes]]:
    """Two uploads into ``out``, started at once; the first to exit comes first."""
    gate.other_exited = anyio.Event()
    done: list[subprocess.CompletedProcess[bytes]] = []

    async def run_one() -> None:
        done.append(await upload(env, source, out, *flags))
        gate.other_exited.set()

    async with anyio.create_task_group() as group:
        group.start_soon(run_one)
        group.start_soon(run_one)
    return done


async def test_two_runs_started_together_into_one_out_one_is_refused_in_one_line(
    sandbox: Sandbox, source: Path, tmp_path: Path
) -> None:
    env, gate = cli_env(sandbox), _Gate()
    async with webhook_receiver(gate.hold) as url:
        for attempt in range(3):
            out = tmp_path / f"out-{attempt}"
            received_before = sandbox.stats()["records_received"]
            refused, finished = await _race(env, source, out, gate, "--list", out.name,
                                            "--batch-size", "500", "--webhook", url)
            assert (refused.returncode, finished.returncode) == (2, 0), finished.stderr
            line = one_line(refused)
            assert line.startswith("streamer: another streamer run ")
            assert f"is using {out}; wait for it to finish or use another --out" in line
            report = await assert_exact(sandbox, out)
            assert report["webhook"]["delivered"] is True
            # The refused run sent nothing: each accepted row reached the list once.
            assert (sandbox.stats()["records_received"] - received_before
                    == report["outcomes"]["uploaded"])


async def test_restart_is_refused_while_another_run_holds_the_out_dir(
    sandbox: Sandbox, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    at_webhook, release = anyio.Event(), anyio.Event()

    async def hold(request: web.Request) -> web.Response:
        at_webhook.set()
        with anyio.fail_after(60):
            await release.wait()
        return web.json_response({})

    env = cli_env(sandbox)
    async with webhook_receiver(hold) as url:
        command = upload_command(source, out, "--list", "held", "--webhook", url)
        async with await anyio.open_process(command, env=env) as holder:
            with anyio.fail_after(60):
                await at_webhook.wait()  # the holder is inside its run, journal open
            journal = out / "journal.sqlite3"
            inode = journal.stat().st_ino
            restart = await upload(env, source, out, "--list", "held", "--restart")
            assert restart.returncode == 2
            assert one_line(restart) == (
                f"streamer: another streamer run (pid {holder.pid}) is using {out}; wait "
                "for it to finish or use another --out")
            assert journal.stat().st_ino == inode  # not deleted, not replaced
            release.set()
            stderr = await read_all(holder.stderr)
            assert await holder.wait() == 0, stderr
    await assert_exact(sandbox, out)


async def test_a_full_disk_stops_the_run_in_one_line_and_the_same_command_resumes(
    sandbox: Sandbox, source: Path, tmp_path: Path
) -> None:
    env = cli_env(sandbox)
    with small_disk(tmp_path / "disk", size="256k") as disk:
        out = disk.path / "out"
        flags = ("--list", "full", "--batch-size", "200")
        first = await upload(env, source, out, *flags)
        assert first.returncode == 2
        line = one_line(first)
        assert f"no space left to write {out}/" in line
        assert "free space on that disk, then run the same command again to resume" in line
        assert (out / "journal.sqlite3").exists()

        disk.remount("size=64m")
        again = await upload(env, source, out, *flags)
        assert again.returncode == 0, again.stderr
        report = await assert_exact(sandbox, out)
        assert report["resumed"] is True
        assert sandbox.stats()["records_received"] == report["outcomes"]["uploaded"]


async def test_a_read_only_out_dir_is_told_in_one_line_and_the_run_ends_exact_once_writable(
    sandbox: Sandbox, source: Path, tmp_path: Path
) -> None:
    env = cli_env(sandbox)
    with small_disk(tmp_path / "disk", size="64m") as disk:
        out = disk.path / "out"
        out.mkdir()
        disk.remount("ro")
        refused = await upload(env, source, out, "--list", "ro")
        assert refused.returncode == 2
        assert one_line(refused) == (
            f"streamer: cannot write {out}/.streamer.lock (Read-only file system): make "
            f"{out} writable, then run the same command again to resume")

        disk.remount("rw")
        done = await upload(env, source, out, "--list", "ro")
        assert done.returncode == 0, done.stderr
        await assert_exact(sandbox, out)

        disk.remount("ro")  # rebuilding the report of a run now on a read-only disk
        rebuilt = await anyio.run_process([sys.executable, "-m", "streamer", "report", str(out)],
                                          check=False)
        assert rebuilt.returncode == 2
        assert one_line(rebuilt) == (
            f"streamer: cannot write {out}/report.html (Read-only file system): make {out} "
            "writable, then run the same command again to resume")
        disk.remount("rw")


def _garbage(journal: Path) -> None:
    with open(journal, "r+b") as file:
        file.write(b"not a journal at all " * 8)


def _truncated(journal: Path) -> None:
    with open(journal, "r+b") as file:
        file.truncate(journal.stat().st_size // 2)


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
async def test_a_damaged_journal_is_kept_and_told_in_one_line_and_restart_ends_exact(
    sandbox: Sandbox, source: Path, tmp_path: Path,
    damage: Callable[[Path], None],
) -> None:
    out = tmp_path / "out"
    stop = anyio.Event()
    stop.set()  # an unfinished run: the first block of rows, then stop
    with pytest.raises(Interrupted):
        await streamer.run(source, settings_for(sandbox, out, list_name="damaged",
                                                batch_size=200), stop=stop)
    journal = out / "journal.sqlite3"
    damage(journal)
    damaged = journal.read_bytes()

    env = cli_env(sandbox)
    refused = await upload(env, source, out, "--list", "damaged")
    assert refused.returncode == 2
    line = one_line(refused)
    assert f"the journal {journal} is damaged (" in line
    assert "use --restart to discard it and start over, or another --out" in line
    assert journal.read_bytes() == damaged  # kept as it was, for a look

    restarted = await upload(env, source, out, "--list", "damaged", "--restart")
    assert restarted.returncode == 0, restarted.stderr
    report = await assert_exact(sandbox, out)
    assert report["resumed"] is False


@pytest.mark.parametrize("name", ["outcomes.csv", "report.json", "audit.jsonl",
                                  "journal.sqlite3"])
async def test_a_directory_where_an_output_goes_is_told_in_one_line_and_the_run_resumes(
    sandbox: Sandbox, source: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    env = cli_env(sandbox)
    refused = await upload(env, source, out, "--list", "in-the-way")
    assert refused.returncode == 2
    assert one_line(refused) == (
        f"streamer: {out / name} is a directory where streamer writes a file: remove it "
        "(or use another --out), then run the same command again to resume")
    resumable = name in ("outcomes.csv", "report.json")  # met at the end of the run
    assert (out / "journal.sqlite3").is_file() == resumable

    (out / name).rmdir()
    again = await upload(env, source, out, "--list", "in-the-way")
    assert again.returncode == 0, again.stderr
    report = await assert_exact(sandbox, out)
    assert report["resumed"] is resumable
    assert sandbox.stats()["records_received"] == report["outcomes"]["uploaded"]


async def test_a_directory_where_a_dry_run_batch_goes_is_told_in_one_line(
    source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "batches" / "batch-000001.csv").mkdir(parents=True)
    # Nothing of this environment but the core the session runs (no CXONE_* credentials).
    env = {name: os.environ[name] for name in (PURE_ENV,) if name in os.environ}
    refused = await upload(env, source, out, "--dry-run")
    assert refused.returncode == 2
    assert one_line(refused) == (
        f"streamer: {out / 'batches' / 'batch-000001.csv'} is a directory where streamer "
        "writes a file: remove it (or use another --out), then run the same command again "
        "to resume")


async def test_the_library_raises_the_output_error_itself(
    sandbox: Sandbox, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "outcomes.csv").mkdir(parents=True)
    with pytest.raises(OutputError, match=r"outcomes\.csv is a directory"):
        await streamer.run(source, settings_for(sandbox, out))
    assert (out / "journal.sqlite3").is_file()


def _fill(disk: Path) -> None:
    """Every byte of the disk taken by one ballast file."""
    with open(disk / "ballast", "wb", buffering=0) as file:
        try:
            while True:
                file.write(bytes(1 << 16))
        except OSError as error:
            assert error.errno == errno.ENOSPC


async def test_each_writer_tells_a_full_disk_as_an_output_error(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", size="64k") as disk:
        out = disk.path / "out"
        out.mkdir()
        (out / "audit.jsonl").touch()  # an inode costs no block: the writes fail later
        _fill(disk.path)
        space = r"no space left to write .*: free space on that disk"
        with pytest.raises(OutputError, match=space), claim_out_dir(out):
            pass  # its pid does not fit
        with pytest.raises(OutputError, match=space), ExitStack() as stack:
            log = open_audit_log(stack, out, Settings())
            log.info("streamer.anything", detail="x" * 5000)
        with pytest.raises(OutputError, match=space):
            Journal.open(out / "journal.sqlite3", fingerprint="f", settings_key="s",
                         restart=False)
        writer = RowFileWriter(out / "outcomes.csv", ("record",))
        with pytest.raises(OutputError, match=space) as caught:
            await writer.open()
            for _ in range(100):
                await writer.write_rows([[str(n)] for n in range(1000)])
            await writer.commit()
        await writer.close()  # the failed file closes quietly
        assert "outcomes.csv.part" in str(caught.value)


async def test_a_stage_that_dies_of_an_output_error_is_told_without_its_echoes() -> None:
    # Room in the buffer: the feeder's next send() is past its checkpoint, ready to run,
    # when the consumer dies, so it finds the stream broken before the cancel reaches it.
    send, receive = anyio.create_memory_object_stream[int](100)

    async def feed() -> None:
        async with send:
            for item in range(100):
                await send.send(item)

    async def consume() -> None:
        async with receive:
            async for _ in receive:
                raise OutputError("no space left to write X")

    with pytest.RaisesGroup(pytest.RaisesExc(OutputError, match="no space"),
                            flatten_subgroups=True):
        async with echoes_dropped(), anyio.create_task_group() as group:
            group.start_soon(feed)
            group.start_soon(consume)


async def test_echoes_alone_are_raised_as_they_are() -> None:
    with pytest.RaisesGroup(anyio.BrokenResourceError):
        async with echoes_dropped(), anyio.create_task_group() as group:
            group.start_soon(_broken)


async def _broken() -> None:
    raise anyio.BrokenResourceError
