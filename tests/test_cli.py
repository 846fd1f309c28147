"""The command line, in-process where possible and as a subprocess where it matters."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamer.cli import build_parser, main
from tests.conftest import WriteCsv

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "examples" / "contacts.csv"


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CXONE_"):
            monkeypatch.delenv(name)


def test_the_readme_command_uploads_the_sample_to_the_embedded_sandbox(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streamer", "upload", str(SAMPLE), "--out", str(tmp_path)],
        env=clean_env(), capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "embedded CXone sandbox at http://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["balanced"] is True
    lines = (tmp_path / "outcomes.csv").read_text().splitlines()
    assert len(lines) - 1 == report["rows_read"]
    events = [json.loads(line)["event"] for line in
              (tmp_path / "audit.jsonl").read_text().splitlines()]
    for name in ("run_started", "batch_uploaded", "job_completed", "run_finished"):
        assert f"streamer.{name}" in events


def test_a_standalone_sandbox_serves_upload_through_the_environment(tmp_path: Path) -> None:
    secret = "s3cr3t-client-value"
    key_secret = "s3cr3t-access-key-value"
    with subprocess.Popen(
        [sys.executable, "-m", "streamer", "sandbox", "--port", "0",
         "--client-secret", secret, "--access-key-secret", key_secret],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    ) as server:
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
            issuer = re.search(r"issuer (http://\S+)", first)
            assert issuer, first
            env = clean_env() | {
                "CXONE_ISSUER": issuer.group(1), "CXONE_CLIENT_ID": "sandbox",
                "CXONE_CLIENT_SECRET": secret, "CXONE_ACCESS_KEY_ID": "sandbox",
                "CXONE_ACCESS_KEY_SECRET": key_secret,
            }
            done = subprocess.run(
                [sys.executable, "-m", "streamer", "upload", str(SAMPLE), "--out",
                 str(tmp_path), "--list", "from env", "--batch-size", "200"],
                env=env, capture_output=True, text=True, timeout=120,
            )
        finally:
            server.terminate()
    assert done.returncode == 0, done.stderr
    assert "embedded" not in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["balanced"] and report["list_name"] == "from env"
    blobs = [done.stdout.encode(), done.stderr.encode()]
    blobs += [path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()]
    for blob in blobs:
        assert secret.encode() not in blob and key_secret.encode() not in blob


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(args)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, w: d / "nope.csv", "no such file"),
        (lambda d, w: d, "is a directory"),
        (lambda d, w: w([["name", "city"], ["Ann", "Oslo"]]), "no phone column"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str],
    make: object, message: str,
) -> None:
    path = make(tmp_path, write_csv)  # type: ignore[operator]
    status, err = run_cli(["upload", str(path), "--out", str(tmp_path / "out"), "--dry-run"],
                          capsys)
    assert status == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_incomplete_credentials_exit_2(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXONE_CLIENT_ID", "x")
    path = write_csv([["phone"], ["(415) 555-2671"]])
    status, err = run_cli(["upload", str(path), "--out", str(tmp_path / "o")], capsys)
    assert status == 2
    assert "CXONE_CLIENT_SECRET" in err


def test_no_header_needs_columns(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv([["(415) 555-2671", "Ann"]])
    status, err = run_cli(["upload", str(path), "--no-header", "--dry-run"], capsys)
    assert (status, err.strip()) == (
        2, "streamer: a file without a header needs every column named (--no-header with "
        "--columns / Settings.has_header=False with Settings.column_names)")
    out = tmp_path / "o"
    status, err = run_cli(["upload", str(path), "--no-header", "--columns", "phone,first",
                           "--dry-run", "--out", str(out)], capsys)
    assert status == 0, err
    assert json.loads((out / "report.json").read_text())["outcomes"]["accepted"] == 1


def test_every_flag_is_documented() -> None:
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in subcommands.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help"
        readme = (ROOT / "README.md").read_text()
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}" in readme, f"README does not document {name} {flag}"
