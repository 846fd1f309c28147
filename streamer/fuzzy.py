"""Fuzzy duplicates: the same person written with a typo, found after exact dedup.

Exact dedup has already caught the same E.164 number and the same email. Fuzzy dedup
sees the rows it kept, in file order, and finds two more kinds of repeat. A typo alone
proves nothing (``ann.lea@`` and ``ann.lee@`` are as likely two people as one), so each
kind needs corroboration, and every doubt keeps the rows apart: a missed duplicate costs
one extra call, a false merge loses a customer.

**Names agree** when first and last names are each equal after Unicode NFKD, dropping
combining marks, case folding and dropping all but letters and digits (``José  de la
Cruz`` = ``jose DELACRUZ``). Both must be non-empty: a lone given name is no evidence.
Rows without both are never fuzzy duplicates. Both rules require agreeing names, so
people with different names are never merged by them.

**Common names are weak evidence.** A name is *common* once ``max_namesakes`` kept
contacts have it (default 64). Among *n* namesakes, the chance that a new one's number
is a digit from one of theirs, or their address two typos from one of theirs, grows
with *n*; only the typo's odds do not. So for a common name the phone rule is off, and
an address may be only one typo from the kept one.

``similar_email``: the names agree, the domains are the same, and the local part is
the kept one *mistyped*:

- at most one edit (transposition, missing, extra or wrong character; optimal string
  alignment distance) per ``email_chars_per_edit`` characters of the shorter local
  part, at most ``max_email_edits``, and at most one for a common name: ``ann@`` gets
  none, ``jose.garcia@`` two;
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

``similar_phone_same_name``: the names agree and are not common, the numbers have the
same length and differ in at most ``max_phone_digit_differences`` digits, exactly one
kept namesake's number is that close, and where both rows have an email the two are one
address mistyped (as above, with the full ``max_email_edits`` allowed whatever the
length, since the number already corroborates). Two people a digit apart with different
names, or with the same name and two addresses, stay two rows.

If the two rules point at different kept contacts, neither is trusted.

**Blocking.** A row is compared only with kept contacts that share a blocking key, and
every key includes the name (both rules require it):

- email: (name, domain);
- phone: (name, number length, part *i*, the digits of part *i*) for the number cut into
  ``max_phone_digit_differences + 1`` parts: with one wrong digit, one part is intact.
  The first three digits (country and area code) go with the first part, so no block
  is a whole area's namesakes. Contacts of a common name get no phone keys.

A block holds at most ``max_block_size`` contacts (a very common name at one big
domain), so no lookup costs more than that many checks. A full block may have turned
contacts away, so it cannot show that a match is the only one: a row whose block is
full is not matched by that rule.

**Memory.** One :class:`ContactIndex` holds every key of exact and fuzzy dedup in a
single open-addressing table of 32-bit slots (``array('I')``): a contact's number, the
key's kind and 2 bits of its hash. Whatever a slot points at is checked against the
contact's own data in flat arrays, so no Python object is kept per contact: 65-80
bytes per kept contact on ``examples/messy.py``'s data and on
``benchmarks/dedup_scaling.py``'s, measured at 100k and 1M rows (with external ids, 8
more and a slot). See its docstring.

**What the rules cannot tell.** Two namesakes whose numbers are a digit apart by
chance, when at most one has an email, look exactly like a typo; so does, more rarely,
a namesake's odd address two typos from another's. Among *n* namesakes there are about
*n*²/2 pairs to be so alike, so ``max_namesakes`` bounds them: on ``messy.py``'s million
people (names far more concentrated than real ones) the rules without it merged two
such pairs (and one pair of addresses); with it, none. Chance pairs of namesakes a digit
apart are rare (5 among those million people, whatever their emails: about one pair of
people in 12 million), and fewer than a quarter of namesake pairs there are among a
name's first 64, so the expected number left is about 0.3 per such million. The price
is the typos of common names: recall on that million is 0.937 instead of 0.972.
Two different names share a 32-bit fingerprint in about *D*²/2**33 pairs of *D*
distinct names (a hundred among a million); such a pair counts as one name, and then
still needs a number a digit off or a close address to be merged: about one chance in
10**5 per file.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from rapidfuzz.distance import OSA

from streamer.errors import ConfigError
from streamer.records import ReasonCode, Row

SIMILAR_EMAIL = "similar_email"
SIMILAR_PHONE_SAME_NAME = "similar_phone_same_name"

_MAX_PHONE_DIGITS = 18  # a leading 1 plus these digits still fits an unsigned 64-bit slot
_LEADING_DIGITS = 3  # country and area code: they say little about who a number is
_NAME_CACHE = 1 << 12  # names repeat: folding each distinct one once is enough
_SATURATED = 255  # a name's counters stop there

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
    ``max_block_size``: the most kept contacts one blocking key holds (default 16); it
    bounds the cost of a lookup when a name is very common at one domain.
    ``max_namesakes``: kept contacts sharing a name that make it common (default 64, at
    most 255): a common name's namesakes are not matched by a close number, and by an
    address only one typo off.
    """

    max_email_edits: int = 2
    email_chars_per_edit: int = 5
    max_phone_digit_differences: int = 1
    max_block_size: int = 16
    max_namesakes: int = 64

    def __post_init__(self) -> None:
        if not 0 <= self.max_email_edits <= 3:
            raise ConfigError("--fuzzy-email-edits must be between 0 and 3")
        if self.email_chars_per_edit < 1:
            raise ConfigError("email_chars_per_edit must be at least 1")
        if not 0 <= self.max_phone_digit_differences <= 3:
            raise ConfigError("--fuzzy-phone-digits must be between 0 and 3")
        if self.max_block_size < 1:
            raise ConfigError("max_block_size must be at least 1")
        if not 1 <= self.max_namesakes <= _SATURATED:
            raise ConfigError(f"--fuzzy-max-namesakes must be between 1 and {_SATURATED}")


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
    return _pieces(first_name) | _pieces(last_name)


@lru_cache(maxsize=_NAME_CACHE)
def _pieces(name: str) -> frozenset[str]:
    words = [fold_name(word).translate(_TRANSLITERATIONS) for word in _WORD_BREAKS.split(name)]
    pieces = {word for word in words if word} | {word[0] for word in words if word}
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
    return "".join(filter(str.isdigit, local))


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


def _print32(text: str) -> int:
    """32 bits of blake2b, never 0: stable across runs, unlike ``hash()`` of a string."""
    data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little") or 1


def _print64(text: str) -> int:
    """64 bits of blake2b, never 0."""
    data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") or 1


@lru_cache(maxsize=256)
def _phone_parts(length: int, count: int) -> tuple[tuple[int, int], ...]:
    """How to cut a number of ``length`` digits into ``count`` parts, so that ``count - 1``
    wrong digits spare one: (divisor, modulus) of each part's digits."""
    spread = length - _LEADING_DIGITS
    cuts = [min(max(_LEADING_DIGITS + spread * part // count, 0), length)
            for part in range(1, count)]
    return tuple((10 ** (length - end), 10 ** (end - start))
                 for start, end in pairwise([0, *cuts, length]))


def _close_numbers(first: int, second: int, allowed: int) -> bool:
    a, b = str(first), str(second)
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= allowed


_LOW = (1 << 32) - 1
# A slot is 32 bits: 1 + the contact's number, above the key's kind (3 bits) and 2 bits
# of its hash; 0 is an empty slot.
_TAG_BITS = 5
_TAG_MASK = (1 << _TAG_BITS) - 1
_MAX_CONTACTS = (1 << (32 - _TAG_BITS)) - 2
_PHONE, _EMAIL, _ID, _HEAD, _PART = range(5)  # kinds of key; part k of a number is 4 + k
_INITIAL_BITS = 10
_MAX_LOAD = 0.8
_ROW_KEYS = 8  # phone, email, external id, email block, up to 4 phone parts
_TYPICAL_ROW_KEYS = 3  # a kept row files 4-5 keys, a duplicate none: about 3 a row
_MAX_PRESIZED_BITS = 28  # 1 GiB of table: beyond this, let the rows prove they need it
_COUNTERS_PER_SLOT = 0.25  # the namesake sketch: about two byte counters per contact
_CACHE_LIMIT = 1 << 12  # folded names and domains remembered; forgotten all at once
_OFFSET_LIMIT = 1 << 32  # email bytes beyond this need 8-byte offsets
_LENGTH_BITS = 5  # local parts' lengths in an email block's chain, up to 31
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1


# A number stored as "1" + its digits has len(str(value)) - 1 digits: by its bit length,
# _DIGITS_BELOW[b] if it is at least _TEN_TO_DIGITS[b], one fewer if not.
_DIGITS_BELOW = [len(str((1 << bits) - 1)) - 1 for bits in range(65)]
_TEN_TO_DIGITS = [10 ** len(str((1 << bits) - 1)) // 10 for bits in range(65)]


def _sketch_size(slots: int) -> int:
    return max(int(slots * _COUNTERS_PER_SLOT), 251) | 1


def _remember(cache: dict[str, int], text: str, found: int) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[text] = found


class ContactIndex:
    """Kept contacts and every key that finds them again: exact and fuzzy dedup's index.

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

    __slots__ = ("_chain", "_common", "_domain_prints", "_domains", "_ends", "_exact", "_full",
                 "_ids", "_limit", "_locals", "_name_prints", "_names", "_namesakes", "_parts",
                 "_phones",
                 "_records", "_settings", "_shift", "_slots", "_used")

    def __init__(self, settings: FuzzySettings | None, *, exact: bool,
                 expected_rows: int = 0) -> None:
        """``expected_rows``: about how many rows will be checked, to size the table for
        them at once (it still doubles if they need more)."""
        self._settings = settings
        self._exact = exact
        self._parts = settings.max_phone_digit_differences + 1 if settings is not None else 1
        # Sized for the keys a typical kept row files; duplicates file none, so the
        # estimate errs large by the share of duplicates at most.
        wanted = int(expected_rows * _TYPICAL_ROW_KEYS / _MAX_LOAD)
        bits = min(max(_INITIAL_BITS, wanted.bit_length()), _MAX_PRESIZED_BITS)
        self._slots = array("I", [0]) * (1 << bits)
        self._shift = 32 - bits
        self._limit = int(len(self._slots) * _MAX_LOAD)
        self._used = 0
        self._full: set[int] = set()  # hashes of blocks that reached max_block_size
        self._common: set[int] = set()  # names that reached max_namesakes
        self._namesakes = bytearray(_sketch_size(len(self._slots)))
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
        return len(self._records)

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

    def check(self, rows: Iterable[Row], by_external_id: bool, *, match: bool = True,
              add: bool = True) -> None:
        """Mark each row duplicate of a kept contact, or keep it: exact keys (phone, email,
        external id when ``by_external_id``) if this index has them, then fuzzy rules.

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
        low, tags, bits, osa = _LOW, _TAG_MASK, _TAG_BITS, OSA.distance
        cuts: dict[int, tuple[tuple[int, int], ...]] = {}  # _phone_parts by length
        for row in rows:
            if row.reason is not None:
                continue
            if used + _ROW_KEYS > limit:
                self._used = used
                self._grow()
                slots, limit, shift = self._slots, self._limit, self._shift
                end = len(slots) - 1
                namesakes = self._namesakes
                width = len(namesakes)
            phone = row.phone
            digits = phone[1:]
            value = (int("1" + digits) if phone[:1] == "+" and digits.isdigit()
                     and digits.isascii() and len(digits) <= _MAX_PHONE_DIGITS else 0)
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
            if exact:
                # The same number: the hash finds it, the digits prove it.
                if value:
                    h = hash((value, _PHONE)) & low
                    tag = _PHONE << 2 | h & 3
                    at = h >> shift
                    slot = slots[at]
                    while slot and not (slot & tags == tag
                                        and phones[(slot >> bits) - 1] == value):
                        at = at + 1 if at < end else 0
                        slot = slots[at]
                    if slot:
                        row.reason = ReasonCode.SAME_PHONE
                        row.duplicate_of = records[(slot >> bits) - 1]
                        continue
                    phone_at, phone_slot = at, tag
                if email:
                    h = zlib.crc32(local_bytes, domain_print & low)
                    tag = _EMAIL << 2 | h & 3
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
                    if slot:
                        row.reason = ReasonCode.SAME_EMAIL
                        row.duplicate_of = records[(slot >> bits) - 1]
                        continue
                    email_at, email_slot = at, tag
                if by_external_id:
                    id_key = _print64(row.external_id)
                    h = id_key & low
                    tag = _ID << 2 | h & 3
                    at = h >> shift
                    slot = slots[at]
                    while slot and not (slot & tags == tag
                                        and ids[(slot >> bits) - 1] == id_key):
                        at = at + 1 if at < end else 0
                        slot = slots[at]
                    if slot:
                        row.reason = ReasonCode.SAME_EXTERNAL_ID
                        row.duplicate_of = records[(slot >> bits) - 1]
                        continue
                    id_at, id_slot = at, tag
            name = 0
            if fuzzy:
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
                    h = hash((name, domain_print, _HEAD)) & low
                    if h not in full:
                        # The block's head: its newest contact, chained to the others.
                        tag = _HEAD << 2 | h & 3
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
                            local_length = min(len(local), _LENGTH_MASK)
                            shortest, longest = local_length - max_edits, local_length + max_edits
                            block_head = slot >> bits
                            contact = block_head - 1
                            found, kept_local, edits = -1, "", 0
                            ambiguous = not match
                            while contact >= 0 and block_filed < max_block:
                                block_filed += 1
                                link = chain[contact]
                                if not ambiguous and shortest <= link & _LENGTH_MASK <= longest:
                                    kept = locals_[ends[contact]:ends[contact + 1]].decode(
                                        "utf-8", "surrogatepass")
                                    if (distance := osa(local, kept, score_cutoff=max_edits)
                                            ) <= max_edits:
                                        ambiguous = found >= 0
                                        found, kept_local, edits = contact, kept, distance
                                contact = (link >> _LENGTH_BITS) - 1
                            if found >= 0 and not ambiguous and self._mistyped(
                                    row, local, kept_local, edits, common):
                                by_email = found
                if parts > 1 and value and not common:
                    candidates: list[int] = []
                    length = len(digits)
                    blocked = False
                    cut = cuts.get(length) or cuts.setdefault(length,
                                                              _phone_parts(length, parts))
                    for key, (divisor, modulus) in enumerate(cut):
                        part = value // divisor % modulus
                        h = hash((name, length, key, part, _PART)) & low
                        if h in full:
                            blocked = True
                            continue
                        tag = (_PART + key) << 2 | h & 3
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
                    if candidates and match and not blocked:
                        by_phone = self._by_phone(row, value, local, domain_print, name,
                                                  candidates)
                if by_email >= 0 or by_phone >= 0:
                    if by_email >= 0 and by_phone >= 0 and by_email != by_phone:
                        pass  # two people: neither is trusted
                    elif by_email >= 0:
                        row.reason = ReasonCode.SIMILAR_EMAIL
                        row.duplicate_of = records[by_email]
                        continue
                    else:
                        row.reason = ReasonCode.SIMILAR_PHONE_SAME_NAME
                        row.duplicate_of = records[by_phone]
                        continue
            if not add:
                continue
            # Kept: remember it, and file each key where its lookup ended (unless another
            # key of this row took that slot meanwhile).
            contact = len(records)
            if contact > _MAX_CONTACTS:
                raise OverflowError("too many contacts for one dedup index")
            records.append(row.record)
            phones.append(value)
            names.append(name)
            domains.append(domain_print)
            if local_bytes:
                locals_ += local_bytes
                if len(locals_) >= _OFFSET_LIMIT and ends.typecode == "I":
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
            link = min(len(local), _LENGTH_MASK)
            if block_at >= 0:
                if block_head:  # the new contact heads the block now
                    chain.append(block_head << _LENGTH_BITS | link)
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
            if name and not common:
                # One more of this name. Conservative update: only the smaller counter
                # is raised, so the name's count is overstated as little as possible.
                first_count, second_count = namesakes[first_at], namesakes[second_at]
                if first_count <= second_count and first_count < _SATURATED:
                    namesakes[first_at] = first_count + 1
                if second_count <= first_count and second_count < _SATURATED:
                    namesakes[second_at] = second_count + 1
        self._used = used

    def _cuts(self, length: int, cuts: dict[int, tuple[tuple[int, int], ...]]
              ) -> tuple[tuple[int, int], ...]:
        found = cuts[length] = _phone_parts(length, self._parts)
        return found

    def _grow(self) -> None:
        """Double the table, each key placed again by its hash, and the sketch with it."""
        old = self._slots
        size = 2 * len(old)
        shift = self._shift - 1
        slots = array("I", [0]) * size
        end = size - 1
        phones, names, domains, ends, locals_ = (self._phones, self._names, self._domains,
                                                 self._ends, self._locals)
        crc32, low, bits = zlib.crc32, _LOW, _TAG_BITS
        cuts: dict[int, tuple[tuple[int, int], ...]] = {}  # phone_parts by length
        for slot in filter(None, old):
            contact = (slot >> bits) - 1
            kind = slot >> 2 & 7
            if kind >= _PART:
                value = phones[contact]
                magnitude = value.bit_length()
                length = _DIGITS_BELOW[magnitude] - (value < _TEN_TO_DIGITS[magnitude])
                divisor, modulus = (cuts.get(length) or self._cuts(length, cuts))[kind - _PART]
                h = hash((names[contact], length, kind - _PART, value // divisor % modulus,
                          _PART)) & low
            elif kind == _PHONE:
                h = hash((phones[contact], _PHONE)) & low
            elif kind == _EMAIL:
                h = crc32(locals_[ends[contact]:ends[contact + 1]], domains[contact] & low)
            elif kind == _HEAD:
                h = hash((names[contact], domains[contact], _HEAD)) & low
            else:
                h = self._ids[contact] & low
            at = h >> shift
            while slots[at]:
                at = at + 1 if at < end else 0
            slots[at] = slot
        self._slots, self._shift = slots, shift
        self._limit = int(size * _MAX_LOAD)
        # The sketch grows with the table, recounted from the names themselves.
        width = _sketch_size(size)
        namesakes = bytearray(width)
        for name in filter(None, self._names):
            first_at, second_at = name % width, (name >> 16 | name << 16) % width
            first_count, second_count = namesakes[first_at], namesakes[second_at]
            if first_count <= second_count and first_count < _SATURATED:
                namesakes[first_at] = first_count + 1
            if second_count <= first_count and second_count < _SATURATED:
                namesakes[second_at] = second_count + 1
        self._namesakes = namesakes

    def _name_print(self, text: str) -> int:
        folded = fold_name(text)
        found = _print32(folded) if folded else 0
        _remember(self._name_prints, text, found)
        return found

    def _domain_print(self, domain: str) -> int:
        found = _print64(domain)
        _remember(self._domain_prints, domain, found)
        return found

    def _local_of(self, contact: int) -> str:
        ends = self._ends
        return self._locals[ends[contact]:ends[contact + 1]].decode("utf-8", "surrogatepass")

    def _mistyped(self, row: Row, local: str, kept_local: str, edits: int,
                  common: bool) -> bool:
        """Whether ``local`` is ``kept_local`` mistyped, ``edits`` apart: the module
        docstring's conditions but ambiguity, cheapest first."""
        settings = self._settings
        assert settings is not None
        budget = _edit_budget(local, kept_local, settings)
        if (edits > (min(budget, 1) if common else budget)
                or _digits(local) != _digits(kept_local)
                or _extends(local, kept_local) or _extends(kept_local, local)):
            return False
        pieces = name_pieces(row.first_name, row.last_name)
        return not (_chosen_from_name(local, pieces) and _chosen_from_name(kept_local, pieces))

    def _by_phone(self, row: Row, value: int, local: str, domain: int, name: int,
                  candidates: list[int]) -> int:
        """The one kept namesake whose number is a digit off, if their emails allow; -1."""
        settings = self._settings
        assert settings is not None
        names, phones = self._names, self._phones
        allowed = settings.max_phone_digit_differences
        close = {contact for contact in candidates
                 if names[contact] == name and _close_numbers(value, phones[contact], allowed)}
        if len(close) != 1:
            return -1
        contact = close.pop()
        kept_local = self._local_of(contact)
        if local and kept_local and (self._domains[contact] != domain or not _mistyped_local(
                local, kept_local, name_pieces(row.first_name, row.last_name),
                settings.max_email_edits)):
            return -1  # both have an email, and not one address mistyped
        return contact


class FuzzyIndex:
    """Kept contacts, indexed to find later records that are the same person with a typo.

    Call ``match`` for each record exact dedup did not catch, in file order, and ``add``
    those that stay kept. The module docstring has the rules and why they are safe.
    (:class:`streamer.dedup.Dedup` keeps exact and fuzzy keys in one index instead.)
    """

    def __init__(self, settings: FuzzySettings = FuzzySettings()) -> None:
        self._index = ContactIndex(settings, exact=False)

    def __len__(self) -> int:
        return len(self._index)

    def nbytes(self) -> int:
        """Bytes held, spare capacity included: for benchmarks."""
        return self._index.nbytes()

    def match(self, record: int, phone: str, email: str, first_name: str,
              last_name: str) -> tuple[str, int] | None:
        """If this contact fuzzily duplicates a kept one: (reason, kept record). Else None."""
        row = _row(record, phone, email, first_name, last_name)
        self._index.check((row,), False, add=False)
        if row.duplicate_of is None or row.reason is None:
            return None
        return str(row.reason), row.duplicate_of

    def add(self, record: int, phone: str, email: str, first_name: str, last_name: str) -> None:
        """Remember a kept contact (one without both names can never match: not kept)."""
        self._index.check((_row(record, phone, email, first_name, last_name),), False,
                          match=False)


def _row(record: int, phone: str, email: str, first_name: str, last_name: str) -> Row:
    row = Row(record, [])
    row.phone, row.email, row.first_name, row.last_name = phone, email, first_name, last_name
    return row
