"""Output safety, masking in the audit log, and adaptive concurrency."""

from __future__ import annotations

import csv
import io
import json
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import structlog
from structlog.typing import FilteringBoundLogger

import streamer
from streamer import ConfigError, Credentials, Sandbox, SandboxConfig, Secret, Settings
from streamer.credentials import credentials_from_env
from streamer.csv_text import neutralize
from streamer.delivery import AdaptiveLimiter
from streamer.run import open_audit_log
from streamer.run._audit import audit_logger, mask_email, mask_external_id, mask_phone
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for


def test_cells_a_spreadsheet_would_run_are_neutralised_but_numbers_pass() -> None:
    for cell in ("=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\r=x", "+1 415"):
        assert neutralize(cell) == "'" + cell
    for cell in ("+14155552671", "-5", "3.25", "1e5", "Ann", "", "a=b"):
        assert neutralize(cell) == cell


def test_the_audit_masks_personal_data_and_always_secrets() -> None:
    buffer = io.StringIO()
    log = audit_logger(buffer, run_id="r")
    log.info("x", phone="+14155552671", email="ann@example.com", password="hunter2",
             examples=[{"phone": "+442079460958", "token": "abc"}])
    full = audit_logger(buffer, full_pii=True, run_id="r")
    full.info("y", phone="+14155552671", access_token="abc")
    masked, unmasked = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert masked["phone"] == "*******2671" and masked["email"] == "a***@example.com"
    assert masked["password"] == "********"
    assert masked["examples"] == [{"phone": "********0958", "token": "********"}]
    assert unmasked["phone"] == "+14155552671" and unmasked["access_token"] == "********"
    assert mask_phone("+1 (415) 555-2671") == "*******2671"
    assert mask_email("nobody") == "********"


def test_aimd_halves_once_per_window_and_grows_after_a_window_of_successes() -> None:
    with structlog.testing.capture_logs() as events:
        log: FilteringBoundLogger = structlog.get_logger()
        limiter = AdaptiveLimiter(8, 10, log)
        limiter.throttled(0)
        limiter.throttled(0)  # a 429 to a request sent before the cut: no second cut
        assert limiter.limit == 4
        limiter.throttled(1)
        assert limiter.limit == 2
        for _ in range(2):
            limiter.succeeded(time.monotonic())
        assert limiter.limit == 3
        for _ in range(200):
            limiter.succeeded(time.monotonic())
        assert limiter.limit == 10  # never past the maximum
        for epoch in range(2, 10):
            limiter.throttled(epoch)
        assert limiter.limit == 1  # never below one
    changes = [(e["before"], e["after"]) for e in events
               if e["event"] == "streamer.concurrency_changed"]
    assert changes[:3] == [(8, 4), (4, 2), (2, 3)]
    assert (limiter.lowest, limiter.highest) == (1, 10)


async def test_a_429_paces_uploads_below_the_rate_the_server_was_accepting() -> None:
    limiter = AdaptiveLimiter(4, 4, structlog.get_logger())
    assert limiter.pace is None  # a server that never throttles is never paced
    now = time.monotonic()
    for tenth in range(20):  # 20 accepted over the last two seconds: 10 a second
        limiter.succeeded(now - 1.95 + tenth * 0.1)
    limiter.throttled(0)
    assert limiter.pace is not None and 9.0 <= limiter.pace <= 10.0
    started = time.monotonic()
    for _ in range(5):
        async with limiter.slot():
            pass
    # Four gaps of 1/pace at least (sleeps never end early; an upper bound would be flaky).
    assert time.monotonic() - started >= 4 / 10.0
    limiter.throttled(1)
    assert limiter.pace < 9.5  # another 429 slows it further


async def test_throttling_shrinks_concurrency_and_every_change_is_audited(
    tmp_path: Path,
) -> None:
    config = SandboxConfig(throttle_rate=0.3, retry_after_s=0, seed=1)
    async with Sandbox(config) as sandbox:
        report = await streamer.run(streamer_sample(), settings_for(
            sandbox, tmp_path, batch_size=25, concurrency=8, max_concurrency=8))
    assert report.failed == 0 and report.balanced
    concurrency = report.upload["concurrency"]
    assert concurrency["start"] == 8 and concurrency["lowest"] < 8
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    changes = [e for e in audit if e["event"] == "streamer.concurrency_changed"]
    assert any(e["reason"] == "throttled" for e in changes)


def streamer_sample() -> Path:
    return Path(__file__).parent.parent / "examples" / "contacts.csv"


async def test_failed_rows_are_written_with_their_columns_and_the_servers_word(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["Name", "Phone"], ["=HYPERLINK(1)", "(415) 555-2671"],
                      ["Bob", "(415) 555-2672"], ["Cy", "(415) 555-2673"]])
    async with Sandbox(SandboxConfig(max_records_per_file=2)) as strict:
        report = await streamer.run(path, settings_for(strict, tmp_path / "out", batch_size=3))
    assert report.failed == 3
    with open(tmp_path / "out" / "failed.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Name", "Phone", "record", "reason", "detail"]
    assert rows[1][:4] == ["'=HYPERLINK(1)", "(415) 555-2671", "1", "upload_failed"]
    assert rows[1][4].startswith("HTTP 400: ")
    assert {r[2] for r in rows[1:]} == {"1", "2", "3"}


async def test_formulas_in_the_input_never_reach_an_output_as_formulas(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["external id", "first name", "phone"],
                      ["=cmd|' /C calc'!A0", "@SUM(1)", "(415) 555-2671"],
                      ["-x", "Bob", "+1 bad"]])
    await streamer.run(path, settings_for(None, tmp_path / "out", dry_run=True))
    out = tmp_path / "out"
    by_record = {o["record"]: o for o in read_outcomes(out)}
    assert by_record["1"]["external_id"] == "'=cmd|' /C calc'!A0"
    for name in ("outcomes.csv", "rejected.csv", "batches/batch-000001.csv"):
        with open(out / name, encoding="utf-8", newline="") as file:
            for row in csv.reader(file):
                for cell in row:
                    assert not cell or (cell[0] not in "=@" and not (
                        cell[0] in "+-" and not cell[1:].replace(".", "").isdigit())), cell


def test_the_audit_masks_external_ids_nested_too_unless_full_pii() -> None:
    buffer = io.StringIO()
    audit_logger(buffer).warning(
        "streamer.records_missing", external_id="CRM-00012345",
        examples=[{"record": 7, "external_id": "CRM-00067890", "phone": "+14155552671"},
                  {"record": 8, "externalId": "short"}])
    audit_logger(buffer, full_pii=True).info("y", external_id="CRM-00012345")
    masked, unmasked = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert masked["external_id"] == "********2345"
    assert masked["examples"] == [
        {"record": 7, "external_id": "********7890", "phone": "*******2671"},
        {"record": 8, "externalId": "********"}]  # too short to show any of it
    assert unmasked["external_id"] == "CRM-00012345"
    assert mask_external_id("12345678") == "****5678"


def test_the_audit_cuts_credential_values_and_tokens_out_of_every_string(
    tmp_path: Path,
) -> None:
    credentials = Credentials(issuer="https://cxone.example.com", client_id="app",
                              client_secret=Secret("client-s3cret"), access_key_id="key",
                              access_key_secret=Secret("key-s3cret"))
    settings = Settings(credentials=credentials, webhook_secret=Secret("crm-s3cret"))
    with ExitStack() as stack:
        log = open_audit_log(stack, tmp_path, settings, run_id="r")
        log.error("streamer.request_retry",
                  error="HTTP 400: echo client_secret=client-s3cret&key=key-s3cret",
                  detail={"headers": ["Authorization: Bearer eyJhbGciOi.J9x-y_z",
                                      "Authorization: basic YXBwOmNsaWVudA=="]},
                  note="signed with crm-s3cret")
    text = (tmp_path / "audit.jsonl").read_text()
    for leaked in ("client-s3cret", "key-s3cret", "crm-s3cret", "eyJhbGciOi", "YXBwOm"):
        assert leaked not in text
    event = json.loads(text)
    assert event["error"] == "HTTP 400: echo client_secret=[redacted]&key=[redacted]"
    assert event["detail"]["headers"] == ["Authorization: Bearer [redacted]",
                                          "Authorization: basic [redacted]"]
    assert event["note"] == "signed with [redacted]" and event["run_id"] == "r"


def test_the_audit_ends_a_line_a_full_disk_cut_before_appending(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_text('{"event": "a"}\n{"event": "cut sh')
    with ExitStack() as stack:
        open_audit_log(stack, tmp_path, Settings()).info("streamer.run_started")
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert lines[1] == '{"event": "cut sh'
    assert json.loads(lines[2])["event"] == "streamer.run_started"


def test_the_access_key_route_lives_on_an_area_host_unless_told_otherwise() -> None:
    def key(**where: str) -> Credentials:
        return Credentials(access_key_id="k", access_key_secret=Secret("s"),
                           token_route="access-key", **where)

    assert key().access_key_host() == "https://na1.nice-incontact.com"
    assert key(area="eu1").access_key_host() == "https://eu1.nice-incontact.com"
    assert key(issuer="http://127.0.0.1:9").access_key_host() == "http://127.0.0.1:9"
    assert key(access_key_host_url="https://au1.example/",
               area="eu1").access_key_host() == "https://au1.example"
    with pytest.raises(ConfigError, match="CXONE_AREA 'mars'"):
        key(area="mars")
    assert credentials_from_env({"CXONE_ACCESS_KEY_ID": "k", "CXONE_ACCESS_KEY_SECRET": "s",
                                 "CXONE_TOKEN_ROUTE": "access-key", "CXONE_AREA": " AU1 "}
                                ) == key(area="au1")
