"""The CRM webhook, against the sandbox's stand-in receiver and a closed port."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from pathlib import Path

import pytest

import streamer
from streamer import ConfigError, Sandbox, Secret
from tests.conftest import WriteCsv
from tests.support import settings_for


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_summary_is_posted_and_signed(
    sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone"], ["(415) 555-2671"], ["oops"]])
    settings = settings_for(sandbox, tmp_path / "out", webhook_url=f"{sandbox.url}/sandbox/webhook",
                            webhook_secret=Secret("crm-key"))
    report = await streamer.run(path, settings)
    assert report.webhook == {"delivered": True, "attempts": 1, "status": 200}
    [call] = sandbox.webhooks
    body = json.loads(call["body"])
    assert body["run_id"] == report.run_id and body["list_id"] == report.list_id
    assert body["outcomes"]["uploaded"] == 1 and body["reasons"] == {"invalid_phone": 1}
    assert body["report_path"] == str((tmp_path / "out" / "report.json").resolve())
    timestamp = call["headers"]["X-Streamer-Timestamp"]
    expected = hmac.new(b"crm-key", f"{timestamp}.".encode() + call["body"].encode(),
                        hashlib.sha256).hexdigest()
    assert call["headers"]["X-Streamer-Signature"] == f"sha256={expected}"
    written = json.loads((tmp_path / "out" / "report.json").read_text())
    assert written["webhook"]["delivered"] is True


async def test_an_unsigned_webhook_has_no_signature(
    sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone"], ["(415) 555-2671"]])
    await streamer.run(path, settings_for(sandbox, tmp_path,
                                          webhook_url=f"{sandbox.url}/sandbox/webhook"))
    assert "X-Streamer-Signature" not in sandbox.webhooks[0]["headers"]


async def test_a_failing_webhook_is_reported_and_does_not_fail_the_run(
    sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone"], ["(415) 555-2671"]])
    settings = settings_for(sandbox, tmp_path, webhook_url=f"http://127.0.0.1:{closed_port()}/",
                            webhook_attempts=2, webhook_timeout=2)
    report = await streamer.run(path, settings)
    assert report.failed == 0 and report.balanced
    assert report.webhook is not None
    assert report.webhook["delivered"] is False and report.webhook["attempts"] == 2
    audit = (tmp_path / "audit.jsonl").read_text().splitlines()
    events = [json.loads(line)["event"] for line in audit]
    assert "streamer.webhook_failed" in events


def test_a_plain_http_webhook_to_another_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="use https"):
        streamer.Settings(webhook_url="http://crm.example.com/hook")
