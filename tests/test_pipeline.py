"""End to end over real HTTP on 127.0.0.1: the file in, the list read back through the API."""

from __future__ import annotations

import csv
from contextlib import aclosing
from pathlib import Path

import pytest

import streamer
from streamer import OutcomeKind, ReasonCode, Sandbox, SandboxConfig
from streamer.cxone import CXoneClient
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for

SAMPLE = Path(__file__).parent.parent / "examples" / "contacts.csv"


def data_records(path: Path) -> int:
    with open(path, encoding="utf-8-sig", newline="") as file:
        return sum(1 for fields in csv.reader(file) if fields) - 1


async def listed_ids(api: CXoneClient, list_id: int) -> list[str]:
    return [external_id async for external_id in api.list_external_ids(list_id)]


async def test_the_list_holds_exactly_the_uploaded_rows_each_once(
    sandbox: Sandbox, api: CXoneClient, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path, batch_size=97, concurrency=3, list_name="demo")
    report = await streamer.run(SAMPLE, settings)

    outcomes = read_outcomes(tmp_path)
    assert report.rows_read == data_records(SAMPLE)
    assert sorted(int(o["record"]) for o in outcomes) == list(range(1, report.rows_read + 1))
    assert report.balanced and report.failed == 0
    uploaded = [o["external_id"] for o in outcomes if o["outcome"] == "uploaded"]
    assert report.outcomes["uploaded"] == len(uploaded) > 700
    assert report.outcomes["duplicate"] > 0 and report.outcomes["rejected"] > 0
    assert sum(report.outcomes.values()) == report.rows_read

    assert report.list_id is not None
    in_list = await listed_ids(api, report.list_id)
    assert len(in_list) == len(set(in_list))
    assert sorted(in_list) == sorted(uploaded)
    assert len(report.job_ids) == report.upload["batches"] == -(-len(uploaded) // 97)


async def test_a_rerun_of_the_same_upload_adds_no_record(
    sandbox: Sandbox, api: CXoneClient, tmp_path: Path
) -> None:
    first = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path / "1", list_name="demo"))
    assert first.list_id is not None
    before = await listed_ids(api, first.list_id)
    second = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path / "2", list_name="demo"))
    assert second.list_id == first.list_id
    assert await listed_ids(api, first.list_id) == before
    assert read_outcomes(tmp_path / "1") == read_outcomes(tmp_path / "2")


async def test_duplicates_point_at_a_kept_uploaded_record(
    sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([
        ["phone", "email", "name"],
        ["(415) 555-2671", "bad@", "Ann"],           # rejected: its phone is not "taken"
        ["415.555.2671", "ann@example.com", "Ann"],  # kept
        ["+1 415 555 2671", "", "Ann"],              # same phone
        ["(415) 555-2672", "ANN@example.com ", "A"], # same email
    ])
    await streamer.run(path, settings_for(sandbox, tmp_path / "out"))
    assert [(o["record"], o["outcome"], o["reason"], o["duplicate_of"])
            for o in sorted(read_outcomes(tmp_path / "out"), key=lambda o: int(o["record"]))] == [
        ("1", "rejected", "invalid_email", ""),
        ("2", "uploaded", "", ""),
        ("3", "duplicate", "same_phone", "2"),
        ("4", "duplicate", "same_email", "2"),
    ]


async def test_external_ids_from_the_file_are_used_and_carried(
    sandbox: Sandbox, api: CXoneClient, tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([
        ["Customer ID", "Mobile"],
        ["C-1", "(415) 555-2671"],
        ["C-1", "(415) 555-2672"],
        ["", "(415) 555-2673"],
        ["C-2", "(415) 555-2674"],
    ])
    report = await streamer.run(path, settings_for(sandbox, tmp_path / "out"))
    outcomes = {o["record"]: o for o in read_outcomes(tmp_path / "out")}
    assert (outcomes["2"]["reason"], outcomes["2"]["duplicate_of"]) == ("same_external_id", "1")
    assert outcomes["3"]["reason"] == "missing_external_id"
    assert report.list_id is not None
    assert sorted(await listed_ids(api, report.list_id)) == ["C-1", "C-2"]


async def test_an_id_made_safe_for_spreadsheets_is_verified_as_uploaded(
    sandbox: Sandbox, api: CXoneClient, tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["Customer ID", "Mobile"], ["-7x", "(415) 555-2671"],
                      ["C-2", "(415) 555-2674"]])
    report = await streamer.run(path, settings_for(sandbox, tmp_path / "out"))
    assert report.outcomes["uploaded"] == 2 and report.failed == 0
    assert report.verification["resent"] == 0
    assert report.list_id is not None
    assert sorted(await listed_ids(api, report.list_id)) == ["'-7x", "C-2"]


async def test_a_dry_run_checks_everything_and_writes_the_would_be_uploads(
    tmp_path: Path,
) -> None:
    report = await streamer.run(SAMPLE, settings_for(None, tmp_path, dry_run=True,
                                                     batch_size=300))
    outcomes = read_outcomes(tmp_path)
    accepted = sorted(o["external_id"] for o in outcomes if o["outcome"] == "accepted")
    assert report.outcomes["uploaded"] == 0 and report.balanced
    assert report.outcomes["accepted"] == len(accepted)
    files = sorted((tmp_path / "batches").glob("batch-*.csv"))
    assert len(files) == -(-len(accepted) // 300)
    written = []
    for file in files:
        with open(file, encoding="utf-8", newline="") as handle:
            written += [row["ExternalId"] for row in csv.DictReader(handle)]
    assert sorted(written) == accepted


async def test_stream_yields_each_outcome_once_and_they_match_the_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path, batch_size=50)
    seen = [outcome async for outcome in streamer.stream(SAMPLE, settings)]
    assert sorted(o.record for o in seen) == list(range(1, data_records(SAMPLE) + 1))
    written = {(int(o["record"]), o["outcome"]) for o in read_outcomes(tmp_path)}
    assert {(o.record, o.outcome.value) for o in seen} == written


async def test_leaving_a_stream_early_stops_the_run_cleanly(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path / "early", batch_size=10, chunk_rows=16)
    async with aclosing(streamer.stream(SAMPLE, settings)) as outcomes:
        async for outcome in outcomes:
            assert outcome.record >= 1
            break
    # Nothing half-written pretends to be complete, and the next run goes through.
    assert not (tmp_path / "early" / "outcomes.csv").exists()
    report = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path / "after"))
    assert report.balanced


async def test_retryable_faults_are_ridden_out_and_nothing_is_lost(
    api: CXoneClient, tmp_path: Path
) -> None:
    config = SandboxConfig(error_rate=0.2, throttle_rate=0.1, retry_after_s=0, seed=11)
    async with Sandbox(config) as faulty:
        settings = settings_for(faulty, tmp_path, batch_size=40, concurrency=4)
        report = await streamer.run(SAMPLE, settings)
        stats = faulty.stats()
        uploaded = sorted(o["external_id"] for o in read_outcomes(tmp_path)
                          if o["outcome"] == "uploaded")
        assert report.list_id is not None
        stored = await faulty_ids(faulty, report.list_id)
    assert report.failed == 0 and report.balanced
    assert report.upload["retries"] > 0 and report.upload["throttled"] > 0
    assert report.upload["success_rate"] < 1
    upload_route = "POST /inContactAPI/services/{version}/lists/call-lists/{listId}/upload"
    assert stats["requests"][upload_route]["202"] == report.upload["batches"]
    assert stored == uploaded


async def faulty_ids(sandbox: Sandbox, list_id: int) -> list[str]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        client = CXoneClient(session, sandbox.credentials)
        await client.connect()
        return sorted(await listed_ids(client, list_id))


async def test_a_refused_batch_fails_its_rows_without_retrying(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    rows = [["phone"], *[[f"(415) 555-{n:04d}"] for n in range(2000, 2012)]]
    path = write_csv(rows)
    async with Sandbox(SandboxConfig(max_records_per_file=5)) as strict:
        report = await streamer.run(path, settings_for(strict, tmp_path / "out", batch_size=5))
        stats = strict.stats()
    # 12 rows in batches of 5, 5, 2 → the sandbox takes all three (each ≤ 5 records).
    assert report.failed == 0
    async with Sandbox(SandboxConfig(max_records_per_file=4)) as strict:
        report = await streamer.run(path, settings_for(strict, tmp_path / "out2", batch_size=5))
        stats = strict.stats()
    outcomes = read_outcomes(tmp_path / "out2")
    failed = [o for o in outcomes if o["outcome"] == "failed"]
    assert len(failed) == 10 and {o["reason"] for o in failed} == {"upload_failed"}
    assert report.outcomes["uploaded"] == 2 and report.balanced
    upload_route = "POST /inContactAPI/services/{version}/lists/call-lists/{listId}/upload"
    assert stats["requests"][upload_route] == {"400": 2, "202": 1}


async def test_a_job_that_never_completes_fails_its_rows_with_a_reason(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone"], ["(415) 555-2671"], ["(415) 555-2672"]])
    async with Sandbox(SandboxConfig(job_delay_ms=5_000)) as slow:
        checked = await streamer.run(path, settings_for(slow, tmp_path / "a", job_timeout=0.1))
        unchecked = await streamer.run(path, settings_for(slow, tmp_path / "b", job_timeout=0.1,
                                                          verify=False))
    # Read back, the rows are not in the list even after a re-send: they failed.
    assert checked.reasons == {ReasonCode.MISSING_AFTER_UPLOAD.value: 2}
    assert checked.verification["resent"] == 4 and checked.balanced  # 2 rows, 2 rounds
    # Without read-back, all that is known is that the job never finished.
    assert unchecked.reasons == {ReasonCode.JOB_TIMEOUT.value: 2} and unchecked.balanced


async def test_a_mid_file_problem_stops_the_run_with_an_input_error(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    # Past the first decoded chunk, so the run is under way when it meets the bad bytes.
    good = "".join(f"(415) 555-{n:04d}\n" for n in range(2000, 4000))
    path.write_bytes(b"phone\n" + good.encode() + b"\xff\xfe\n")
    # The one error itself, not a task group's ExceptionGroup around it.
    with pytest.raises(streamer.InputError, match="not UTF-8"):
        await streamer.run(path, settings_for(sandbox, tmp_path / "out", chunk_rows=10,
                                              encoding="utf-8"))
    assert not (tmp_path / "out" / "outcomes.csv").exists()


def test_outcome_kinds_are_the_documented_ones() -> None:
    assert {k.value for k in OutcomeKind} == {
        "uploaded", "accepted", "duplicate", "rejected", "failed"}


async def test_fuzzy_dedup_catches_typos_of_one_person_and_keeps_two_people_apart(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    rows = [["first name", "last name", "phone", "email"],
            ["José", "García", "(415) 555-2671", "jose.garcia@example.com"],
            ["jose", "GARCIA", "(415) 555-9999", "jose.gracia@example.com"],   # email typo
            ["Jose ", "Garcia", "(415) 555-2670", ""],                         # phone typo
            ["Ann", "Lee", "(415) 555-2672", ""],      # one digit from José: another person
            ["John", "Smith", "(415) 555-3000", "john.smith@example.com"],
            ["John", "Smith", "(415) 555-4000", "john.smith2@example.com"]]    # a namesake
    path = write_csv(rows)
    verdicts = {}
    for mode in ("fuzzy", "exact", "off"):
        await streamer.run(path, settings_for(None, tmp_path / mode, dry_run=True, dedup=mode))
        verdicts[mode] = [(o["reason"], o["duplicate_of"]) for o in sorted(
            read_outcomes(tmp_path / mode), key=lambda o: int(o["record"]))]
    assert verdicts["fuzzy"] == [("", ""), ("similar_email", "1"),
                                 ("similar_phone_same_name", "1"), ("", ""), ("", ""), ("", "")]
    assert verdicts["exact"] == verdicts["off"] == [("", "")] * 6
