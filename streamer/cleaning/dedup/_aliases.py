"""Aliases: a kept contact found again under keys that are not its own record's, the
exact keys of its duplicates (a chain ends at the kept record) and the secondary numbers
of its record (every number a record dials is one of its keys).

An alias is an entry of the table's flat arrays like a contact, whose record is the kept
one and whose name is 0: only exact keys (phone, email, external id) are filed for it,
so no fuzzy rule ever sees it. About 32 bytes and a slot or two each; a file whose
duplicates repeat the kept record's own keys adds none.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from streamer.cleaning.dedup._keys import (
    LOW,
    MAX_CONTACTS,
    MAX_PHONE_DIGITS,
    OFFSET_LIMIT,
    PHONE,
    TAG_BITS,
    TAG_MASK,
)
from streamer.cleaning.dedup._table import ContactTable
from streamer.notes import Note
from streamer.records import Row


class ContactAliases(ContactTable):
    """Filing aliases into the table (the index decides when)."""

    __slots__ = ()

    def _file_aliases(self, row: Row, record: int, other_phones: Sequence[tuple[int, str]],
                      with_ids: bool, value: int, phone_at: int, phone_tag: int,
                      local_bytes: bytes, domain: int, email_at: int, email_tag: int,
                      id_key: int, id_at: int, id_tag: int) -> int:
        """File a duplicate's exact keys the index lacked (``*_at`` >= 0: where the lookup
        ended) as one alias of kept ``record``, and its secondary numbers; slots used."""
        used = 0
        if phone_at >= 0 or email_at >= 0 or id_at >= 0:
            entry = self._alias(record, with_ids, value if phone_at >= 0 else 0,
                                local_bytes if email_at >= 0 else b"",
                                domain if email_at >= 0 else 0, id_key if id_at >= 0 else 0)
            for at, tag in ((phone_at, phone_tag), (email_at, email_tag), (id_at, id_tag)):
                if at >= 0:
                    self._file(at, entry | tag)
                    used += 1
        if other_phones:
            used += self._file_secondaries(row, record, other_phones, with_ids, keep=False)
        return used

    def _file_secondaries(self, row: Row, record: int,
                          other_phones: Sequence[tuple[int, str]], with_ids: bool, *,
                          keep: bool) -> int:
        """File each secondary number of ``row`` the index lacks as an alias of kept
        ``record``; of a row being kept (``keep``), leave out those already dialled for a
        kept contact. Slots used."""
        extra = row.extra
        if extra is None:
            return 0
        slots, shift, phones, bits = self._slots, self._shift, self._phones, TAG_BITS
        end = len(slots) - 1
        used = 0
        for position, field_name in other_phones:
            number = extra[position]
            digits = number[1:]
            if not (number[:1] == "+" and digits.isdigit() and digits.isascii()
                    and len(digits) <= MAX_PHONE_DIGITS):
                continue
            value = int("1" + digits)
            h = hash((value, PHONE)) & LOW
            tag = PHONE << 2 | h & 3
            at = h >> shift
            slot = slots[at]
            while slot and not (slot & TAG_MASK == tag and phones[(slot >> bits) - 1] == value):
                at = at + 1 if at < end else 0
                slot = slots[at]
            if not slot:
                self._file(at, self._alias(record, with_ids, value, b"", 0, 0) | tag)
                used += 1
            elif keep:
                # The list dials each number once: for the contact that gave it first.
                extra[position] = ""
                row.upload = None
                Note.add(row, Note.left_out(field_name, "dialled already for record "
                                                        f"{self._records[(slot >> bits) - 1]}"))
        return used

    def _alias(self, record: int, with_ids: bool, value: int, local_bytes: bytes,
               domain: int, id_key: int) -> int:
        """A new entry standing for kept ``record`` under other exact keys (no name, so no
        fuzzy rule ever sees it): the slot bits of its number."""
        alias = len(self._records)
        if alias > MAX_CONTACTS:
            raise OverflowError("too many contacts for one dedup index")
        self._aliases += 1
        self._records.append(record)
        self._phones.append(value)
        self._names.append(0)
        self._domains.append(domain)
        if local_bytes:
            self._locals += local_bytes
            if len(self._locals) >= OFFSET_LIMIT and self._ends.typecode == "I":
                self._ends = array("Q", self._ends)
        self._ends.append(len(self._locals))
        self._chain.append(0)
        if with_ids:
            self._ids.append(id_key)
        return (alias + 1) << TAG_BITS

    def _file(self, at: int, slot: int) -> None:
        """Put ``slot`` where a lookup ended at ``at``, or the next free slot after."""
        slots = self._slots
        end = len(slots) - 1
        while slots[at]:
            at = at + 1 if at < end else 0
        slots[at] = slot
