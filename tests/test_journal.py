"""The journal's own exports equal what csv.writer would write."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.csv_text import neutralize
from streamer.records import Outcome, OutcomeKind
from streamer.run import Journal

IDS = st.text(st.sampled_from('ab1,"\r\n=+-@ \t'), max_size=8)


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
        assert "".join(journal.outcome_lines(chunk=3)) == expected.getvalue()
    finally:
        journal.close()
