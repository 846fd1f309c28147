"""The library as a caller uses it: paths as strings, errors that speak of settings,
precise types, and trio.

Under trio only a dry run can work: the CXone client is aiohttp, which runs on asyncio
alone, so an upload under trio is refused at once with one ConfigError; the dry runs
here run under trio for real (the default, in-process stages, and a worker process).
"""

from __future__ import annotations

import json
from contextlib import aclosing
from pathlib import Path

import anyio
import pytest

import streamer
from streamer import ConfigError, Credentials, InputError, ReasonCode, Secret, Settings
from streamer.counters import UploadSummary
from streamer.records import NamedReason
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for

SAMPLE = Path(__file__).parent.parent / "examples" / "contacts.csv"


def test_a_dry_run_works_under_trio(tmp_path: Path) -> None:
    async def main() -> streamer.Report:
        return await streamer.run(str(SAMPLE), Settings(out_dir=str(tmp_path), dry_run=True))

    report = anyio.run(main, backend="trio")
    assert report.balanced and report.rows_read == len(read_outcomes(tmp_path)) > 900
    assert report.outcomes["accepted"] > 700
    assert sorted(path.name for path in (tmp_path / "batches").iterdir())[0] == "batch-000001.csv"
    assert json.loads((tmp_path / "report.json").read_text())["rows_read"] == report.rows_read


def test_a_dry_run_with_a_worker_process_and_stream_work_under_trio(tmp_path: Path) -> None:
    async def main() -> list[streamer.Outcome]:
        settings = Settings(out_dir=tmp_path, dry_run=True, workers=1)
        async with aclosing(streamer.stream(SAMPLE, settings)) as outcomes:
            return [outcome async for outcome in outcomes]

    seen = anyio.run(main, backend="trio")
    assert [o.record for o in sorted(seen)] == list(range(1, len(seen) + 1))
    assert len(seen) == len(read_outcomes(tmp_path)) > 900


def test_stream_left_early_under_trio_stops_the_pipeline(tmp_path: Path) -> None:
    async def main() -> int:
        settings = Settings(out_dir=tmp_path, dry_run=True, batch_size=10)
        seen = 0
        async with aclosing(streamer.stream(SAMPLE, settings)) as outcomes:
            async for _ in outcomes:
                seen += 1
                if seen == 5:
                    break
        return seen

    assert anyio.run(main, backend="trio") == 5
    # The pipeline was cancelled before its end: its journal is kept to resume from.
    assert (tmp_path / "journal.sqlite3").exists() and not (tmp_path / "report.json").exists()


def test_an_upload_under_trio_is_refused_at_once_in_one_error(tmp_path: Path) -> None:
    credentials = Credentials(issuer="http://127.0.0.1:9", client_id="sandbox",
                              client_secret=Secret("sandbox"), access_key_id="sandbox",
                              access_key_secret=Secret("sandbox"))

    async def main() -> None:
        await streamer.run(SAMPLE, Settings(out_dir=tmp_path, credentials=credentials))

    with pytest.raises(ConfigError, match=r"needs asyncio .*under trio only a dry run"):
        anyio.run(main, backend="trio")


async def test_paths_may_be_strings(tmp_path: Path, write_csv: WriteCsv) -> None:
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+1 415 555 2671\n")
    source = write_csv([["phone"], ["+14155552671"], ["+14155552672"]])
    settings = Settings(out_dir=str(tmp_path / "out"), dnc_file=str(dnc), dry_run=True)
    assert settings.out_dir == tmp_path / "out" and isinstance(settings.out_dir, Path)
    assert settings.dnc_file == dnc and isinstance(settings.dnc_file, Path)
    report = await streamer.run(str(source), settings)
    assert report.reasons == {"do_not_call": 1}
    assert (tmp_path / "out" / "outcomes.csv").is_file()


def test_a_path_setting_of_another_type_is_a_type_error_at_construction() -> None:
    with pytest.raises(TypeError, match=r"Settings.out_dir: expected a path .* not int"):
        Settings(out_dir=7)  # type: ignore[arg-type]


async def test_the_library_speaks_of_settings_and_flags(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    source = write_csv([["name", "city"], ["Ann", "Oslo"]])
    with pytest.raises(InputError, match=r"no phone column: name it \(--phone-column / "
                                         r"Settings.columns.phone"):
        await streamer.run(source, Settings(out_dir=tmp_path / "o", dry_run=True))
    with pytest.raises(ConfigError, match=r"\(--workers / Settings.workers\)"):
        Settings(workers=-1)
    with pytest.raises(ConfigError, match=r"--dedup / Settings.dedup"):
        Settings(dedup="loose")  # type: ignore[arg-type]


async def test_outcome_reasons_are_reason_codes_or_named_reasons(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    source = write_csv([["phone", "email"], ["+14155552671", ""], ["12", "a@example.com"],
                        ["+14155552673", "b@example.com"], ["+14155552673", "c@example.com"]])
    settings = Settings(out_dir=tmp_path, dry_run=True, required_columns=("email",))
    reasons = {o.record: o.reason async for o in streamer.stream(source, settings)}
    assert reasons == {1: "missing_email", 2: ReasonCode.INVALID_PHONE, 3: None,
                       4: ReasonCode.SAME_PHONE}
    assert type(reasons[1]) is NamedReason and type(reasons[2]) is ReasonCode


async def test_the_upload_summary_is_typed_and_is_report_json_s_upload(
    sandbox: streamer.Sandbox, tmp_path: Path
) -> None:
    report = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path, list_name="typed"))
    assert set(report.upload) == set(UploadSummary.__annotations__)
    assert report.upload["batches"] == len(report.job_ids) > 0
    written = json.loads((tmp_path / "report.json").read_text())["upload"]
    assert written == report.upload
