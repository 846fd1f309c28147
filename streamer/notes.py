"""What was done to a kept row's fields beyond normalising (a secondary number left out,
a time zone filled, a mobile marked, a country read by the number), as notes in the row's
``detail``; and how a run's notes are counted for the report. Written and read here only.
"""

from __future__ import annotations

from typing import Any

from streamer.records import Row


class Note:
    """What was done to a kept row's fields, in its ``detail`` (several joined by "; "),
    and how a run's notes are counted for the report. Written and read here only."""

    SEPARATOR = "; "
    _LEFT_OUT = " left out: "
    _FILLED = "TimeZone filled from the number: "
    _NOT_FILLED = "TimeZone not filled: "
    MOBILE = "Compliance set: a mobile number"
    _COUNTRY = "Country "
    _NOT_UNDERSTOOD = " not understood: read by the number's +code"

    @staticmethod
    def left_out(field: str, why: str) -> str:
        """A secondary number not uploaded, e.g. ``Home Phone left out: not a number``."""
        return f"{field}{Note._LEFT_OUT}{why}"

    @staticmethod
    def time_zone_filled(name: str) -> str:
        return Note._FILLED + name

    @staticmethod
    def time_zone_not_filled(why: str) -> str:
        return Note._NOT_FILLED + why

    @staticmethod
    def country_not_understood(text: str) -> str:
        """``Country 'Xyz' not understood: read by the number's +code``."""
        shown = text[:40].replace(";", ",")  # the separator stays the notes' own
        return f"{Note._COUNTRY}{shown!r}{Note._NOT_UNDERSTOOD}"

    @staticmethod
    def add(row: Row, note: str) -> None:
        row.detail = f"{row.detail}{Note.SEPARATOR}{note}" if row.detail else note

    @staticmethod
    def count(details: list[tuple[str, int]]) -> dict[str, Any]:
        """Kept rows' notes (each distinct detail with its number of rows), counted:
        numbers left out (by field), time zones filled and not, mobiles marked, rows
        whose country was not understood and was read by the number."""
        left_out: dict[str, int] = {}
        filled = not_filled = mobiles = by_number = 0
        for detail, rows in details:
            for note in detail.split(Note.SEPARATOR):
                field, found, _ = note.partition(Note._LEFT_OUT)
                if found:
                    left_out[field] = left_out.get(field, 0) + rows
                elif note.startswith(Note._FILLED):
                    filled += rows
                elif note.startswith(Note._NOT_FILLED):
                    not_filled += rows
                elif note == Note.MOBILE:
                    mobiles += rows
                elif note.startswith(Note._COUNTRY) and note.endswith(Note._NOT_UNDERSTOOD):
                    by_number += rows
        return {"numbers_left_out": sum(left_out.values()),
                "numbers_left_out_by_field": dict(sorted(left_out.items())),
                "time_zones_filled": filled, "time_zones_not_filled": not_filled,
                "mobiles_marked": mobiles, "countries_read_by_number": by_number}
