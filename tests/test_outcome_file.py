"""outcomes.csv written as the run goes, and the journal that keeps it in step: plain rows
leave no entry of their own, only the range written; rows decided out of turn wait for
the rows before them; a kill leaves a file a resumed run goes on from, to the byte."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from streamer.errors import ConfigError, OutputError
from streamer.records import Outcome, OutcomeKind, ReasonCode, Row
from streamer.run import Journal
from streamer.run._outcome_file import HEADER, outcome_line


def _open(path: Path, *, restart: bool = False) -> tuple[Journal, bool]:
    return Journal.open(path, fingerprint="f", settings_key="s", restart=restart)


def _plain(record: int, kind: OutcomeKind = OutcomeKind.ACCEPTED) -> Outcome:
    return Outcome(record, kind, None, None, f"id-{record}", (), "", "US")


def _rejected(record: int) -> Outcome:
    return Outcome(record, OutcomeKind.REJECTED, ReasonCode.INVALID_PHONE, None,
                   f"id-{record}", ("a", "b"), "", "US")


def _lines(outcomes: list[Outcome]) -> bytes:
    return HEADER + "".join(
        outcome_line(o.record, o.outcome.value, o.reason, o.duplicate_of, o.external_id)
        for o in sorted(outcomes)).encode()


def _table(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


def _rows(first: int, last: int) -> list[Row]:
    rows = []
    for record in range(first, last + 1):
        row = Row(record, ["x"])
        row.external_id, row.upload = f"id-{record}", f"id-{record},x"
        rows.append(row)
    return rows


def test_consecutive_plain_rows_are_kept_as_the_range_written_and_a_tally(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal, _ = _open(path)
    outcomes = [_rejected(n) if n in (10, 600) else _plain(n) for n in range(1, 1001)]
    journal.record_outcomes(outcomes[:500])
    journal.record_outcomes(outcomes[500:])
    part = tmp_path / "outcomes.csv.part"
    assert part.read_bytes() == _lines(outcomes)  # complete while the run goes on
    # One entry per row that needs one (rejected.csv reads their fields), none for the rest.
    assert _table(path, "SELECT record FROM outcomes ORDER BY record") == [(10,), (600,)]
    assert dict(_table(path, "SELECT key, value FROM meta WHERE key LIKE 'outcomes_%'")) == {
        "outcomes_written": "1000", "outcomes_bytes": str(part.stat().st_size)}
    assert _table(path, "SELECT outcome, country, rows FROM tally") == [("accepted", "US", 998)]
    assert journal.settled() == [(1, 1000)]
    counts = journal.counts()
    assert counts.by_kind == {"rejected": 2, "accepted": 998} and counts.total == 1000
    assert counts.reason_samples == {"invalid_phone": 10}
    assert journal.countries(["accepted", "rejected"]) == {
        "US": {"accepted": 998, "rejected": 2}}
    assert journal.repeated == 0
    journal.record_outcomes([_plain(5), _rejected(999)])  # offered twice: counted, not written
    assert journal.repeated == 2 and part.read_bytes() == _lines(outcomes)
    journal.close()


def test_uploaded_rows_decided_out_of_turn_wait_in_sent_and_a_kill_loses_no_line(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal, _ = _open(path)
    journal.record_sending(1, _rows(1, 10))
    journal.record_sending(2, _rows(11, 20))
    later = [_plain(n, OutcomeKind.UPLOADED) for n in range(11, 21)]
    journal.record_outcomes(later)  # batch 2's job completed first
    assert journal.sent_count() == 20 and _table(path, "SELECT * FROM outcomes") == []
    assert (tmp_path / "outcomes.csv.part").read_bytes() == HEADER
    journal.close()  # a kill: the waiting lines were in memory only

    journal, resumed = _open(path)
    assert resumed and journal.settled() == [(1, 20)]  # both batches are checked in the list
    first = [_plain(n, OutcomeKind.UPLOADED) for n in range(1, 11)]
    journal.record_outcomes(first[5:])  # read-back's word, out of turn again
    journal.record_outcomes(first[:5])
    journal.record_outcomes(later)
    assert journal.sent_count() == 0 and journal.repeated == 0
    assert (tmp_path / "outcomes.csv.part").read_bytes() == _lines(first + later)
    assert journal.counts().by_kind == {"uploaded": 20}
    journal.close()


def test_a_row_decided_out_of_turn_that_nothing_else_keeps_gets_an_entry(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal, _ = _open(path)
    journal.record_outcomes([_plain(2), _rejected(4)])
    assert _table(path, "SELECT record, outcome FROM outcomes ORDER BY record") == [
        (2, "accepted"), (4, "rejected")]
    journal.close()

    journal, _ = _open(path)
    assert journal.settled() == [(2, 2), (4, 4)]
    keep = journal.resume_filter()
    assert [row.record for row in keep([Row(n, []) for n in range(1, 6)])] == [1, 3, 5]
    journal.record_outcomes([_plain(1), _plain(3), _plain(5)])
    expected = [_plain(1), _plain(2), _plain(3), _rejected(4), _plain(5)]
    assert (tmp_path / "outcomes.csv.part").read_bytes() == _lines(expected)
    journal.finish_outcomes()
    assert (tmp_path / "outcomes.csv").read_bytes() == _lines(expected)
    assert journal.counts().total == 5
    journal.close()


def test_bytes_past_the_committed_length_are_cut_and_a_file_cut_short_is_refused(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    part = tmp_path / "outcomes.csv.part"
    journal, _ = _open(path)
    journal.record_outcomes([_plain(n) for n in range(1, 4)])
    journal.close()
    committed = part.read_bytes()
    with open(part, "ab") as file:
        file.write(b"4,accepted,,,id-4\r\n5,acc")  # written, then killed before the commit
    journal, _ = _open(path)
    assert part.read_bytes() == committed
    journal.close()

    part.write_bytes(committed[:-5])
    with pytest.raises(OutputError, match=r"outcomes\.csv\.part is missing or shorter than the "
                       "journal says .*use --restart"):
        _open(path)
    part.unlink()
    with pytest.raises(OutputError, match="is missing or shorter"):
        _open(path)
    journal, resumed = _open(path, restart=True)
    assert not resumed and part.read_bytes() == HEADER
    journal.close()


def test_a_run_killed_after_outcomes_csv_was_put_in_place_finishes_again(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal, _ = _open(path)
    outcomes = [_plain(n) for n in range(1, 4)]
    journal.record_outcomes(outcomes)
    journal.finish_outcomes()
    journal.close()  # killed before the journal was removed
    journal, resumed = _open(path)
    assert resumed and journal.settled() == [(1, 3)]
    journal.finish_outcomes()
    assert (tmp_path / "outcomes.csv").read_bytes() == _lines(outcomes)
    assert not (tmp_path / "outcomes.csv.part").exists()
    journal.remove()


def test_a_journal_of_the_previous_format_is_refused_as_it_is_until_restart(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as db:  # format 5: one outcomes row per record
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE outcomes (record INTEGER PRIMARY KEY, outcome TEXT NOT NULL, "
            "reason TEXT, duplicate_of INTEGER, external_id TEXT NOT NULL, fields TEXT, "
            "detail TEXT NOT NULL DEFAULT '', country TEXT NOT NULL DEFAULT '');"
            "INSERT INTO meta VALUES ('fingerprint', 'f'), ('settings', 's');"
            "INSERT INTO outcomes (record, outcome, external_id) VALUES (1, 'uploaded', 'a');"
            "PRAGMA user_version = 5;")
    tables = "SELECT name FROM sqlite_master ORDER BY name"
    before = _table(path, tables), _table(path, "SELECT * FROM outcomes")
    with pytest.raises(ConfigError, match="holds an unfinished run of another streamer "
                       "version; use --restart to discard it"):
        _open(path)
    assert (_table(path, tables), _table(path, "SELECT * FROM outcomes")) == before
    assert not (tmp_path / "outcomes.csv.part").exists()
    journal, resumed = _open(path, restart=True)
    assert not resumed and journal.counts().total == 0
    journal.remove()
