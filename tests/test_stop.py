"""Ctrl-C on the command line: once stops gracefully, twice stops at once; both resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.make_contacts import write_contacts


@pytest.fixture(scope="module")
def sandbox_env() -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
    with subprocess.Popen(
        [sys.executable, "-m", "streamer", "sandbox", "--port", "0", "--job-delay-ms", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    ) as server:
        try:
            assert server.stdout is not None
            found = re.search(r"issuer (http://\S+)", server.stdout.readline())
            assert found
            yield env | {"CXONE_ISSUER": found.group(1), "CXONE_CLIENT_ID": "sandbox",
                         "CXONE_CLIENT_SECRET": "sandbox", "CXONE_ACCESS_KEY_ID": "sandbox",
                         "CXONE_ACCESS_KEY_SECRET": "sandbox"}
        finally:
            server.terminate()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("signals", [1, 2], ids=["once", "twice"])
def test_ctrl_c_stops_keeps_the_journal_and_the_same_command_resumes(
    tmp_path: Path, sandbox_env: dict[str, str], signals: int
) -> None:
    source, out = tmp_path / "contacts.csv", tmp_path / "out"
    write_contacts(source, 20_000, seed=signals)
    command = [sys.executable, "-m", "streamer", "upload", str(source), "--out", str(out),
               "--list", f"stop-{signals}", "--batch-size", "200", "--concurrency", "2"]
    with subprocess.Popen(command, env=sandbox_env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as run:
        deadline = time.monotonic() + 60
        while not (out / "journal.sqlite3").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # well into the uploads
        for _ in range(signals):
            run.send_signal(signal.SIGINT)
            time.sleep(0.05)
        _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "run the same command again to resume" in stderr
    assert (out / "journal.sqlite3").exists()
    assert not (out / "report.json").exists()

    again = subprocess.run(command, env=sandbox_env, capture_output=True, text=True,
                           timeout=240)
    written = out / "report.json"
    # All the resumed run said, and its counts: a rare failure here must tell why.
    assert again.returncode == 0, (again.stdout, again.stderr,
                                   written.read_text() if written.exists() else None)
    report = json.loads(written.read_text())
    assert report["resumed"] is True and report["balanced"] is True
    assert report["outcomes"]["failed"] == 0
