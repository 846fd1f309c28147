"""Every field a calling list holds: mapped with --map, checked by type, several phones a
contact, time zones and mobiles from the number, all stored by the sandbox as uploaded."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import streamer
from streamer import Sandbox
from streamer.errors import ConfigError
from streamer.settings import ListFields
from tests.cli_runs import cli_env, one_line, upload
from tests.conftest import WriteCsv
from tests.support import assert_exact, read_outcomes, settings_for, stored_records

CRM_HEADER = ["Customer No", "Given Name", "Family Name", "Mobile", "Home Phone", "E-mail",
              "Street", "Town", "State", "ZIP", "Time Zone", "Balance", "Segment"]
CRM_ROWS = [
    ["C001", " Ann ", "Lee", "(415) 555-2671", "212-555-0100", "Ann.Lee@Example.COM",
     "1 Main St", "Boston", "MA", "02134", "eastern", "1,234.50", "Café Crème"],
    ["C002", "Bob", "Roe", "", "617 555 0199", "bob@example.com", "2 Elm St", "Holtsville",
     "NY", "00501", "Central", "12.00", "Über"],
    ["C003", "Cy", "Poe", "12", "(646) 555-0142", "", "3 Oak Ave", "Austin", "TX", "73301",
     "", "0", "Basic"],
    ["C004", "Di", "Moe", "415.555.0188", "999", "di@example.com", "", "", "", "", "",
     "-5.10", "Ñandú"],
]
CRM_MAP = (("ExternalId", ("Customer No",)), ("FirstName", ("Given Name",)),
           ("LastName", ("Family Name",)), ("PhoneNumber", ("Mobile", "Home Phone")),
           ("Email", ("E-mail",)), ("Address", ("Street",)), ("City", ("Town",)),
           ("State", ("State",)), ("Zip", ("ZIP",)), ("TimeZone", ("Time Zone",)),
           ("custom:Balance", ("Balance",)), ("custom:Segment", ("Segment",)))
CRM_EXPECTED = {
    "C001": {"phoneNumber": "+14155552671", "Home Phone": "+12125550100", "firstName": "Ann",
             "email": "ann.lee@example.com", "zip": "02134", "timeZone": "Eastern",
             "Balance": "1,234.50", "Segment": "Café Crème", "city": "Boston"},
    "C002": {"phoneNumber": "+16175550199", "Home Phone": "", "zip": "00501",
             "timeZone": "Central", "Balance": "12.00", "Segment": "Über", "state": "NY"},
    "C003": {"phoneNumber": "+16465550142", "Home Phone": "", "email": "", "zip": "73301",
             "address": "3 Oak Ave"},
    "C004": {"phoneNumber": "+14155550188", "Home Phone": "", "Balance": "-5.10",
             "Segment": "Ñandú", "lastName": "Moe"},
}


def by_id(records: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {record["externalId"]: record for record in records}


def assert_crm_records(records: list[dict[str, str]]) -> None:
    stored = by_id(records)
    assert set(stored) == set(CRM_EXPECTED)
    for external_id, expected in CRM_EXPECTED.items():
        assert {key: stored[external_id][key] for key in expected} == expected, external_id
    # Every mapped field is a key of every record, filled or not.
    keys = {"externalId", "phoneNumber", "firstName", "lastName", "address", "city", "state",
            "zip", "timeZone", "email", "Home Phone", "Balance", "Segment"}
    assert all(set(record) == keys for record in records)


async def test_a_crm_file_mapped_field_by_field_is_stored_whole(
        sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([CRM_HEADER, *CRM_ROWS])
    out = tmp_path / "out"
    report = await streamer.run(path, settings_for(sandbox, out, field_map=CRM_MAP))
    assert report.outcomes["uploaded"] == 4
    await assert_exact(sandbox, out)
    assert_crm_records(await stored_records(sandbox, report.list_id or 0))
    fields = report.fields
    assert fields["mapped"]["PhoneNumber"] == "Mobile, Home Phone"
    assert fields["mapped"]["custom:Balance"] == "Balance"
    # C003's mobile "12" and C004's home "999" were left out, not reasons to reject.
    assert fields["numbers_left_out"] == 2
    assert fields["numbers_left_out_by_field"] == {"Home Phone": 1, "Mobile": 1}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<td>custom:Balance</td><td>Balance</td>" in page
    assert "<td>numbers left out: Home Phone</td><td>1</td>" in page


async def test_the_same_mapping_from_the_command_line_gives_the_same_records(
        sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([CRM_HEADER, *CRM_ROWS])
    flags = [flag for target, columns in CRM_MAP
             for flag in ("--map", f"{target}={','.join(columns)}")]
    done = await upload(cli_env(sandbox), path, tmp_path / "out", "--list", "crm-cli", *flags)
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert_crm_records(await stored_records(sandbox, report["list_id"]))


async def test_the_same_mapping_from_a_campaign_file_gives_the_same_records(
        sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([CRM_HEADER, *CRM_ROWS])
    lines = ['list = "crm-from-toml"', "[map]"] + [
        f'"{target}" = {json.dumps(list(columns)) if len(columns) > 1 else json.dumps(columns[0])}'
        for target, columns in CRM_MAP]
    campaign = tmp_path / "campaign.toml"
    campaign.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    done = await upload(cli_env(sandbox), path, out, "--config", str(campaign))
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads((out / "report.json").read_text())
    assert report["list_name"] == "crm-from-toml"
    assert_crm_records(await stored_records(sandbox, report["list_id"]))


async def test_custom_fields_may_go_in_custom_field_mappings(
        sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([CRM_HEADER, *CRM_ROWS])
    fields = ListFields(custom_fields_as="custom-field-mappings")
    report = await streamer.run(path, settings_for(sandbox, tmp_path / "out",
                                                   field_map=CRM_MAP, list_fields=fields))
    assert_crm_records(await stored_records(sandbox, report.list_id or 0))


TYPED_HEADER = ["phone", "Score", "Priority", "Stale", "Expires", "Call At", "Compliance",
                "Confirm", "Zone"]
TYPED_MAP = (("Score", ("Score",)), ("Priority", ("Priority",)),
             ("CallRequestStaleMinutes", ("Stale",)), ("ExpirationDate", ("Expires",)),
             ("CallRequestDateTime", ("Call At",)), ("Compliance", ("Compliance",)),
             ("ConfirmationRequired", ("Confirm",)), ("TimeZone", ("Zone",)))
GOOD = ["10", "-2", "+30", "2026-12-31", "2026-12-31T09:30:00", "Yes", "0", "Pacific"]


@pytest.mark.parametrize(("column", "bad", "reason"), [
    (1, "1,5", "invalid_score"),
    (2, "high", "invalid_priority"),
    (3, "30.5", "invalid_call_request_stale_minutes"),
    (4, "31/12/2026", "invalid_expiration_date"),
    (5, "tomorrow 9am", "invalid_call_request_date_time"),
    (6, "maybe", "invalid_compliance"),
    (7, "2", "invalid_confirmation_required"),
    (8, "Mars Standard", "invalid_time_zone"),
])
async def test_each_typed_field_rejects_what_cxone_would_refuse(
        tmp_path: Path, write_csv: WriteCsv, column: int, bad: str, reason: str) -> None:
    good_row = ["(415) 555-2671", *GOOD]
    bad_row = ["(415) 555-2672", *GOOD]
    bad_row[column] = bad
    blank_row = ["(415) 555-2673", *[""] * len(GOOD)]  # blank typed fields are fine
    path = write_csv([TYPED_HEADER, good_row, bad_row, blank_row])
    out = tmp_path / "out"
    await streamer.run(path, settings_for(None, out, dry_run=True, field_map=TYPED_MAP))
    assert [(o["outcome"], o["reason"]) for o in read_outcomes(out)] == [
        ("accepted", ""), ("rejected", reason), ("accepted", "")]
    uploaded = read_batches(out)
    assert uploaded[0]["Score"] == "10" and uploaded[0]["TimeZone"] == "Pacific"
    assert uploaded[0]["CallRequestStaleMinutes"] == "+30"


def read_batches(out: Path) -> list[dict[str, str]]:
    """The rows of a dry run's would-be upload files, in order."""
    rows: list[dict[str, str]] = []
    for path in sorted((out / "batches").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as file:
            rows += list(csv.DictReader(file))
    return rows


async def test_several_phone_columns_take_the_first_valid_number(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([
        ["id", "Mobile", "Home", "Work"],
        ["a", "", "(415) 555-2671", "(212) 555-0100"],  # no mobile: home is the primary
        ["b", "555", "nope", "(212) 555-0101"],  # two bad numbers left out, work dialled
        ["c", "x", "", "1"],  # numbers, none valid
        ["d", "", " ", ""],  # no number at all
        ["e", "(415) 555-2672", "(415) 555-2672", "(646) 555-0142"],  # home repeats mobile
    ])
    out = tmp_path / "out"
    report = await streamer.run(path, settings_for(
        None, out, dry_run=True, field_map=(("PhoneNumber", ("Mobile", "Home", "Work")),
                                            ("ExternalId", ("id",)))))
    assert [(o["outcome"], o["reason"]) for o in read_outcomes(out)] == [
        ("accepted", ""), ("accepted", ""), ("rejected", "invalid_phone"),
        ("rejected", "missing_phone"), ("accepted", "")]
    rows = {row["ExternalId"]: row for row in read_batches(out)}
    assert [rows["a"][f] for f in ("PhoneNumber", "Home", "Work")] == [
        "+14155552671", "", "+12125550100"]
    assert [rows["b"][f] for f in ("PhoneNumber", "Home", "Work")] == ["+12125550101", "", ""]
    assert [rows["e"][f] for f in ("PhoneNumber", "Home", "Work")] == [
        "+14155552672", "", "+16465550142"]
    assert report.fields["numbers_left_out_by_field"] == {"Home": 2, "Mobile": 1}
    with open(out / "notes.csv", encoding="utf-8", newline="") as file:
        notes = {row["external_id"]: row["notes"] for row in csv.DictReader(file)}
    assert notes == {"b": "Mobile left out: not a valid number; "
                          "Home left out: not a valid number",
                     "e": "Home left out: the same number again"}


async def test_every_number_that_would_be_dialled_is_checked_against_do_not_call(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("+1 212 555 0100\n(415) 555-2672\n")
    path = write_csv([
        ["id", "Mobile", "Home"],
        ["a", "(415) 555-2671", "(212) 555-0100"],  # the home number is listed: left out
        ["b", "(415) 555-2672", "(212) 555-0109"],  # the primary is listed: rejected
    ])
    out = tmp_path / "out"
    report = await streamer.run(path, settings_for(
        None, out, dry_run=True, dnc_file=dnc,
        field_map=(("PhoneNumber", ("Mobile", "Home")), ("ExternalId", ("id",)))))
    assert [(o["outcome"], o["reason"]) for o in read_outcomes(out)] == [
        ("accepted", ""), ("rejected", "do_not_call")]
    assert read_batches(out)[0]["Home"] == ""
    assert report.fields["numbers_left_out_by_field"] == {"Home": 1}


@pytest.mark.parametrize("workers", [0, 2])
async def test_every_number_a_record_dials_is_dialled_once_and_leads_to_its_contact(
        tmp_path: Path, write_csv: WriteCsv, workers: int) -> None:
    path = write_csv([
        ["id", "Mobile", "Home"],
        ["a", "(415) 555-2671", "(212) 555-0100"],
        ["b", "(646) 555-0142", "(212) 555-0100"],  # a's home again: left out of b
        ["c", "(212) 555-0100", ""],  # its only number is a's home: a duplicate of a
        ["d", "(415) 555-2671", "(718) 555-0123"],  # a's mobile: a duplicate, with a new home
        ["e", "(718) 555-0123", ""],  # the duplicate d's home: a duplicate of a, not of d
        ["f", "(312) 555-0177", "(646) 555-0142"],  # b's mobile as a home: left out of f
    ])
    out = tmp_path / "out"
    report = await streamer.run(path, settings_for(
        None, out, dry_run=True, workers=workers,
        field_map=(("PhoneNumber", ("Mobile", "Home")), ("ExternalId", ("id",)))))
    assert [(o["outcome"], o["reason"], o["duplicate_of"]) for o in read_outcomes(out)] == [
        ("accepted", "", ""), ("accepted", "", ""), ("duplicate", "same_phone", "1"),
        ("duplicate", "same_phone", "1"), ("duplicate", "same_phone", "1"),
        ("accepted", "", "")]
    rows = {row["ExternalId"]: row for row in read_batches(out)}
    assert [(rows[i]["PhoneNumber"], rows[i]["Home"]) for i in "abf"] == [
        ("+14155552671", "+12125550100"), ("+16465550142", ""), ("+13125550177", "")]
    with open(out / "notes.csv", encoding="utf-8", newline="") as file:
        notes = {row["external_id"]: row["notes"] for row in csv.DictReader(file)}
    assert notes == {"b": "Home left out: dialled already for record 1",
                     "f": "Home left out: dialled already for record 2"}
    assert report.fields["numbers_left_out_by_field"] == {"Home": 2}


async def test_the_record_limit_counts_every_uploaded_field(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([["phone", "notes"], ["(415) 555-2671", "n" * 400],
                      ["(415) 555-2672", "n" * 500]])
    out = tmp_path / "out"
    await streamer.run(path, settings_for(None, out, dry_run=True,
                                          field_map=(("Notes", ("notes",)),)))
    assert [o["reason"] for o in read_outcomes(out)] == ["", "record_too_long"]


async def test_time_zones_are_filled_where_the_number_has_one_and_mobiles_marked(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([
        ["phone", "zone"],
        ["+44 20 7946 0958", ""],  # London landline: Europe/London only
        ["+44 7911 123456", ""],  # UK mobile: London, Jersey, Guernsey, Isle of Man
        ["(212) 555-0100", ""],  # New York
        ["(415) 555-2671", "pacific"],  # written: kept, in the table's spelling
    ])
    out = tmp_path / "out"
    table = (("GMT", ("Europe/London",)), ("Eastern", ("America/New_York",)),
             ("Pacific", ("America/Los_Angeles",)))
    report = await streamer.run(path, settings_for(
        None, out, dry_run=True, time_zone_from_phone=True, mark_mobiles=True,
        field_map=(("TimeZone", ("zone",)),), list_fields=ListFields(time_zones=table)))
    rows = read_batches(out)
    assert [row["TimeZone"] for row in rows] == ["GMT", "", "Eastern", "Pacific"]
    # A UK mobile is a mobile; a North American number may be either, so never marked.
    assert [row["Compliance"] for row in rows] == ["", "true", "", ""]
    assert (report.fields["time_zones_filled"], report.fields["time_zones_not_filled"],
            report.fields["mobiles_marked"]) == (2, 1, 1)


async def test_fields_streamer_fills_are_uploaded_without_a_column(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([["phone"], ["(212) 555-0100"]])
    out = tmp_path / "out"
    report: Any = await streamer.run(path, settings_for(None, out, dry_run=True,
                                                        time_zone_from_phone=True))
    assert read_batches(out)[0]["TimeZone"] == "Eastern"
    assert report.fields["mapped"]["TimeZone"] == "(filled by streamer)"


def test_an_unknown_field_or_a_field_twice_stops_at_the_settings() -> None:
    with pytest.raises(ConfigError, match=r"unknown list field 'Postcode'.*Zip.*custom:NAME"):
        settings_for(None, Path("out"), field_map=(("Postcode", ("zip",)),))
    with pytest.raises(ConfigError, match="only PhoneNumber takes several"):
        settings_for(None, Path("out"), field_map=(("Email", ("a", "b")),))
    with pytest.raises(ConfigError, match=r"mapped twice \(--map / Settings.field_map\)"):
        settings_for(None, Path("out"), field_map=(("zip", ("a",)), ("Zip", ("b",))))


async def test_unknown_fields_and_columns_stop_the_cli_in_one_line(
        sandbox: Sandbox, tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([["phone", "zip"], ["(415) 555-2671", "02134"]])
    env = cli_env(sandbox)
    done = await upload(env, path, tmp_path / "a", "--map", "Postcode=zip")
    assert done.returncode == 2
    assert "unknown list field 'Postcode'" in one_line(done)
    done = await upload(env, path, tmp_path / "b", "--map", "Zip=Postal Code")
    assert done.returncode == 2
    line = one_line(done)
    assert "no column 'Postal Code' for Zip (--map" in line and "phone, zip" in line
    done = await upload(env, path, tmp_path / "c", "--map", "Zip")
    assert done.returncode == 2
    assert "NAME=VALUE" in done.stderr.decode()
