"""The progress line as an operator sees it: ``streamer upload`` with its stderr on a
pseudo-terminal 80 columns wide, against a slow sandbox served by the test."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from streamer import Sandbox, SandboxConfig
from tests.cli_runs import cli_env, upload_command
from tests.conftest import WriteCsv

COLUMNS = 80
#: Cursor moves and erasures: what separates one drawing of the line from the next.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-ln-z]|\r|\n")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every writer of the terminal has closed it
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.timeout(90)
async def test_an_upload_on_a_terminal_shows_each_phase_in_one_line_of_80_columns(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    # More rows than the streams between the stages hold (a few reader batches of 2,048
    # each), so the reader has to wait for the uploads, and is seen reading.
    source = write_csv([["phone", "email"],
                        *[[f"+1 415 {200 + n // 10_000} {n % 10_000:04d}", f"c{n}@example.com"]
                          for n in range(40_000)]])
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    # Jobs slow enough that the reader waits on the uploads and the run waits on its jobs.
    async with Sandbox(SandboxConfig(latency_ms=10, job_delay_ms=300)) as sandbox:
        env = {k: v for k, v in cli_env(sandbox).items() if k not in ("COLUMNS", "LINES")}
        command = upload_command(source, tmp_path / "out", "--batch-size", "1000",
                                 "--concurrency", "2")
        try:
            process = await anyio.open_process(command, env=env, stdin=subprocess.DEVNULL,
                                               stdout=subprocess.PIPE, stderr=secondary)
        finally:
            os.close(secondary)
        async with process, anyio.create_task_group() as group:
            screen = b""

            async def read_terminal() -> None:
                nonlocal screen
                screen = await anyio.to_thread.run_sync(_read_all, primary)

            group.start_soon(read_terminal)
            assert process.stdout is not None
            out = b"".join([chunk async for chunk in process.stdout]).decode()
            await process.wait()
    os.close(primary)
    terminal = screen.decode()
    assert process.returncode == 0, terminal
    drawings = [_COLOUR.sub("", piece) for piece in _CONTROL.split(terminal)]
    drawings = [piece for piece in drawings if piece.strip()]
    assert "Traceback" not in terminal
    assert all(len(piece) <= COLUMNS for piece in drawings), max(drawings, key=len)
    words = {re.match(r"[a-z -]+?(?= \(|\d| ·|$)", piece)[0].strip()  # type: ignore[index]
             for piece in drawings if re.match(r"[a-z]", piece)}
    assert {"reading", "uploading", "waiting for", "verifying page", "writing outputs"} \
        <= words, words
    assert any(re.fullmatch(r"verifying page [\d,]+/[\d,]+ \(\d+:\d\d\) · .*", piece)
               for piece in drawings), drawings
    # Every drawing showed the counts, rejected and failed included.
    for piece in drawings:
        assert re.search(r"(rejected|rej) \d+ · failed \d+$|rej \d+ fail \d+$", piece), piece
    # The last drawing stays, and ends its line: the summary (stdout) starts on its own.
    assert re.search(r"fail(ed)? 0\r\n(\x1b\[\?25h)?$", terminal), repr(terminal[-200:])
    assert re.fullmatch(r"40,000 rows: .*\(balanced; list \d+\); outputs in .*\n", out), out
