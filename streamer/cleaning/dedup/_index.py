"""The dedup index: every kept contact, and every key that finds it again.

The rules it applies are written once, in :mod:`._rules`; how keys are made is
:mod:`._keys`; how they are stored, :mod:`._table`. The check loop probes the table
inline, key by key: a function call per probe would cost about a tenth of dedup's time,
and this loop is most of it.

**Memory.** One :class:`ContactIndex` holds every key of exact and fuzzy dedup in a
single open-addressing table of 32-bit slots (``array('I')``): a contact's number, the
key's kind and 2 bits of its hash. Whatever a slot points at is checked against the
contact's own data in flat arrays, so no Python object is kept per contact: 74-93
bytes per kept contact on ``examples/messy.py``'s data and on
``benchmarks/dedup_scaling.py``'s, measured at 100k and 1M rows, the aliases of chains
included (with external ids, 8 more and a slot).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Sequence

from streamer.cleaning.dedup._aliases import ContactAliases
from streamer.cleaning.dedup._keys import (
    EMAIL,
    HEAD,
    ID,
    LENGTH_BITS,
    LENGTH_MASK,
    LOW,
    MAX_CONTACTS,
    MAX_PHONE_DIGITS,
    OFFSET_LIMIT,
    PART,
    PHONE,
    ROW_KEYS,
    SATURATED,
    TAG_BITS,
    TAG_MASK,
    phone_parts,
    print64,
)
from streamer.cleaning.dedup._rules import (
    allowed_edits,
    close_numbers,
    edit_distance,
    name_pieces,
    one_address_mistyped,
)
from streamer.records import ReasonCode, Row


class ContactIndex(ContactAliases):
    """Exact and fuzzy dedup's index: :meth:`check` marks each row duplicate of a kept
    contact, or keeps it (the table's docstring has how contacts and keys are held)."""

    __slots__ = ()

    def check(self, rows: Iterable[Row], by_external_id: bool, *, match: bool = True,
              add: bool = True, other_phones: Sequence[tuple[int, str]] = ()) -> None:
        """Mark each row duplicate of a kept contact, or keep it: exact keys (phone, email,
        external id when ``by_external_id``) if this index has them, then fuzzy rules.

        A duplicate's exact keys that the index did not hold yet are filed as aliases of
        the contact it duplicates, so a later record matching any of them is a duplicate
        of that kept contact too, never of a duplicate. ``other_phones``: where a row's
        secondary numbers sit in ``row.extra``, and their fields' names; each is an exact
        key of its row's contact, and one already dialled for a kept contact is left out
        of a later kept row (a note says so).

        ``match=False`` keeps every row; ``add=False`` keeps nothing (to ask only).
        """
        settings = self._settings
        exact = self._exact
        if by_external_id and len(self._ids) < len(self._records):
            self._ids.extend(array("Q", [0]) * (len(self._records) - len(self._ids)))
        with_ids = by_external_id or len(self._ids) > 0
        fuzzy = settings is not None
        email_rule = settings is not None and settings.max_email_edits > 0
        parts = self._parts
        max_block = settings.max_block_size if settings is not None else 0
        max_namesakes = settings.max_namesakes if settings is not None else 0
        max_edits = settings.max_email_edits if settings is not None else 0
        slots, used, limit, shift = self._slots, self._used, self._limit, self._shift
        end = len(slots) - 1
        namesakes = self._namesakes
        width = len(namesakes)
        records, phones, names = self._records, self._phones, self._names
        domains, ends, chain = self._domains, self._ends, self._chain
        locals_, ids = self._locals, self._ids
        full, commons = self._full, self._common
        name_prints, domain_prints = self._name_prints, self._domain_prints
        low, tags, bits, distance_of = LOW, TAG_MASK, TAG_BITS, edit_distance
        cuts: dict[int, tuple[tuple[int, int], ...]] = {}  # phone_parts by length
        row_keys = ROW_KEYS + len(other_phones)
        for row in rows:
            if row.reason is not None:
                continue
            if used + row_keys > limit:
                self._used = used
                self._grow()
                slots, limit, shift = self._slots, self._limit, self._shift
                end = len(slots) - 1
                namesakes = self._namesakes
                width = len(namesakes)
            phone = row.phone
            digits = phone[1:]
            value = (int("1" + digits) if phone[:1] == "+" and digits.isdigit()
                     and digits.isascii() and len(digits) <= MAX_PHONE_DIGITS else 0)
            email = row.email
            if email:
                local, _, domain = email.rpartition("@")
                domain_print = domain_prints.get(domain) or self._domain_print(domain)
            else:
                local, domain_print = "", 0
            local_bytes = local.encode("utf-8", "surrogatepass")
            phone_slot = email_slot = id_slot = 0
            phone_at = email_at = id_at = -1
            id_key = 0
            kept = -1  # the kept contact this row repeats
            reason = None
            if exact:
                # The same number: the hash finds it, the digits prove it.
                if value:
                    h = hash((value, PHONE)) & low
                    tag = PHONE << 2 | h & 3
                    at = h >> shift
                    slot = slots[at]
                    while slot and not (slot & tags == tag
                                        and phones[(slot >> bits) - 1] == value):
                        at = at + 1 if at < end else 0
                        slot = slots[at]
                    if slot:
                        kept, reason = (slot >> bits) - 1, ReasonCode.SAME_PHONE
                    else:
                        phone_at, phone_slot = at, tag
                # Each key is looked up even after one matched: those the index lacks
                # become aliases of the contact matched.
                if email:
                    h = zlib.crc32(local_bytes, domain_print & low)
                    tag = EMAIL << 2 | h & 3
                    at = h >> shift
                    slot = slots[at]
                    while slot:
                        if slot & tags == tag:
                            contact = (slot >> bits) - 1
                            if domains[contact] == domain_print and (
                                    locals_[ends[contact]:ends[contact + 1]] == local_bytes):
                                break
                        at = at + 1 if at < end else 0
                        slot = slots[at]
                    if not slot:
                        email_at, email_slot = at, tag
                    elif kept < 0:
                        kept, reason = (slot >> bits) - 1, ReasonCode.SAME_EMAIL
                if by_external_id:
                    id_key = print64(row.external_id)
                    h = id_key & low
                    tag = ID << 2 | h & 3
                    at = h >> shift
                    slot = slots[at]
                    while slot and not (slot & tags == tag
                                        and ids[(slot >> bits) - 1] == id_key):
                        at = at + 1 if at < end else 0
                        slot = slots[at]
                    if not slot:
                        id_at, id_slot = at, tag
                    elif kept < 0:
                        kept, reason = (slot >> bits) - 1, ReasonCode.SAME_EXTERNAL_ID
            name = 0
            if fuzzy and kept < 0:  # an exact match needs no fuzzy rule
                first, last = row.first_name, row.last_name
                first_print = name_prints.get(first)
                if first_print is None:
                    first_print = self._name_print(first)
                last_print = name_prints.get(last)
                if last_print is None:
                    last_print = self._name_print(last)
                if first_print and last_print:
                    name = hash((first_print, last_print)) & low or 1
            if not name and not exact:
                continue  # a fuzzy-only index holds only contacts the rules can match
            block_at = block_hash = block_filed = -1
            block_slot = block_head = 0
            part_keys: list[tuple[int, int, int, int]] = []
            common = False
            first_at = second_at = 0
            if name:
                first_at, second_at = name % width, (name >> 16 | name << 16) % width
                common = name in commons
                if not common and min(namesakes[first_at],
                                      namesakes[second_at]) >= max_namesakes:
                    commons.add(name)  # for good: a rebuilt sketch may count differently
                    common = True
                by_email = by_phone = -1
                if email_rule and local:
                    h = hash((name, domain_print, HEAD)) & low
                    if h not in full:
                        # The block's head: its newest contact, chained to the others.
                        tag = HEAD << 2 | h & 3
                        at = h >> shift
                        slot = slots[at]
                        while slot:
                            if slot & tags == tag:
                                contact = (slot >> bits) - 1
                                if names[contact] == name and domains[contact] == domain_print:
                                    break
                            at = at + 1 if at < end else 0
                            slot = slots[at]
                        block_at, block_hash, block_slot, block_filed = at, h, tag, 0
                        if slot:
                            # The block's namesakes at the domain: only those of about
                            # the local part's length can be within max_email_edits of it,
                            # and exactly one of them must be.
                            # (A link holds the length, at most 31: the window is the same
                            # for clamped lengths, only wider.)
                            local_length = min(len(local), LENGTH_MASK)
                            shortest, longest = local_length - max_edits, local_length + max_edits
                            block_head = slot >> bits
                            contact = block_head - 1
                            found, kept_local, edits = -1, "", 0
                            ambiguous = not match
                            while contact >= 0 and block_filed < max_block:
                                block_filed += 1
                                link = chain[contact]
                                if not ambiguous and shortest <= link & LENGTH_MASK <= longest:
                                    text = locals_[ends[contact]:ends[contact + 1]].decode(
                                        "utf-8", "surrogatepass")
                                    if (distance := distance_of(local, text, max_edits)
                                            ) <= max_edits:
                                        ambiguous = found >= 0
                                        found, kept_local, edits = contact, text, distance
                                contact = (link >> LENGTH_BITS) - 1
                            if found >= 0 and not ambiguous and self._mistyped(
                                    row, local, kept_local, edits, common):
                                by_email = found
                if parts > 1 and value and not common:
                    candidates: list[int] = []
                    length = len(digits)
                    blocked = False
                    cut = cuts.get(length) or cuts.setdefault(length,
                                                              phone_parts(length, parts))
                    for key, (divisor, modulus) in enumerate(cut):
                        part = value // divisor % modulus
                        h = hash((name, length, key, part, PART)) & low
                        if h in full:
                            blocked = True
                            continue
                        tag = (PART + key) << 2 | h & 3
                        at = h >> shift
                        slot = slots[at]
                        filed = 0
                        while slot:
                            if slot & tags == tag:
                                contact = (slot >> bits) - 1
                                if (names[contact] == name
                                        and phones[contact] // divisor % modulus == part):
                                    candidates.append(contact)
                                    filed += 1
                            at = at + 1 if at < end else 0
                            slot = slots[at]
                        part_keys.append((at, tag, h, filed))
                    # (The sketch never undercounts: a name it has not seen has no
                    # namesake a swap could find.)
                    if match and min(namesakes[first_at], namesakes[second_at]) and (
                            self._swapped_across_cuts(value, name, length, cut, candidates)):
                        blocked = True
                    if candidates and match and not blocked:
                        by_phone = self._by_phone(row, value, local, domain_print, name,
                                                  candidates)
                if by_email >= 0 and by_phone >= 0 and by_email != by_phone:
                    pass  # two people: neither is trusted
                elif by_email >= 0:
                    kept, reason = by_email, ReasonCode.SIMILAR_EMAIL
                elif by_phone >= 0:
                    kept, reason = by_phone, ReasonCode.SIMILAR_PHONE_SAME_NAME
            if kept >= 0:
                row.reason, row.duplicate_of = reason, records[kept]
                if add and exact:
                    used += self._file_aliases(
                        row, records[kept], other_phones, with_ids,
                        value, phone_at, phone_slot, local_bytes, domain_print, email_at,
                        email_slot, id_key, id_at, id_slot)
                    ends = self._ends
                continue
            if not add:
                continue
            # Kept: remember it, and file each key where its lookup ended (unless another
            # key of this row took that slot meanwhile).
            contact = len(records)
            if contact > MAX_CONTACTS:
                raise OverflowError("too many contacts for one dedup index")
            records.append(row.record)
            phones.append(value)
            names.append(name)
            domains.append(domain_print)
            if local_bytes:
                locals_ += local_bytes
                if len(locals_) >= OFFSET_LIMIT and ends.typecode == "I":
                    self._ends = ends = array("Q", ends)
            ends.append(len(locals_))
            if with_ids:
                ids.append(id_key)
            entry = (contact + 1) << bits
            if phone_at >= 0:  # the row's first key: its slot is still free
                slots[phone_at] = entry | phone_slot
                used += 1
            if email_at >= 0:
                at = email_at
                while slots[at]:
                    at = at + 1 if at < end else 0
                slots[at] = entry | email_slot
                used += 1
            if id_at >= 0:
                at = id_at
                while slots[at]:
                    at = at + 1 if at < end else 0
                slots[at] = entry | id_slot
                used += 1
            link = min(len(local), LENGTH_MASK)
            if block_at >= 0:
                if block_head:  # the new contact heads the block now
                    chain.append(block_head << LENGTH_BITS | link)
                    slots[block_at] = entry | block_slot
                else:
                    chain.append(link)
                    at = block_at
                    while slots[at]:
                        at = at + 1 if at < end else 0
                    slots[at] = entry | block_slot
                    used += 1
                if block_filed + 1 >= max_block:
                    full.add(block_hash)
            else:
                chain.append(link)
            for at, tag, h, filed in part_keys:
                while slots[at]:
                    at = at + 1 if at < end else 0
                slots[at] = entry | tag
                used += 1
                if filed + 1 >= max_block:
                    full.add(h)
            if other_phones:
                used += self._file_secondaries(row, row.record, other_phones, with_ids,
                                               keep=True)
            if name and not common:
                # One more of this name. Conservative update: only the smaller counter
                # is raised, so the name's count is overstated as little as possible.
                first_count, second_count = namesakes[first_at], namesakes[second_at]
                if first_count <= second_count and first_count < SATURATED:
                    namesakes[first_at] = first_count + 1
                if second_count <= first_count and second_count < SATURATED:
                    namesakes[second_at] = second_count + 1
        self._used = used

    def _mistyped(self, row: Row, local: str, kept_local: str, edits: int,
                  common: bool) -> bool:
        """Whether ``local`` is ``kept_local`` mistyped, ``edits`` apart."""
        settings = self._settings
        assert settings is not None
        pieces = name_pieces(row.first_name, row.last_name)
        return one_address_mistyped(
            local, kept_local, edits,
            allowed_edits(local, kept_local, settings, common=common, pieces=pieces), pieces)

    def _by_phone(self, row: Row, value: int, local: str, domain: int, name: int,
                  candidates: list[int]) -> int:
        """The one kept namesake whose number is a typo off (a wrong digit, or two adjacent
        ones swapped), if their emails allow; -1."""
        settings = self._settings
        assert settings is not None
        names, phones = self._names, self._phones
        allowed = settings.max_phone_digit_differences
        close = {contact for contact in candidates
                 if names[contact] == name
                 and close_numbers(str(value), str(phones[contact]), allowed)}
        if len(close) != 1:
            return -1
        contact = close.pop()
        kept_local = self._local_of(contact)
        edits = settings.max_email_edits
        if local and kept_local and (self._domains[contact] != domain or not one_address_mistyped(
                local, kept_local, edit_distance(local, kept_local, edits), edits,
                name_pieces(row.first_name, row.last_name))):
            return -1  # both have an email, and not one address mistyped
        return contact
