"""Each sandbox fault, and what a run does about it, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import aiohttp
import anyio

import streamer
from streamer import Sandbox, SandboxConfig
from streamer.cxone import CXoneClient
from streamer.fields import BASE_MAPPING
from tests.support import read_outcomes, settings_for

SAMPLE = Path(__file__).parent.parent / "examples" / "contacts.csv"
UPLOAD_ROUTE = "POST /inContactAPI/services/{version}/lists/call-lists/{listId}/upload"


async def stored_ids(sandbox: Sandbox, list_id: int) -> list[str]:
    async with aiohttp.ClientSession() as session:
        client = CXoneClient(session, sandbox.credentials)
        await client.connect()
        return sorted([i async for i in client.list_external_ids(list_id)])


def uploaded_ids(out: Path) -> list[str]:
    return sorted(o["external_id"] for o in read_outcomes(out) if o["outcome"] == "uploaded")


def audit_events(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]


async def test_lost_records_are_caught_by_read_back_and_resent(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig(lose_rate=0.01, seed=5)) as lossy:
        report = await streamer.run(SAMPLE, settings_for(lossy, tmp_path, batch_size=100))
        assert report.list_id is not None
        in_list = await stored_ids(lossy, report.list_id)
        lost = lossy.stats()["records_lost"]
    accepted = report.outcomes["uploaded"] + report.failed
    assert lost > 0
    assert report.verification["resent"] >= 1
    assert report.failed == 0 and report.balanced
    assert in_list == uploaded_ids(tmp_path)
    assert len(in_list) == accepted


async def test_records_lost_twice_fail_as_missing_after_upload(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig(lose_rate=1.0)) as black_hole:
        report = await streamer.run(SAMPLE, settings_for(black_hole, tmp_path, batch_size=300))
    assert report.outcomes["uploaded"] == 0 and report.balanced
    assert report.failed == report.reasons["missing_after_upload"] > 700
    assert report.verification["resent"] == 2 * report.failed  # two rounds


async def test_cancelled_jobs_lose_no_row(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig(cancel_rate=0.1, seed=2)) as flaky:
        report = await streamer.run(SAMPLE, settings_for(flaky, tmp_path, batch_size=20))
        assert report.list_id is not None
        in_list = await stored_ids(flaky, report.list_id)
        cancelled = flaky.stats()["jobs_cancelled"]
    outcomes = read_outcomes(tmp_path)
    failed = [o for o in outcomes if o["outcome"] == "failed"]
    assert cancelled > 0 and failed
    assert {o["reason"] for o in failed} == {"job_cancelled"}
    assert report.balanced
    assert in_list == uploaded_ids(tmp_path)


async def test_dropped_connections_are_retried_and_uploads_stay_exactly_once(
    tmp_path: Path,
) -> None:
    async with Sandbox(SandboxConfig(reset_rate=0.15, seed=9)) as shaky:
        report = await streamer.run(SAMPLE, settings_for(shaky, tmp_path, batch_size=50))
        assert report.list_id is not None
        in_list = await stored_ids(shaky, report.list_id)
        resets = shaky.stats()["resets"]
    assert resets > 0 and report.upload["retries"] > 0
    assert report.failed == 0 and report.balanced
    assert in_list == uploaded_ids(tmp_path)  # sorted lists: each id once


async def test_a_short_token_lifetime_never_fails_a_run(tmp_path: Path) -> None:
    # One batch at a time, each job taking 150 ms: the run outlasts the token several times.
    config = SandboxConfig(token_ttl=0.3, job_delay_ms=150)
    async with Sandbox(config) as sandbox:
        report = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path, batch_size=100,
                                                         concurrency=1, max_concurrency=1))
        stats = sandbox.stats()
    renewals = [e for e in audit_events(tmp_path) if e["event"] == "streamer.token_issued"]
    assert report.failed == 0 and report.balanced
    assert len(renewals) >= 3 and stats["tokens_issued"] == len(renewals)
    assert report.upload["retries"] == 0


async def test_latency_is_added_to_api_answers() -> None:
    async with Sandbox(SandboxConfig(latency_ms=80)) as slow, aiohttp.ClientSession() as s:
        client = CXoneClient(s, slow.credentials)
        await client.connect()
        started = time.perf_counter()
        for _ in range(5):
            await client.find_list("x")
        assert time.perf_counter() - started >= 5 * 0.040  # each answer waits 40-120 ms


async def test_jobs_complete_only_after_their_delay() -> None:
    async with Sandbox(SandboxConfig(job_delay_ms=200)) as slow, aiohttp.ClientSession() as s:
        client = CXoneClient(s, slow.credentials)
        await client.connect()
        list_id = await client.create_list("l", mapping=BASE_MAPPING[:2])
        job_id = await client.upload(list_id, "f.csv",
                                     b"ExternalId,PhoneNumber\r\nA,+14155552671\r\n",
                                     streamer.UploadOptions())
        first = await client.job(job_id)
        assert not first.finished
        assert [i async for i in client.list_external_ids(list_id)] == []
        deadline = time.monotonic() + 5
        while not (await client.job(job_id)).is_complete and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        assert [i async for i in client.list_external_ids(list_id)] == ["A"]


async def test_the_same_seed_gives_the_same_faults() -> None:
    async def faults(seed: int) -> tuple[list[int], dict[str, object]]:
        config = SandboxConfig(error_rate=0.3, reset_rate=0.1, seed=seed)
        seen = []
        async with Sandbox(config) as sandbox, aiohttp.ClientSession() as session:
            async with session.post(f"{sandbox.url}/auth/token", data={
                "grant_type": "password", "username": "sandbox", "password": "sandbox"},
                    headers={"Authorization": "Basic c2FuZGJveDpzYW5kYm94"}) as r:
                token = (await r.json())["access_token"]
            for _ in range(80):
                try:
                    async with session.get(
                        f"{sandbox.url}/inContactAPI/services/v30.0/lists/call-lists",
                        headers={"Authorization": f"Bearer {token}"},
                    ) as response:
                        seen.append(response.status)
                except aiohttp.ClientError:
                    seen.append(0)  # aiohttp silently repeats some, on a reused connection
            return seen, sandbox.stats()

    (first, first_stats), (second, second_stats) = await faults(4), await faults(4)
    other, _ = await faults(5)
    assert first == second and first_stats == second_stats
    assert first != other
    assert {500, 503} <= set(first) and 200 in first
    assert first_stats["resets"] > 0


async def test_the_fault_mix_loses_and_duplicates_nothing_and_leaks_no_secret(
    tmp_path: Path,
) -> None:
    config = SandboxConfig(throttle_rate=0.10, retry_after_s=1, error_rate=0.02,
                           reset_rate=0.01, token_ttl=5, seed=21,
                           client_secret="cl13nt-s3cr3t", access_key_secret="acc3ss-s3cr3t")
    async with Sandbox(config) as sandbox:
        report = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path / "out",
                                                         batch_size=100))
        assert report.list_id is not None
        in_list = await stored_ids(sandbox, report.list_id)
        # And a run stopped half-way, whose journal stays behind.
        stop = anyio.Event()
        stop.set()
        with contextlib.suppress(streamer.Interrupted):
            await streamer.run(SAMPLE, settings_for(sandbox, tmp_path / "stopped",
                                                    chunk_rows=200), stop=stop)
    assert report.failed == 0 and report.balanced
    assert in_list == uploaded_ids(tmp_path / "out")
    assert len(in_list) == len(set(in_list)) == report.outcomes["uploaded"]
    assert report.upload["throttled"] > 0 and report.upload["retries"] > 0
    assert (tmp_path / "stopped" / "journal.sqlite3").exists()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"cl13nt-s3cr3t" not in data and b"acc3ss-s3cr3t" not in data, path
