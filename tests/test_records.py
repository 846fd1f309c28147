from __future__ import annotations

from pathlib import Path

from streamer.records import REASON_HELP, ReasonCode, Row

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_reason_code_is_explained_in_code_and_in_the_readme() -> None:
    for reason in ReasonCode:
        assert REASON_HELP[reason]
        assert f"| `{reason.value}` |" in README, f"README lacks {reason.value}"


def test_a_rows_repr_shows_no_personal_data() -> None:
    row = Row(7, ["+14155552671", "ann@example.com"])
    row.phone, row.email = "+14155552671", "ann@example.com"
    assert "4155552671" not in repr(row) and "ann" not in repr(row)
