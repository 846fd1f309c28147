"""The mapped fields beyond the base four: each value checked where CXone would refuse
it, then uploaded as written (trimmed; a ZIP keeps its zeros, ``1,234.50`` stays text).

Numbers are the exception: every phone field is read to E.164 like the primary, and a
number that cannot be read is left out with a note, never a reason to reject the row.
Optionally the primary number fills an empty TimeZone and marks mobiles (``Compliance``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import time_zones_for_number

from streamer.cleaning._phones import SCIENTIFIC_NOTE, in_scientific_notation, read_phone
from streamer.csv_text import neutralize
from streamer.fields import ColumnMap, FieldKind
from streamer.notes import Note
from streamer.records import ReasonCode, Row
from streamer.settings import TimeZoneTable

_INTEGER = re.compile(r"[+-]?\d+")
_BOOLEANS = frozenset({"true", "false", "yes", "no", "y", "n", "t", "f", "1", "0"})
_CACHE_SIZE = 1 << 16


def _is_date(text: str) -> bool:
    """ISO 8601 only: ``03/04/2026`` is March or April depending on who wrote it."""
    try:
        (date if len(text) <= 10 else datetime).fromisoformat(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=_CACHE_SIZE)
def _number_facts(e164: str) -> tuple[tuple[str, ...], bool]:
    """The IANA zones libphonenumber gives a number, and whether it is surely a mobile
    (NANP numbers are FIXED_LINE_OR_MOBILE: libphonenumber cannot tell, nor can we)."""
    number = phonenumbers.parse(e164)
    zones = tuple(zone for zone in time_zones_for_number(number) if zone != "Etc/Unknown")
    return zones, phonenumbers.number_type(number) == PhoneNumberType.MOBILE


class FieldValues:
    """Fills ``row.extra`` for one file's mapping; made once per process."""

    def __init__(self, columns: ColumnMap, time_zones: TimeZoneTable, *,
                 time_zone_from_phone: bool = False, mark_mobiles: bool = False) -> None:
        self._extras = columns.extras
        self._phones = columns.phones
        self._names = {name.casefold(): name for name, _ in time_zones}
        self._tenant_names = frozenset(self._names.values())
        self._by_zone: dict[str, set[str]] = {}
        for name, zones in time_zones:
            for zone in zones:
                self._by_zone.setdefault(zone, set()).add(name)
        self._fill_time_zone = time_zone_from_phone
        self._mark_mobiles = mark_mobiles

    def fill(self, row: Row, region: str, primary_at: int) -> None:
        """``row.extra`` from its fields; or ``row.reason`` for a value CXone would refuse.

        ``primary_at`` is the column whose number became the primary: its own ``phone:``
        field stays empty, as the number is dialled already.
        """
        fields = row.fields
        values: list[str] = []
        dialled = {row.phone}
        for extra in self._extras:
            target, at = extra.field, extra.column
            raw = fields[at].strip() if at is not None else ""
            kind = target.kind
            if kind is FieldKind.PHONE:
                if not raw or (at == primary_at and extra.fallback):
                    values.append("")
                    continue
                scientific = in_scientific_notation(raw)
                read = None if scientific else read_phone(raw, region)
                if read is None or read[0] in dialled:
                    why = (SCIENTIFIC_NOTE if scientific else "not a valid number"
                           if read is None else "the same number again")
                    Note.add(row, Note.left_out(target.name, why))
                    values.append("")
                    continue
                dialled.add(read[0])
                values.append(read[0])
                continue
            if kind is FieldKind.EMAIL:
                values.append(neutralize(row.email))
                continue
            if kind is FieldKind.TIME_ZONE:
                raw = self._time_zone(row, raw)
            elif kind is FieldKind.BOOLEAN and not raw and self._mark_mobiles \
                    and target.name == "Compliance":
                raw = self._mobile(row)
            elif kind is FieldKind.NAME:
                raw = " ".join(raw.split())
            if raw and not self._allowed(kind, raw):
                row.reason = ReasonCode.invalid(target.slug)
                return
            values.append(neutralize(raw))
        row.extra = values

    def _allowed(self, kind: FieldKind, value: str) -> bool:
        if kind is FieldKind.INTEGER:
            return _INTEGER.fullmatch(value) is not None
        if kind is FieldKind.DATE:
            return _is_date(value)
        if kind is FieldKind.BOOLEAN:
            return value.casefold() in _BOOLEANS
        if kind is FieldKind.TIME_ZONE:
            return value in self._tenant_names
        return True

    def _time_zone(self, row: Row, written: str) -> str:
        """The tenant's spelling of the name written (unknown: left to be rejected), or,
        when none is written and it is asked for, the one name all the number's zones
        share in the table."""
        if written:
            return self._names.get(written.casefold(), written)
        if not self._fill_time_zone:
            return ""
        zones = _number_facts(row.phone)[0]
        names = {name for zone in zones for name in self._by_zone.get(zone, ())}
        if len(names) == 1 and all(zone in self._by_zone for zone in zones):
            name = names.pop()
            Note.add(row, Note.time_zone_filled(name))
            return name
        Note.add(row, Note.time_zone_not_filled(
            "no zone of the time-zone table" if not names
            else "the number spans several time zones"))
        return ""

    def _mobile(self, row: Row) -> str:
        if _number_facts(row.phone)[1]:
            Note.add(row, Note.MOBILE)
            return "true"
        return ""
