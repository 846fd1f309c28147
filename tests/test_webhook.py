"""The CRM webhook, against the sandbox's stand-in receiver and a closed port."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import socket
from pathlib import Path

import anyio
import anyio.abc
import pytest
from aiohttp import web

import streamer
from examples.make_contacts import write_contacts
from streamer import ConfigError, Sandbox, Secret
from tests.cli_runs import cli_env, upload_command, webhook_receiver
from tests.conftest import WriteCsv
from tests.support import assert_exact, settings_for


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


async def test_the_webhook_comes_after_the_report_and_a_kill_there_resumes_with_all_settled(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    source, out = tmp_path / "contacts.csv", tmp_path / "out"
    write_contacts(source, 2000, seed=9)
    seen: list[dict[str, object]] = []
    victim: list[anyio.abc.Process] = []

    async def receive(request: web.Request) -> web.Response:
        # What the CRM could see when called: the report, and the journal not yet gone.
        seen.append({"report": json.loads((out / "report.json").read_text()),
                     "journal": (out / "journal.sqlite3").is_file()})
        if len(seen) == 1:
            victim[0].kill()  # SIGKILL: the run dies between its webhook and the journal
        return web.json_response({})

    env = cli_env(sandbox)
    async with webhook_receiver(receive) as url:
        command = upload_command(source, out, "--list", "ordered", "--webhook", url)
        async with await anyio.open_process(command, env=env) as process:
            victim.append(process)
            assert await process.wait() == -signal.SIGKILL
        first = seen[0]["report"]
        assert isinstance(first, dict) and first["balanced"] is True
        assert first["webhook"] is None and seen[0]["journal"] is True
        received = sandbox.stats()["records_received"]
        assert received == first["outcomes"]["uploaded"]

        again = await anyio.run_process(command, env=env, check=False)
        assert again.returncode == 0, again.stderr
    report = await assert_exact(sandbox, out)
    assert report["resumed"] is True and report["upload"]["rows_sent"] == 0
    assert sandbox.stats()["records_received"] == received  # nothing uploaded again
    assert len(seen) == 2 and report["webhook"]["delivered"] is True
