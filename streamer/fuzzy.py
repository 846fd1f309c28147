"""Fuzzy duplicates: the same person written with a typo, found after exact dedup.

Exact dedup (``streamer.dedup.Dedup``) has already caught the same E.164 number and
the same email. This index sees the rows it kept, in file order, and finds two more
kinds of repeat. A typo alone proves nothing (``ann.lea@`` and ``ann.lee@`` are as
likely two people as one), so each kind needs corroboration, and every doubt keeps the
rows apart: a missed duplicate costs one extra call, a false merge loses a customer.

**Names agree** when first and last names are each equal after Unicode NFKD, dropping
combining marks, case folding and dropping all but letters and digits (``José  de la
Cruz`` = ``jose DELACRUZ``). Both must be non-empty: a lone given name is no evidence.
Rows without both are never fuzzy duplicates and are not indexed. Both rules require
agreeing names, so people with different names are never merged by them.

``similar_email``: the names agree, the domains are the same, and the local part is
the kept one *mistyped*:

- at most one edit (transposition, missing, extra or wrong character; optimal string
  alignment distance) per ``email_chars_per_edit`` characters of the shorter local
  part, and at most ``max_email_edits``: ``ann@`` gets none, ``jose.garcia@`` two;
- the same digits in the same order: digits are how people who share a name tell
  their mailboxes apart (``john.smith1`` / ``john.smith12``);
- neither is the other with characters added only at its start or end (``christopher``
  / ``christopherl``, ``jsmith.ny`` / ``jsmith.nyc``): that is how second mailboxes are
  made;
- not both made wholly of the person's name words and initials (``zjohnson`` /
  ``zoejohnson``, ``john.smith`` / ``johnsmith``): such an address is chosen, not
  mistyped, and two chosen ones are two people's;
- unambiguous: exactly one kept namesake at that domain has a local part within
  ``max_email_edits`` of it. A typo that falls between two people's addresses
  (``johnfjohnson`` between ``john.johnson`` and ``johnjohnson``) belongs to neither.

A close phone is not required: a repeat whose number matched would already be an
exact duplicate, so what is left is mostly a person giving a second number.

``similar_phone_same_name``: the names agree, the numbers have the same length and
differ in at most ``max_phone_digit_differences`` digits, exactly one kept namesake's
number is that close, and where both rows have an email the two are one address
mistyped (as above, with the full ``max_email_edits`` allowed whatever the length,
since the number already corroborates). Two people a digit apart with different names,
or with the same name and two addresses, stay two rows.

If the two rules point at different kept contacts, neither is trusted.

**Blocking.** A row is compared only with kept contacts that share a blocking key, and
every key includes the name (both rules require it):

- email: (name, domain);
- phone: (name, number length, part *i*, the digits of part *i*) for the number cut into
  ``max_phone_digit_differences + 1`` parts: with one wrong digit, one part is intact.
  The first three digits (country and area code) go with the first part, so no block
  is a whole area's namesakes.

A block holds at most ``max_block_size`` contacts (a very common name at one big
domain), so no lookup costs more than that many checks. A full block may have turned
contacts away, so it cannot show that a match is the only one: a row whose block is
full is not matched by that rule.

**Memory.** The keys share one open-addressing table of 64-bit slots (``array('Q')``),
each a key's 32-bit blake2b fingerprint above the contact's 32-bit id: a multimap with
no Python object per entry, 53-80 % full. Two or three keys per contact (one per
email, two per number) cost 10-15 bytes each. A fingerprint only finds candidates;
each is checked against the contact's own data in flat arrays: record number (4 bytes),
the number's digits (8), fingerprints of name and email domain (4 each), and the
email's local part in one ``bytearray`` with a 4-byte end offset and a 1-byte length.
No deletion neighbourhood is stored (two edits of an *n*-character address would need
about n²/2 keys); candidates are few enough to check by edit distance directly.
``nbytes()`` reports the total: 75-90 bytes per indexed contact, measured at 100k and
1M (more while the table grows: old and new slots are both held for a moment).
Limits: 2**32 - 1 indexed contacts, record numbers below 2**32.

**What the rules cannot tell.** Two namesakes whose numbers are a digit apart by
chance, when at most one has an email, look exactly like a typo, and are merged: on a
synthetic million people with names far more concentrated than real ones, 2 such
pairs. Likewise, rarely, a namesake's odd address two typos from another's (1 in that
million).
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from array import array
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from math import isqrt

from rapidfuzz.distance import OSA

from streamer.errors import ConfigError

SIMILAR_EMAIL = "similar_email"
SIMILAR_PHONE_SAME_NAME = "similar_phone_same_name"

_INITIAL_SLOTS = 1 << 10
_ID_BITS = 32
_ID_MASK = (1 << _ID_BITS) - 1
_STEP_SHIFT = 7  # probe steps come from other fingerprint bits than the start does
_MAX_PHONE_DIGITS = 18  # a leading 1 plus these digits still fits an unsigned 64-bit slot
_LEADING_DIGITS = 3  # country and area code: they say little about who a number is
_NAME_CACHE = 1 << 12  # names repeat: folding each distinct one once is enough
_OFFSET_LIMIT = 1 << 32  # local parts beyond this many bytes need 8-byte offsets
_MAX_LENGTH = 255  # local-part lengths are kept in a byte

# Letters without a decomposition, as people type them in addresses.
_TRANSLITERATIONS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe",
                                   "\u0131": "i", "þ": "th", "ð": "d"})
_WORD_BREAKS = re.compile(r"[\s\-_.]+")
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class FuzzySettings:
    """How far apart two records may be and still be one person.

    ``max_email_edits``: typos allowed between two email local parts (default 2);
    0 turns the ``similar_email`` rule off.
    ``email_chars_per_edit``: one typo is allowed per this many characters of the
    shorter local part (default 5: ``annlee`` may have one, ``jose.garcia`` two).
    ``max_phone_digit_differences``: wrong digits allowed between two numbers of equal
    length (default 1); 0 turns the ``similar_phone_same_name`` rule off.
    ``max_block_size``: the most kept contacts one blocking key holds (default 64); it
    bounds the cost of a lookup when a name is very common.
    """

    max_email_edits: int = 2
    email_chars_per_edit: int = 5
    max_phone_digit_differences: int = 1
    max_block_size: int = 64

    def __post_init__(self) -> None:
        if not 0 <= self.max_email_edits <= 3:
            raise ConfigError("--fuzzy-email-edits must be between 0 and 3")
        if self.email_chars_per_edit < 1:
            raise ConfigError("email_chars_per_edit must be at least 1")
        if not 0 <= self.max_phone_digit_differences <= 3:
            raise ConfigError("--fuzzy-phone-digits must be between 0 and 3")
        if self.max_block_size < 1:
            raise ConfigError("max_block_size must be at least 1")


@lru_cache(maxsize=_NAME_CACHE)
def fold_name(name: str) -> str:
    """``name`` without case, accents, spacing or punctuation.

    ``José  de la Cruz`` and ``jose DELACRUZ`` both become ``josedelacruz``.
    """
    # NFKD on both sides of casefold: each can expose what the other must then remove
    # (``İ`` folds to ``i`` plus a combining dot; compatibility letters decompose to
    # upper-case ones).
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).casefold())
    return "".join(char for char in folded if char.isalnum())


def name_pieces(first_name: str, last_name: str) -> frozenset[str]:
    """What addresses are made of: each name word folded, its initial, each whole name."""
    pieces: set[str] = set()
    for name in (first_name, last_name):
        words = [fold_name(word).translate(_TRANSLITERATIONS)
                 for word in _WORD_BREAKS.split(name)]
        pieces.update(word for word in words if word)
        pieces.update(word[0] for word in words if word)
        pieces.add("".join(words))
    pieces.discard("")
    return frozenset(pieces)


def _made_of(run: str, pieces: frozenset[str]) -> bool:
    """Whether ``run`` is a concatenation of ``pieces`` (``jsmith`` = ``j`` + ``smith``)."""
    reachable = [True] + [False] * len(run)
    for start in range(len(run)):
        if reachable[start]:
            for piece in pieces:
                if run.startswith(piece, start):
                    reachable[start + len(piece)] = True
    return reachable[-1]


def _chosen_from_name(local: str, pieces: frozenset[str]) -> bool:
    """Whether every run of letters in ``local`` is made of the name's pieces."""
    return all(_made_of(run, pieces) for run in _LETTER_RUNS.findall(local))


def _digits(local: str) -> str:
    return "".join(char for char in local if char.isdigit())


def _extends(longer: str, shorter: str) -> bool:
    """Whether ``longer`` is ``shorter`` with characters added at its start or end only."""
    return len(longer) > len(shorter) and (
        longer.startswith(shorter) or longer.endswith(shorter))


def _within(local: str, kept_local: str, edits: int) -> bool:
    return OSA.distance(local, kept_local, score_cutoff=edits) <= edits


def _mistyped_local(local: str, kept_local: str, pieces: frozenset[str], edits: int) -> bool:
    """The module docstring's conditions on two local parts, all but ambiguity."""
    return (
        bool(local and kept_local)
        and _within(local, kept_local, edits)
        and _digits(local) == _digits(kept_local)
        and not _extends(local, kept_local)
        and not _extends(kept_local, local)
        and not (_chosen_from_name(local, pieces) and _chosen_from_name(kept_local, pieces))
    )


def _edit_budget(local: str, kept_local: str, settings: FuzzySettings) -> int:
    shorter = min(len(local), len(kept_local))
    return min(settings.max_email_edits, shorter // settings.email_chars_per_edit)


def _email_parts(email: str) -> tuple[str, str]:
    local, _, domain = email.rpartition("@")
    return local, domain


def mistyped_email(email: str, kept: str, pieces: frozenset[str],
                   settings: FuzzySettings = FuzzySettings(), *,
                   max_edits: int | None = None) -> bool:
    """Whether two addresses of one name (its ``name_pieces``) are one address, mistyped.

    ``max_edits`` replaces the budget that grows with length, for when something else
    (the number) corroborates. Ambiguity is the index's to judge: it needs the others.
    """
    local, domain = _email_parts(email)
    kept_local, kept_domain = _email_parts(kept)
    if domain != kept_domain:
        return False
    edits = _edit_budget(local, kept_local, settings) if max_edits is None else max_edits
    return _mistyped_local(local, kept_local, pieces, edits)


def similar_phones(
    first: str, second: str, settings: FuzzySettings = FuzzySettings()
) -> bool:
    """Whether two numbers' digits, of one length, differ in at most the allowed places."""
    if not first or len(first) != len(second):
        return False
    wrong = sum(a != b for a, b in zip(first, second, strict=True))
    return wrong <= settings.max_phone_digit_differences


def _fingerprint(*parts: str) -> int:
    """32 bits of blake2b: stable across runs, unlike ``hash()`` of a string."""
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little")


def _phone_digits(phone: str) -> str:
    """The digits of an E.164 number, or "" when ``phone`` is not one."""
    digits = phone.removeprefix("+")
    if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_PHONE_DIGITS:
        return digits
    return ""


def _phone_parts(digits: str, count: int) -> list[str]:
    """``digits`` cut into ``count`` parts, so ``count - 1`` wrong digits spare one part."""
    spread = len(digits) - _LEADING_DIGITS
    cuts = [_LEADING_DIGITS + spread * part // count for part in range(1, count)]
    return [digits[start:end] for start, end in pairwise([0, *cuts, len(digits)])]


def _is_prime(number: int) -> bool:
    if number < 2 or number % 2 == 0:
        return number == 2
    return all(number % divisor for divisor in range(3, isqrt(number) + 1, 2))


def _prime_at_least(number: int) -> int:
    while not _is_prime(number):
        number += 1
    return number


class _BlockTable:
    """Blocking-key fingerprint → contact ids: a multimap in one array of 64-bit slots.

    Open addressing with double hashing over a prime number of slots (any step then
    visits every slot), grown by half at 4/5 full: slots stay 53-80 % used, where
    doubling a power of two would leave them as little as 40 % used. Nothing is ever
    removed, so every entry of a key lies on that key's probe sequence before its first
    empty slot. A slot holds the fingerprint above ``id + 1``: 0 means empty, and the
    table regrows from its own slots. Blocks that reach ``max_block`` entries are
    remembered as full (one set entry per ``max_block`` slots at most), so looking them
    up again costs nothing.
    """

    __slots__ = ("_full", "_max_block", "_slots", "_used")

    def __init__(self, max_block: int) -> None:
        self._slots = array("Q", bytes(8 * _prime_at_least(_INITIAL_SLOTS)))
        self._used = 0
        self._max_block = max_block
        self._full: set[int] = set()

    def nbytes(self) -> int:
        return sys.getsizeof(self._slots) + sys.getsizeof(self._full)

    def find(self, fingerprint: int) -> list[int] | None:
        """Ids filed under ``fingerprint`` (rarely, a key sharing it); None if full."""
        if fingerprint in self._full:
            return None
        slots = self._slots
        size = len(slots)
        index, step = fingerprint % size, 1 + (fingerprint >> _STEP_SHIFT) % (size - 1)
        found = []
        while slot := slots[index]:
            if slot >> _ID_BITS == fingerprint:
                found.append((slot & _ID_MASK) - 1)
            index = (index + step) % size
        return found

    def add(self, fingerprint: int, contact: int) -> None:
        """File ``contact`` under ``fingerprint``, unless that block is already full."""
        if fingerprint in self._full:
            return
        if 5 * (self._used + 1) > 4 * len(self._slots):
            self._grow()
        slots = self._slots
        size = len(slots)
        index, step = fingerprint % size, 1 + (fingerprint >> _STEP_SHIFT) % (size - 1)
        filed = 1
        while slot := slots[index]:
            filed += slot >> _ID_BITS == fingerprint
            index = (index + step) % size
        slots[index] = fingerprint << _ID_BITS | (contact + 1)
        self._used += 1
        if filed >= self._max_block:
            self._full.add(fingerprint)

    def _grow(self) -> None:
        old = self._slots
        size = _prime_at_least(len(old) * 3 // 2)
        self._slots = slots = array("Q", bytes(8 * size))
        for slot in old:
            if slot:
                fingerprint = slot >> _ID_BITS
                index, step = fingerprint % size, 1 + (fingerprint >> _STEP_SHIFT) % (size - 1)
                while slots[index]:
                    index = (index + step) % size
                slots[index] = slot


class _Probe:
    """What a record is compared by, computed once for ``match`` and reused by ``add``."""

    __slots__ = ("digits", "domain_print", "email_key", "first_name", "last_name", "local",
                 "name_print", "phone_keys", "usable")

    def __init__(self, phone: str, email: str, first_name: str, last_name: str,
                 settings: FuzzySettings) -> None:
        first, last = fold_name(first_name), fold_name(last_name)
        self.usable = bool(first and last)
        self.first_name, self.last_name = first_name, last_name
        name = f"{first}\x1f{last}"
        self.name_print = _fingerprint("name", name)
        self.local, domain = _email_parts(email)
        self.domain_print = _fingerprint("domain", domain) if self.local else 0
        self.email_key = (_fingerprint("email", name, domain)
                          if self.local and settings.max_email_edits else None)
        self.digits = _phone_digits(phone)
        parts = settings.max_phone_digit_differences + 1
        self.phone_keys = [
            _fingerprint("phone", name, str(len(self.digits)), str(index), part)
            for index, part in enumerate(_phone_parts(self.digits, parts))
        ] if self.digits and parts > 1 else []

    @property
    def pieces(self) -> frozenset[str]:
        return name_pieces(self.first_name, self.last_name)


class FuzzyIndex:
    """Kept contacts, indexed to find later records that are the same person with a typo.

    Call ``match`` for each record exact dedup did not catch, in file order, and ``add``
    those that stay kept. The module docstring has the rules and why they are safe.
    """

    def __init__(self, settings: FuzzySettings = FuzzySettings()) -> None:
        self._settings = settings
        self._table = _BlockTable(settings.max_block_size)
        self._records = array("I")
        self._phones = array("Q")  # "1" + the E.164 digits, so leading zeros survive
        self._names = array("I")
        self._domains = array("I")
        self._local_ends = array("I", [0])
        self._local_lengths = array("B")  # in characters, up to 255: skips most decoding
        self._locals = bytearray()
        self._last: tuple[tuple[str, str, str, str], _Probe] | None = None

    def __len__(self) -> int:
        return len(self._records)

    def nbytes(self) -> int:
        """Approximate bytes held, spare capacity included: for benchmarks."""
        held = (self._records, self._phones, self._names, self._domains, self._local_ends,
                self._local_lengths, self._locals)
        return self._table.nbytes() + sum(sys.getsizeof(part) for part in held)

    def match(self, record: int, phone: str, email: str, first_name: str,
              last_name: str) -> tuple[str, int] | None:
        """If this contact fuzzily duplicates a kept one: (reason, kept record). Else None."""
        probe = self._probe(phone, email, first_name, last_name)
        if not probe.usable:
            return None
        by_email, by_phone = self._by_email(probe), self._by_phone(probe)
        if by_email is not None and by_phone is not None and by_email != by_phone:
            return None
        if by_email is not None:
            return SIMILAR_EMAIL, self._records[by_email]
        if by_phone is not None:
            return SIMILAR_PHONE_SAME_NAME, self._records[by_phone]
        return None

    def add(self, record: int, phone: str, email: str, first_name: str, last_name: str) -> None:
        """Remember a kept contact (one without both names can never match: not kept)."""
        probe = self._probe(phone, email, first_name, last_name)
        if not probe.usable:
            return
        contact = len(self._records)
        self._records.append(record)
        self._phones.append(int("1" + probe.digits))
        self._names.append(probe.name_print)
        self._domains.append(probe.domain_print)
        self._locals += probe.local.encode("utf-8", "surrogatepass")
        if len(self._locals) >= _OFFSET_LIMIT and self._local_ends.typecode == "I":
            self._local_ends = array("Q", self._local_ends)
        self._local_ends.append(len(self._locals))
        self._local_lengths.append(min(len(probe.local), _MAX_LENGTH))
        if probe.email_key is not None:
            self._table.add(probe.email_key, contact)
        for key in probe.phone_keys:
            self._table.add(key, contact)

    def _probe(self, phone: str, email: str, first_name: str, last_name: str) -> _Probe:
        fields = (phone, email, first_name, last_name)
        if self._last is not None and self._last[0] == fields:
            return self._last[1]
        probe = _Probe(phone, email, first_name, last_name, self._settings)
        self._last = fields, probe
        return probe

    def _local_of(self, contact: int) -> str:
        start, end = self._local_ends[contact], self._local_ends[contact + 1]
        return self._locals[start:end].decode("utf-8", "surrogatepass")

    def _namesakes(self, key: int, probe: _Probe) -> list[int] | None:
        """Contacts under ``key`` with the probe's name; None when the block is full."""
        found = self._table.find(key)
        if found is None:
            return None
        return [contact for contact in found if self._names[contact] == probe.name_print]

    def _by_email(self, probe: _Probe) -> int | None:
        """The one kept namesake at the domain whose address this one mistypes, if any."""
        if probe.email_key is None:
            return None
        namesakes = self._namesakes(probe.email_key, probe)
        if not namesakes:
            return None
        max_edits = self._settings.max_email_edits
        length, lengths = min(len(probe.local), _MAX_LENGTH), self._local_lengths
        close = [(contact, local) for contact in namesakes
                 if self._domains[contact] == probe.domain_print
                 and abs(lengths[contact] - length) <= max_edits
                 and _within(probe.local, local := self._local_of(contact), max_edits)]
        if len(close) != 1:
            return None
        contact, kept_local = close[0]
        edits = _edit_budget(probe.local, kept_local, self._settings)
        if _mistyped_local(probe.local, kept_local, probe.pieces, edits):
            return contact
        return None

    def _by_phone(self, probe: _Probe) -> int | None:
        """The one kept namesake whose number is a digit off, if their emails allow."""
        candidates: set[int] = set()
        for key in probe.phone_keys:
            namesakes = self._namesakes(key, probe)
            if namesakes is None:
                return None
            candidates.update(namesakes)
        close = [contact for contact in candidates
                 if similar_phones(probe.digits, str(self._phones[contact])[1:], self._settings)]
        if len(close) != 1:
            return None
        contact = close[0]
        if self._emails_differ(probe, contact):
            return None
        return contact

    def _emails_differ(self, probe: _Probe, contact: int) -> bool:
        """Both have an email, and they are not one address mistyped."""
        kept_local = self._local_of(contact)
        if not probe.local or not kept_local:
            return False
        return self._domains[contact] != probe.domain_print or not _mistyped_local(
            probe.local, kept_local, probe.pieces, self._settings.max_email_edits)
