"""How the dedup index keys and counts contacts: stable fingerprints, a number cut into
blocking parts, the layout of a table slot, and the namesake sketch's size."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from itertools import pairwise

from streamer.settings import MAX_NAMESAKES

MAX_PHONE_DIGITS = 18  # a leading 1 plus these digits still fits an unsigned 64-bit slot
_LEADING_DIGITS = 3  # country and area code: they say little about who a number is
SATURATED = MAX_NAMESAKES  # a name's counters stop there


def print32(text: str) -> int:
    """32 bits of blake2b, never 0: stable across runs, unlike ``hash()`` of a string."""
    data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little") or 1


def print64(text: str) -> int:
    """64 bits of blake2b, never 0."""
    data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") or 1


@lru_cache(maxsize=256)
def phone_parts(length: int, count: int) -> tuple[tuple[int, int], ...]:
    """How to cut a number of ``length`` digits into ``count`` parts, so that ``count - 1``
    wrong digits spare one: (divisor, modulus) of each part's digits."""
    spread = length - _LEADING_DIGITS
    cuts = [min(max(_LEADING_DIGITS + spread * part // count, 0), length)
            for part in range(1, count)]
    return tuple((10 ** (length - end), 10 ** (end - start))
                 for start, end in pairwise([0, *cuts, length]))


LOW = (1 << 32) - 1
# A slot is 32 bits: 1 + the contact's number, above the key's kind (3 bits) and 2 bits
# of its hash; 0 is an empty slot.
TAG_BITS = 5
TAG_MASK = (1 << TAG_BITS) - 1
MAX_CONTACTS = (1 << (32 - TAG_BITS)) - 2
PHONE, EMAIL, ID, HEAD, PART = range(5)  # kinds of key; part k of a number is 4 + k
INITIAL_BITS = 10
MAX_LOAD = 0.8
ROW_KEYS = 8  # phone, email, external id, email block, up to 4 phone parts
TYPICAL_ROW_KEYS = 3  # a kept row files 4-5 keys, a duplicate none: about 3 a row
MAX_PRESIZED_BITS = 28  # 1 GiB of table: beyond this, let the rows prove they need it
COUNTERS_PER_SLOT = 0.25  # the namesake sketch: about two byte counters per contact
CACHE_LIMIT = 1 << 12  # folded names and domains remembered; forgotten all at once
OFFSET_LIMIT = 1 << 32  # email bytes beyond this need 8-byte offsets
LENGTH_BITS = 5  # local parts' lengths in an email block's chain, up to 31
LENGTH_MASK = (1 << LENGTH_BITS) - 1


# A number stored as "1" + its digits has len(str(value)) - 1 digits: by its bit length,
# DIGITS_BELOW[b] if it is at least TEN_TO_DIGITS[b], one fewer if not.
DIGITS_BELOW = [len(str((1 << bits) - 1)) - 1 for bits in range(65)]
TEN_TO_DIGITS = [10 ** len(str((1 << bits) - 1)) // 10 for bits in range(65)]


def sketch_size(slots: int) -> int:
    return max(int(slots * COUNTERS_PER_SLOT), 251) | 1


def remember(cache: dict[str, int], text: str, found: int) -> None:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[text] = found

