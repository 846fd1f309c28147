"""The compact table: every kept contact's data in flat arrays, and one open-addressing
table of 32-bit slots holding every key, with its sizing and growth.

What a slot holds, and how each kind of key is hashed, is :mod:`._keys`'; what the keys
are matched for is the index's (:class:`~streamer.cleaning.dedup._index.ContactIndex`).
"""

from __future__ import annotations

import sys
import zlib
from array import array
from itertools import pairwise

from streamer.cleaning.dedup._keys import (
    DIGITS_BELOW,
    EMAIL,
    HEAD,
    INITIAL_BITS,
    LOW,
    MAX_LOAD,
    MAX_PRESIZED_BITS,
    PART,
    PHONE,
    SATURATED,
    TAG_BITS,
    TAG_MASK,
    TEN_TO_DIGITS,
    TYPICAL_ROW_KEYS,
    phone_parts,
    print32,
    print64,
    remember,
    sketch_size,
)
from streamer.cleaning.dedup._rules import fold_name
from streamer.settings import FuzzySettings


class ContactTable:
    """Kept contacts and every key that finds them again: the storage of dedup's index.

    Each kept contact has a number (its position) and, in flat arrays: its record number
    (4 bytes), "1" + its E.164 digits (8), its name's 32-bit fingerprint (4; 0 when the
    name cannot match), its email domain's 64-bit blake2b (8), its local part's UTF-8
    bytes in one ``bytearray`` with a 4-byte end offset, and a link (4): the next older
    contact in its email block, and its local part's length; with external ids, their
    64-bit blake2b (8).

    Every key lives in one open-addressing table of 32-bit slots (``array('I')``): 1 +
    the contact's number, the key's kind (3 bits) and 2 bits of the key's hash. The hash
    places the key (linear probing over a power of two slots, doubled at 4/5 full, so
    40-80 % used); a slot of the right kind and bits is then checked against the
    contact's own data, so a match is never a hash collision:

    - exact phone: the digits;
    - exact email: the local part's bytes and the domain's 64-bit blake2b (a million
      distinct domains hold a pair with one blake2b with a chance of 3 in 10**8);
    - external id: the 64-bit blake2b (among 10 million rows and 10 million kept
      contacts, two ids share one with a chance of about 10**14 / 2**64, 5 in a million);
    - fuzzy blocks: the name and the domain, or the name and that part of the number.

    The table holds no hashes, so growing it hashes every key again from its contact's
    data. Nothing is removed, so a lookup that misses ends at the empty slot where its
    key is then filed, without a second search. An email block is one slot, for its
    newest contact, whose link leads through the others.

    How common a name is, is counted in a count-min sketch (two byte counters per name,
    saturating at 255, about two counters per contact, rebuilt as the table grows): it
    may overcount, which only calls a name common early, and a name once common stays
    common (a set of them).
    ``nbytes()`` counts every array at its allocated size, the table, the sketch, the sets
    of full blocks and common names and the caches of folded names and domains.
    Limits: 2**27 - 2 contacts, record numbers below 2**32.
    """

    __slots__ = ("_aliases", "_chain", "_common", "_domain_prints", "_domains", "_ends",
                 "_exact", "_full", "_ids", "_limit", "_locals", "_name_prints", "_names",
                 "_namesakes", "_parts", "_phones", "_records", "_settings", "_shift", "_slots",
                 "_used")

    def __init__(self, settings: FuzzySettings | None, *, exact: bool,
                 expected_rows: int = 0) -> None:
        """``expected_rows``: about how many rows will be checked, to size the table for
        them at once (it still doubles if they need more)."""
        self._settings = settings
        self._exact = exact
        self._parts = settings.max_phone_digit_differences + 1 if settings is not None else 1
        # Sized for the keys a typical kept row files; duplicates file none, so the
        # estimate errs large by the share of duplicates at most.
        wanted = int(expected_rows * TYPICAL_ROW_KEYS / MAX_LOAD)
        bits = min(max(INITIAL_BITS, wanted.bit_length()), MAX_PRESIZED_BITS)
        self._slots = array("I", [0]) * (1 << bits)
        self._shift = 32 - bits
        self._limit = int(len(self._slots) * MAX_LOAD)
        self._used = 0
        #: Entries standing for a kept contact under a duplicate's or a secondary number's
        #: exact keys (:meth:`ContactIndex._alias`); not contacts.
        self._aliases = 0
        self._full: set[int] = set()  # hashes of blocks that reached max_block_size
        self._common: set[int] = set()  # names that reached max_namesakes
        self._namesakes = bytearray(sketch_size(len(self._slots)))
        self._records = array("I")
        self._phones = array("Q")
        self._names = array("I")
        self._domains = array("Q")
        self._ends = array("I", [0])
        self._locals = bytearray()
        # Per contact, 1 + the next older contact in its email block (0: none) above the
        # length of its local part (at most 31).
        self._chain = array("I")
        self._ids = array("Q")  # filled once a batch is checked by external id
        # Caches: a name field's fingerprint (of its folded form), a domain's.
        self._name_prints: dict[str, int] = {}
        self._domain_prints: dict[str, int] = {}

    def __len__(self) -> int:
        """Contacts kept (aliases are not contacts)."""
        return len(self._records) - self._aliases

    def nbytes(self) -> int:
        """Bytes held: arrays and table at their allocated size, sets, caches."""
        held = (self._slots, self._namesakes, self._records, self._phones, self._names,
                self._domains, self._ends, self._locals, self._chain,
                self._ids)
        total = sum(sys.getsizeof(part) for part in held)
        for numbers in (self._full, self._common):
            total += sys.getsizeof(numbers) + 32 * len(numbers)
        for prints in (self._name_prints, self._domain_prints):
            total += sys.getsizeof(prints) + sum(sys.getsizeof(text) + 32 for text in prints)
        return total

    def _cuts(self, length: int, cuts: dict[int, tuple[tuple[int, int], ...]]
              ) -> tuple[tuple[int, int], ...]:
        found = cuts[length] = phone_parts(length, self._parts)
        return found

    def _swapped_across_cuts(self, value: int, name: int, length: int,
                             cut: tuple[tuple[int, int], ...], candidates: list[int]) -> bool:
        """Add to ``candidates`` the namesakes whose number is ``value`` with two adjacent
        digits swapped across a cut between parts: a swap there leaves no part intact.
        True if a block it looked in was full (so no match can be shown to be the only one).

        With ``d`` typos allowed, the number with that swap undone has at most ``d - 1``
        others, so one of its first ``d`` parts is intact: those are looked up."""
        slots, shift, names, phones = self._slots, self._shift, self._names, self._phones
        end = len(slots) - 1
        blocked = False
        for (divisor, modulus), (_, next_modulus) in pairwise(cut):
            if modulus == 1 or next_modulus == 1:
                continue  # an empty part: no cut there
            below = divisor // 10
            last, first = value // divisor % 10, value // below % 10
            if last == first:
                continue
            swapped = value + (first - last) * divisor + (last - first) * below
            for key, (part_divisor, part_modulus) in enumerate(cut[:-1]):
                part = swapped // part_divisor % part_modulus
                h = hash((name, length, key, part, PART)) & LOW
                if h in self._full:
                    blocked = True
                    continue
                tag = (PART + key) << 2 | h & 3
                at = h >> shift
                slot = slots[at]
                while slot:
                    if slot & TAG_MASK == tag:
                        contact = (slot >> TAG_BITS) - 1
                        if (names[contact] == name
                                and phones[contact] // part_divisor % part_modulus == part):
                            candidates.append(contact)
                    at = at + 1 if at < end else 0
                    slot = slots[at]
        return blocked

    def _grow(self) -> None:
        """Double the table, each key placed again by its hash, and the sketch with it."""
        old = self._slots
        size = 2 * len(old)
        shift = self._shift - 1
        slots = array("I", [0]) * size
        end = size - 1
        phones, names, domains, ends, locals_ = (self._phones, self._names, self._domains,
                                                 self._ends, self._locals)
        crc32, low, bits = zlib.crc32, LOW, TAG_BITS
        cuts: dict[int, tuple[tuple[int, int], ...]] = {}  # phone_parts by length
        for slot in filter(None, old):
            contact = (slot >> bits) - 1
            kind = slot >> 2 & 7
            if kind >= PART:
                value = phones[contact]
                magnitude = value.bit_length()
                length = DIGITS_BELOW[magnitude] - (value < TEN_TO_DIGITS[magnitude])
                divisor, modulus = (cuts.get(length) or self._cuts(length, cuts))[kind - PART]
                h = hash((names[contact], length, kind - PART, value // divisor % modulus,
                          PART)) & low
            elif kind == PHONE:
                h = hash((phones[contact], PHONE)) & low
            elif kind == EMAIL:
                h = crc32(locals_[ends[contact]:ends[contact + 1]], domains[contact] & low)
            elif kind == HEAD:
                h = hash((names[contact], domains[contact], HEAD)) & low
            else:
                h = self._ids[contact] & low
            at = h >> shift
            while slots[at]:
                at = at + 1 if at < end else 0
            slots[at] = slot
        self._slots, self._shift = slots, shift
        self._limit = int(size * MAX_LOAD)
        # The sketch grows with the table, recounted from the names themselves.
        width = sketch_size(size)
        namesakes = bytearray(width)
        for name in filter(None, self._names):
            first_at, second_at = name % width, (name >> 16 | name << 16) % width
            first_count, second_count = namesakes[first_at], namesakes[second_at]
            if first_count <= second_count and first_count < SATURATED:
                namesakes[first_at] = first_count + 1
            if second_count <= first_count and second_count < SATURATED:
                namesakes[second_at] = second_count + 1
        self._namesakes = namesakes

    def _name_print(self, text: str) -> int:
        folded = fold_name(text)
        found = print32(folded) if folded else 0
        remember(self._name_prints, text, found)
        return found

    def _domain_print(self, domain: str) -> int:
        found = print64(domain)
        remember(self._domain_prints, domain, found)
        return found

    def _local_of(self, contact: int) -> str:
        ends = self._ends
        return self._locals[ends[contact]:ends[contact + 1]].decode("utf-8", "surrogatepass")

