"""report.json's account of a run: when, what file and how it was read, outcomes by
country, CXone's own count of the list, and the few records the page shows."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import streamer
from streamer import Sandbox
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for

SAMPLE = Path(__file__).parent.parent / "examples" / "contacts.csv"


def sheet_rows(path: Path, delimiter: str = ",") -> dict[int, int]:
    """Each record's row in a spreadsheet, counted independently of streamer: every line
    csv yields is a row (a blank one too), the header is row 1."""
    with open(path, encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file, delimiter=delimiter))
    records = [at for at, fields in enumerate(rows[1:], start=2) if fields]
    return dict(enumerate(records, start=1))


async def test_an_upload_reports_when_what_and_where_by_country(
        sandbox: Sandbox, tmp_path: Path) -> None:
    before = datetime.now().astimezone()
    report = await streamer.run(SAMPLE, settings_for(sandbox, tmp_path / "out",
                                                     batch_size=100))
    after = datetime.now().astimezone()
    data: dict[str, Any] = json.loads((tmp_path / "out" / "report.json").read_text())
    started, finished = (datetime.fromisoformat(data[k]) for k in ("started_at", "finished_at"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", data["started_at"])
    assert before.replace(microsecond=0) <= started <= finished <= after
    assert abs((finished - started).total_seconds() - data["duration_s"]) <= 1
    assert data["input_name"] == "contacts.csv"
    assert data["input_bytes"] == SAMPLE.stat().st_size
    assert data["reading"]["encoding"] == "utf-8" and data["reading"]["delimiter"] == ","
    phases = [phase["phase"] for phase in data["phases"]]
    assert phases[0] == "reading" and phases[-1] == "writing outputs"
    assert data["phases"][0]["started_at"][:19] == data["started_at"][:19]

    countries: dict[str, dict[str, int]] = data["countries"]
    assert set(countries) == {"US", "GB", "CA", "unknown"}
    assert sum(sum(c.values()) for c in countries.values()) == data["rows_read"] == 990
    for kind in ("uploaded", "duplicate", "rejected", "failed"):
        assert sum(c[kind] for c in countries.values()) == data["outcomes"][kind]
    assert all("accepted" not in c for c in countries.values())
    assert countries["unknown"]["uploaded"] == 0  # a row uploaded has a number's country

    verification = data["verification"]
    assert verification["list_total_records"] == report.outcomes["uploaded"] == 828

    rows = sheet_rows(SAMPLE)
    assert data["reason_sample_rows"] == {
        reason: rows[record] for reason, record in data["reason_samples"].items()}
    assert any(rows[r] != r + 1 for r in data["reason_samples"].values())  # blank lines

    outcomes = {int(o["record"]): o for o in read_outcomes(tmp_path / "out")}
    examples = data["duplicate_examples"]
    first_duplicates = sorted(r for r, o in outcomes.items() if o["outcome"] == "duplicate")
    assert [e["record"] for e in examples] == first_duplicates[:5]
    with open(SAMPLE, encoding="utf-8", newline="") as file:
        lines = list(csv.reader(file))  # a spreadsheet's rows, from 1: lines[row - 1]
    for example in examples:
        assert example["duplicate_of"] == int(outcomes[example["record"]]["duplicate_of"])
        assert example["reason"] == outcomes[example["record"]]["reason"]
        for side, record in (("duplicate", example["record"]),
                             ("kept", example["duplicate_of"])):
            shown, row = example[side], dict(zip(lines[0], lines[rows[record] - 1],
                                                 strict=True))
            assert shown["sheet_row"] == rows[record]
            digits = re.sub(r"\D", "", row["Phone Number"])
            assert shown["phone"].endswith(digits[-4:]) and digits not in shown["phone"]
            assert "*" in shown["phone"] and "***@" in shown["email"]
            assert row["E-mail"].strip() not in json.dumps(shown)
            assert row["Last Name"].strip() not in shown["name"]


async def test_spreadsheet_rows_count_blank_lines_and_multi_line_fields(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([
        ["Name", "Phone", "Country"], [],
        ["Ann Lee", "+14155550101", "US"], [], [],
        ["Bob\nMartin", "+14155550101", "US"],  # a duplicate, its name on two lines
        ["Cy", "not a number", "FR"], [],
        ["Di", "+442079460958", "GB"],
    ], delimiter=";")
    await streamer.run(path, settings_for(None, tmp_path / "out", dry_run=True))
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    # Rows as a spreadsheet shows them: header 1, blank 2, Ann 3, blank 4-5, Bob 6, Cy 7.
    assert data["reason_sample_rows"] == {"same_phone": 6, "invalid_phone": 7}
    assert sheet_rows(path, ";") == {1: 3, 2: 6, 3: 7, 4: 9}
    assert data["reading"]["delimiter"] == ";"
    assert data["countries"] == {
        "US": {"accepted": 1, "duplicate": 1, "rejected": 0, "failed": 0},
        "FR": {"accepted": 0, "duplicate": 0, "rejected": 1, "failed": 0},
        "GB": {"accepted": 1, "duplicate": 0, "rejected": 0, "failed": 0}}
    [pair] = data["duplicate_examples"]
    assert (pair["duplicate"]["sheet_row"], pair["kept"]["sheet_row"]) == (6, 3)
    assert pair["duplicate"]["phone"] == pair["kept"]["phone"] == "*******0101"
