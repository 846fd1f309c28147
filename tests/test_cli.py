"""The command line, in-process where possible and as a subprocess where it matters."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from streamer import CORE
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


# -- issue 17's CLI polish ---------------------------------------------------------------


def test_version_prints_the_package_metadata_s(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"streamer {version('streamer')}, {CORE.describe()}\n"


@pytest.mark.parametrize(("flags", "words"), [
    (["--list-id", "abc"], "--list-id: expected a positive whole number, not 'abc'"),
    (["--list-id", "0"], "--list-id: expected a positive whole number (1 or more), not '0'"),
    (["--workers", "-1"], "--workers: expected a whole number, 0 or more, not '-1'"),
    (["--fuzzy-phone-digits", "one"], "--fuzzy-phone-digits: expected a whole number, not 'one'"),
    (["--retry-for", "soon"], "--retry-for: expected a number, not 'soon'"),
    (["--job-timeout", "nan"], "--job-timeout: expected a finite number, not 'nan'"),
    (["--mirror-max-remove", "2"],
     "--mirror-max-remove: expected a share between 0 and 1 (e.g. 0.2), not '2'"),
    (["--delimiter", "pipe"], "--delimiter: invalid choice: 'pipe' (choose from"),
])
def test_a_flag_s_wrong_value_is_one_line_of_words(
    capsys: pytest.CaptureFixture[str], flags: list[str], words: str
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["upload", "x.csv", *flags])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"streamer upload: error: {words}") and err.count("\n") == 1, err


def test_the_sandbox_command_s_numbers_are_refused_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--port", "x"])
    assert capsys.readouterr().err == (
        "streamer sandbox: error: --port: expected a whole number, not 'x'\n")


def test_default_region_takes_what_the_country_column_takes(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv([["phone", "country"], ["020 7946 0018", ""], ["020 7946 0019", "UK"]])
    status, _ = run_cli(["upload", str(source), "--out", str(tmp_path / "o"), "--dry-run",
                         "--default-region", "uk"], capsys)
    assert status == 0
    uploaded = (tmp_path / "o" / "batches" / "batch-000001.csv").read_text()
    assert "+442079460018" in uploaded and "+442079460019" in uploaded


def test_counts_take_their_noun_s_number(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    one = write_csv([["phone"], ["+14155552671"]], name="one.csv")
    assert main(["upload", str(one), "--out", str(tmp_path / "1"), "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("1 row: accepted 1 (balanced; dry run)")
    two = write_csv([["phone"], ["+14155552671"], ["12"]], name="two.csv")
    assert main(["upload", str(two), "--out", str(tmp_path / "2"), "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("2 rows: accepted 1, rejected 1 (balanced")


def test_report_takes_the_directory_or_its_report_json(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv([["phone"], ["+14155552671"]])
    out = tmp_path / "out"
    assert main(["upload", str(source), "--out", str(out), "--dry-run"]) == 0
    for given in (out, out / "report.json"):
        (out / "report.html").unlink()
        capsys.readouterr()
        assert main(["report", str(given)]) == 0
        assert f"wrote {out / 'report.html'}" in capsys.readouterr().out
        assert (out / "report.html").is_file()
    status, err = run_cli(["report", str(tmp_path / "report.json")], capsys)
    assert status == 2 and "no report.json" in err


def test_help_says_the_column_flags_are_guessed_and_optional(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["upload", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for name in ("phone", "email", "first-name", "last-name", "country", "external-id"):
        assert f"[--{name}-column NAME]" in shown
    assert "--phone-column NAME column of the phone number (guessed when not given)" in shown


def test_a_missing_file_is_told_before_the_embedded_sandbox_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run_cli(["upload", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")],
                          capsys)
    assert (status, err) == (2, f"streamer: {tmp_path / 'nope.csv'}: no such file\n")


def test_a_guessed_encoding_other_than_utf8_is_told_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,last_name\n+14155552671,Müller\n".encode("cp1252"))
    assert main(["upload", str(latin), "--out", str(tmp_path / "1"), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert err == "streamer: read latin.csv as cp1252 (guessed; --encoding NAME to choose)\n"
    assert main(["upload", str(latin), "--out", str(tmp_path / "2"), "--dry-run",
                 "--encoding", "cp1252"]) == 0
    assert capsys.readouterr().err == ""  # chosen, not guessed
    plain = tmp_path / "plain.csv"
    plain.write_text("phone,last_name\n+14155552671,Müller\n", encoding="utf-8")
    assert main(["upload", str(plain), "--out", str(tmp_path / "3"), "--dry-run"]) == 0
    assert capsys.readouterr().err == ""


def test_a_number_excel_wrote_in_scientific_notation_has_its_own_reason(
    tmp_path: Path, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv([["Mobile", "Home"], ["1.51E+11", ""], ["4.91512E+12", "+14155552671"],
                        ["+14155552672", "1,51E+11"], ["+14155552673", "4155552674"]])
    out = tmp_path / "o"
    assert main(["upload", str(source), "--out", str(out), "--dry-run",
                 "--map", "PhoneNumber=Mobile,Home"]) == 0
    outcomes = {row["record"]: row for row in read_csv_rows(out / "outcomes.csv")}
    assert outcomes["1"]["reason"] == "phone_in_scientific_notation"
    assert [outcomes[r]["outcome"] for r in "234"] == ["accepted"] * 3
    notes = {row["record"]: row["notes"] for row in read_csv_rows(out / "notes.csv")}
    assert notes == {"2": "Mobile left out: in scientific notation (Excel dropped its digits)",
                     "3": "Home left out: in scientific notation (Excel dropped its digits)"}


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_the_sandbox_s_export_line_can_be_pasted(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    with subprocess.Popen(
        [sys.executable, "-m", "streamer", "sandbox", "--port", "0", "--print-env",
         str(env_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    ) as server:
        try:
            assert server.stdout is not None
            server.stdout.readline()
            export = server.stdout.readline().split()
            assert export[0] == "export", export
            pasted = dict(word.split("=", 1) for word in shlex.split(" ".join(export[1:])))
            done = subprocess.run(
                [sys.executable, "-m", "streamer", "upload", str(SAMPLE), "--out",
                 str(tmp_path / "out"), "--batch-size", "300"],
                env=clean_env() | pasted, capture_output=True, text=True, timeout=120,
            )
        finally:
            server.terminate()
    assert done.returncode == 0, done.stderr
    assert "embedded" not in done.stderr
    assert pasted["CXONE_CLIENT_SECRET"] == pasted["CXONE_ACCESS_KEY_SECRET"] == "sandbox"
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert env_file.read_text().splitlines() == [f"export {k}={v}" for k, v in pasted.items()]
