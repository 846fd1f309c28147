"""Campaign rules and the file of rejected rows, end to end in dry runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import streamer
from streamer import InputError
from streamer.cleaning._dnc import DoNotCallBuilder
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for


def reasons(out: Path) -> dict[int, str]:
    return {int(o["record"]): o["reason"] for o in read_outcomes(out)}


async def test_dnc_numbers_in_any_format_are_not_called(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("# do not call\n(415) 555-2671\n\n+1 415-555-2673\nnot a number\n")
    path = write_csv([["phone"], ["+14155552671"], ["415.555.2672"], ["1 415 555 2673"]])
    await streamer.run(path, settings_for(None, tmp_path / "out", dry_run=True, dnc_file=dnc))
    assert reasons(tmp_path / "out") == {1: "do_not_call", 2: "", 3: "do_not_call"}
    loaded = DoNotCallBuilder.from_file(dnc, "US")
    assert (len(loaded), loaded.unreadable) == (2, 1)
    assert "+14155552672" not in loaded and "garbage" not in loaded
    assert loaded.source_of("+14155552671") == "file dnc.txt"


async def test_only_allowed_countries_are_called(tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([
        ["phone", "country"],
        ["+442079460958", ""],        # no country: the phone's (GB) decides
        ["(415) 555-2671", "US"],
        ["604 555 1234", "Canada"],
        ["+14155552672", "GB"],       # the row's country decides, not the number's
    ])
    await streamer.run(path, settings_for(None, tmp_path / "out", dry_run=True,
                                          allowed_countries=frozenset({"US", "CA"})))
    assert reasons(tmp_path / "out") == {1: "country_not_allowed", 2: "", 3: "",
                                         4: "country_not_allowed"}


async def test_required_columns_name_what_is_missing(tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([
        ["Phone", "E-mail", "Account No."],
        ["(415) 555-2671", "a@example.com", "7"],
        ["(415) 555-2672", "", "8"],
        ["(415) 555-2673", "c@example.com", " "],
    ])
    settings = settings_for(None, tmp_path / "out", dry_run=True,
                            required_columns=("email", "account no"))
    await streamer.run(path, settings)
    assert reasons(tmp_path / "out") == {1: "", 2: "missing_email", 3: "missing_account_no"}
    with pytest.raises(InputError, match="required column 'fax' is not in the file"):
        await streamer.run(path, settings_for(None, tmp_path / "o2", dry_run=True,
                                              required_columns=("fax",)))


async def test_invalid_emails_can_be_blanked_instead_of_rejected(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone", "email"], ["(415) 555-2671", "ann@"]])
    await streamer.run(path, settings_for(None, tmp_path / "a", dry_run=True))
    await streamer.run(path, settings_for(None, tmp_path / "b", dry_run=True,
                                          invalid_email="blank"))
    assert reasons(tmp_path / "a") == {1: "invalid_email"}
    assert [o["outcome"] for o in read_outcomes(tmp_path / "b")] == ["accepted"]


async def test_records_over_the_character_limit_are_rejected(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    path = write_csv([["phone", "first name"], ["(415) 555-2671", "Al"],
                      ["(415) 555-2672", "A" * 40]])
    await streamer.run(path, settings_for(None, tmp_path / "out", dry_run=True,
                                          max_record_chars=60))
    assert reasons(tmp_path / "out") == {1: "", 2: "record_too_long"}


async def test_rejected_rows_are_written_as_read_to_fix_and_feed_again(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    rows = [["First Name", "Phone", "Email"],
            ["  Ann ", "(415) 555-2671", "ann@example.com"],
            ["Bob", "12", "bob@example.com"],
            ["Cy, Jr", "(415) 555-2673", "cy@"],
            ["Ann", "415 555 2671", ""]]
    path = write_csv(rows)
    await streamer.run(path, settings_for(None, tmp_path / "out", dry_run=True))
    with open(tmp_path / "out" / "rejected.csv", encoding="utf-8", newline="") as file:
        written = list(csv.reader(file))
    assert written == [["First Name", "Phone", "Email", "record", "reason", "detail"],
                       ["Bob", "12", "bob@example.com", "2", "invalid_phone", ""],
                       ["Cy, Jr", "(415) 555-2673", "cy@", "3", "invalid_email", ""]]
    # Fixed and fed back, the rejected rows go through.
    fixed = write_csv([written[0][:3], ["Bob", "(415) 555-2682", "bob@example.com"],
                       ["Cy, Jr", "(415) 555-2673", "cy@example.com"]], name="fixed.csv")
    report = await streamer.run(fixed, settings_for(None, tmp_path / "again", dry_run=True))
    assert report.outcomes["accepted"] == 2
