"""outcomes.csv, which the journal writes as outcomes come, equals what csv.writer would
write; a full disk or a damaged file is an OutputError that keeps it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.csv_text import neutralize
from streamer.errors import OutputError
from streamer.records import Outcome, OutcomeKind
from streamer.run import Journal
from tests.local_disk import small_disk

IDS = st.text(st.sampled_from('ab1,"\r\n=+-@ \t'), max_size=8)


HEADER = "record,outcome,reason,duplicate_of,external_id\r\n"


@settings(max_examples=50, deadline=None)
@given(st.lists(IDS, min_size=1, max_size=20))
def test_outcome_lines_are_csv_with_every_id_neutralised(
    tmp_path_factory: pytest.TempPathFactory, ids: list[str],
) -> None:
    path = tmp_path_factory.mktemp("journal") / "journal.sqlite3"
    journal = Journal(path)
    try:
        outcomes = [Outcome(n, OutcomeKind.ACCEPTED, None, None, i) if n % 2 else
                    Outcome(n, OutcomeKind.DUPLICATE, "same_phone", 1, i)
                    for n, i in enumerate(ids, 1)]
        journal.record_outcomes(outcomes)
        expected = io.StringIO()
        csv.writer(expected).writerows(
            (o.record, o.outcome.value, o.reason or "",
             "" if o.duplicate_of is None else o.duplicate_of, neutralize(o.external_id))
            for o in outcomes)
        # Written as they came (all in order here), before the run's end puts it in place.
        part = path.with_name("outcomes.csv.part")
        assert part.read_bytes().decode() == HEADER + expected.getvalue()
        journal.finish_outcomes()
        assert not part.exists()
        assert path.with_name("outcomes.csv").read_bytes().decode() == HEADER + expected.getvalue()
    finally:
        journal.close()


def _uploaded(records: range) -> list[Outcome]:
    return [Outcome(n, OutcomeKind.UPLOADED, None, None, f"id-{n:08d}" * 4) for n in records]


def test_a_full_disk_mid_run_is_an_output_error_and_the_journal_resumes_exactly(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk", size="128k") as disk:
        path = disk.path / "journal.sqlite3"
        journal, _ = Journal.open(path, fingerprint="f", settings_key="s", restart=False)
        committed = 0
        with pytest.raises(OutputError, match=f"no space left to write {path}: free space"):
            while True:
                journal.record_outcomes(_uploaded(range(committed + 1, committed + 101)))
                committed += 100
        assert committed > 0
        journal.close()

        disk.remount("size=64m")
        journal, resumed = Journal.open(path, fingerprint="f", settings_key="s",
                                        restart=False)
        try:
            assert resumed
            # Exactly the batches whose transaction committed; the failed one left no trace.
            assert journal.counts().total == committed
            journal.record_outcomes(_uploaded(range(committed + 1, committed + 101)))
            assert journal.counts().total == committed + 100 and journal.repeated == 0
        finally:
            journal.close()


@pytest.mark.parametrize("damage", [b"not a journal " * 8, None], ids=["garbage", "truncated"])
def test_a_damaged_journal_is_an_output_error_naming_restart_and_is_kept(
    tmp_path: Path, damage: bytes | None,
) -> None:
    path = tmp_path / "journal.sqlite3"
    journal, _ = Journal.open(path, fingerprint="f", settings_key="s", restart=False)
    journal.record_outcomes(_uploaded(range(1, 2001)))
    journal.close()
    with open(path, "r+b") as file:
        if damage is None:
            file.truncate(path.stat().st_size // 2)
        else:
            file.write(damage)
    damaged = path.read_bytes()
    with pytest.raises(OutputError, match=rf"the journal {path} is damaged \(.*\): use "
                       "--restart to discard it"):
        journal, _ = Journal.open(path, fingerprint="f", settings_key="s", restart=False)
        journal.resume_filter()  # a truncated file may open, and fail on the first read
    journal.close()
    assert path.read_bytes() == damaged
    fresh, resumed = Journal.open(path, fingerprint="f", settings_key="s", restart=True)
    assert not resumed and fresh.counts().total == 0
    fresh.remove()
