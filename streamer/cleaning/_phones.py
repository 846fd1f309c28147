"""Phone numbers to E.164 with libphonenumber's verdicts, several times faster.

:func:`read_phone_exact` is the reference: ``phonenumbers.parse`` and its validity
checks, plus the "dropped plus" correction (see
:func:`streamer.cleaning._normalize.normalize_phone`).
:func:`read_phone` returns exactly what it returns, for every input. Numbers as people
write them (ASCII digits, the separators `` -.()/`` and an optional leading ``+``) take a
fast path that replays ``parse`` on the bare digits with the library's own metadata,
compiled once; anything else (letters, extensions, other scripts' digits, odd plus signs,
unknown regions) goes to the reference.

The fast path mirrors ``phonenumberutil`` step by step; each function names the one it
replays. What it may skip is only what cannot apply to such input: finding the number in
surrounding text, RFC 3966 parameters, extensions, vanity letters, non-ASCII digits.
``benchmarks/phone_agreement.py`` and ``tests/test_phones.py`` compare the two on millions
of values; a new ``phonenumbers`` release must pass them before it ships.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    ValidationResult,
)

from streamer.cleaning._phone_metadata import (
    FINDERS,
    MAX_NSN,
    MIN_NSN,
    REGION_PLANS,
    UNSURE,
    Finder,
    Plan,
    Unsure,
    code_plan,
    region_plan,
)

Read = tuple[str, str]  # (E.164, the region the number rings in)

_CACHE_SIZE = 1 << 16
_MAX_FAST_LENGTH = 64  # longer raw strings (never a real number) go to the library
_MAX_COUNTRY_CODE_DIGITS = 3  # _MAX_LENGTH_COUNTRY_CODE
_MIN_FAST_DIGITS = 3  # two bare digits are viable, "1 2" is not: leave that to the library
# _test_number_length verdicts for which parse() keeps the national prefix it found.
_KEEP_PREFIX = frozenset({ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                          ValidationResult.INVALID_LENGTH})




# --- the reference -----------------------------------------------------------------------


def writes_trunk_prefix(national: phonenumbers.PhoneNumber, region: str) -> bool:
    """Whether ``region`` writes ``national`` with a trunk prefix: its metadata has a
    national prefix and the number's national format carries it (``030 12345678`` in DE;
    never in IT, VA or PL, which have none; not for formats without one, such as FR's
    short numbers). Only there can digits without it be an international number whose
    ``+`` was dropped."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = metadata.national_prefix if metadata is not None else None
    if not prefix:
        return False
    written = phonenumbers.format_number(national, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.normalize_digits_only(written) == (
        prefix + phonenumbers.national_significant_number(national))


def read_phone_exact(raw: str, region: str) -> Read | None:
    """(E.164, the region the number rings in), or ``None``: libphonenumber's own answer.

    The definition :func:`read_phone` must agree with; see
    :func:`streamer.cleaning._normalize.normalize_phone` for the rules.
    """
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    code = str(number.country_code)
    # The dropped-"+" reading: the national number begins with the country code's digits
    # (cheap to test first: true for almost no number), and so do the digits as written.
    if str(number.national_number).startswith(code) and "+" not in raw:
        digits = phonenumbers.normalize_digits_only(raw)
        if digits.startswith(code) and not digits.startswith("0") and writes_trunk_prefix(
                number, region):
            try:
                international = phonenumbers.parse("+" + digits, None)
            except phonenumbers.NumberParseException:
                pass
            else:
                if phonenumbers.is_valid_number(international):
                    number = international
    # is_valid_number() is region_code_for_number() plus is_valid_number_for_region(); the
    # first is the costly half (it tries every region sharing +1), so call it only once.
    number_region = phonenumbers.region_code_for_number(number)
    if number_region is None or not phonenumbers.is_valid_number_for_region(
            number, number_region):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), number_region


# --- parse(), replayed on bare digits -------------------------------------------------------


def _extract_country_code(number: str) -> tuple[int, str]:
    """_extract_country_code: the calling code the digits begin with, else (0, number)."""
    if not number or number[0] == "0":
        return 0, number
    for length in range(1, min(len(number), _MAX_COUNTRY_CODE_DIGITS) + 1):
        code = int(number[:length])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, number[length:]
    return 0, number


def _split(digits: str, plus: bool, plan: Plan | None) -> tuple[int, str] | None:
    """_maybe_extract_country_code, with parse()'s retry without the '+'.

    (country code, national number) when a country code is written, (0, digits) when it
    is not, ``None`` when parse() raises.
    """
    if plus:
        if len(digits) <= MIN_NSN:
            return None  # TOO_SHORT_AFTER_IDD
        code, rest = _extract_country_code(digits)
        if code:
            return code, rest
        # INVALID_COUNTRY_CODE after a '+': parse() tries again as if there were none,
        # and gives up unless that finds a country code (after an IDD).
        again = _split(digits, False, plan)
        return again if again is not None and again[0] else None
    if plan is None:
        return 0, digits
    found = plan.idd.match(digits) if plan.idd is not None else None
    # _parse_prefix_as_idd: an IDD followed by a 0 is not one (no country code starts 0).
    if found is not None and not digits.startswith("0", found.end()):
        rest = digits[found.end():]
        if len(rest) <= MIN_NSN:
            return None  # TOO_SHORT_AFTER_IDD
        code, rest = _extract_country_code(rest)
        return (code, rest) if code else None  # else INVALID_COUNTRY_CODE
    # The region's own country code written without '+': taken when the rest reads
    # better than the whole, or the whole is too long.
    if digits.startswith(plan.code):
        rest = plan.strip_national_prefix(digits[len(plan.code):])
        if (not plan.general_matches(digits) and plan.general_matches(rest)) or (
                plan.verdicts[len(digits)] == ValidationResult.TOO_LONG):
            return plan.country_code, rest
    return 0, digits


def _parse(digits: str, plus: bool, plan: Plan | None) -> tuple[int, str] | Unsure | None:
    """parse(): (country code, national significant number), or ``None`` where it raises.

    ``digits`` are at most _MAX_FAST_LENGTH long, so every length met here (a national
    prefix transform adds a digit or two at most) has a verdict in ``plan.verdicts``.
    """
    split = _split(digits, plus, plan)
    if split is None:
        return None
    code, nsn = split
    if code:
        plan = code_plan(code)
        if plan is None:
            return UNSURE  # a calling code without metadata: parse() asserts
    elif plan is None:
        return None  # no region and no country code: INVALID_COUNTRY_CODE
    else:
        code = plan.country_code
    if len(nsn) < MIN_NSN:
        return None  # TOO_SHORT_NSN
    # A national prefix is stripped only when what is left has a possible length.
    stripped = plan.strip_national_prefix(nsn)
    if stripped != nsn and plan.verdicts[len(stripped)] not in _KEEP_PREFIX:
        nsn = stripped
    if len(nsn) > MAX_NSN:
        return None  # TOO_LONG
    # The library stores int(nsn) and its leading zeros (Italian leading zero); that gives
    # back nsn exactly, so national_significant_number() is nsn itself.
    return code, nsn


def _ringing_region(code: int, nsn: str) -> str | Unsure | None:
    """The region a valid number rings in, or ``None`` if it is not valid.

    region_code_for_number() then is_valid_number_for_region(), as read_phone_exact.
    Not cached: on files of millions of distinct numbers a cache misses far more than it
    hits, and costs more than the regex calls it saves.
    """
    finder = FINDERS.get(code) or _finder(code)
    return finder.region_of(nsn) if isinstance(finder, Finder) else finder


def _finder(code: int) -> Finder | Unsure | None:
    finder = Finder.of(code)
    if isinstance(finder, Finder):
        FINDERS[code] = finder
    return finder


def _without_separators(raw: str) -> str:
    """``raw`` without the separators `` -.()/``.

    All are in libphonenumber's _VALID_PUNCTUATION, none can start or end an extension
    (those need "x", "#", "~", ",", ";" or letters), and with three digits or more any
    mix of them with digits is a viable number. Chained replace() is a few times faster
    than str.translate() with deletions.
    """
    return (raw.replace(" ", "").replace("-", "").replace(".", "").replace("(", "")
            .replace(")", "").replace("/", ""))


def _read_fast(raw: str, region: str) -> Read | Unsure | None:
    """read_phone_exact's answer, or UNSURE when the input is not a shape replayed here."""
    plan = REGION_PLANS.get(region) or region_plan(region)
    if plan is None or len(raw) > _MAX_FAST_LENGTH:
        return UNSURE
    bare = raw if raw.isdigit() else _without_separators(raw)
    # A '+' is allowed only before every digit ("+44 20", "(+44) 20"): as a leading plus
    # the library strips it; anywhere else the number is not viable.
    plus = bare.startswith("+")
    digits = bare[1:] if plus else bare
    if len(digits) < _MIN_FAST_DIGITS or not (digits.isascii() and digits.isdigit()):
        return UNSURE
    parsed = _parse(digits, plus, plan)
    if parsed is None or parsed is UNSURE:
        return parsed
    code, nsn = parsed
    country = str(code)
    # The dropped-"+" correction, as read_phone_exact: str(national_number) is nsn without
    # its leading zeros; "+" in raw is `plus` (no other '+' reaches here).
    if (not plus and nsn.lstrip("0").startswith(country) and digits.startswith(country)
            and not digits.startswith("0") and writes_trunk_prefix(_number(code, nsn), region)):
        international = _parse(digits, True, None)
        if international is UNSURE:
            return UNSURE
        if international is not None:
            valid = _ringing_region(*international)
            if valid is UNSURE:
                return UNSURE
            if valid is not None:
                code, nsn = international
                country = str(code)
    ringing = _ringing_region(code, nsn)
    if ringing is None or ringing is UNSURE:
        return ringing
    return f"+{country}{nsn}", ringing


def _number(code: int, nsn: str) -> phonenumbers.PhoneNumber:
    """The PhoneNumber parse() builds for a national significant number (its leading
    zeros kept as the library keeps them)."""
    zeros = 0  # _set_italian_leading_zeros_for_phone_number
    if len(nsn) > 1 and nsn[0] == "0":
        zeros = 1
        while zeros < len(nsn) - 1 and nsn[zeros] == "0":
            zeros += 1
    return phonenumbers.PhoneNumber(
        country_code=code, national_number=int(nsn),
        italian_leading_zero=True if zeros else None,
        number_of_leading_zeros=zeros if zeros > 1 else None)


#: The library's answers, for values the fast path hands over: those cost ~45 us each and
#: odd values repeat. Not the fast path's: nearly every number in a file is distinct, and
#: an LRU miss costs half as much again as reading the number.
library_read = lru_cache(maxsize=_CACHE_SIZE)(read_phone_exact)


def read_phone(raw: str, region: str) -> Read | None:
    """(E.164, the region the number rings in), or ``None``: exactly
    :func:`read_phone_exact`, without its cost for numbers as people write them."""
    read = _read_fast(raw, region)
    return library_read(raw, region) if read is UNSURE else read


_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+]?\d+")
#: Why such a number is not read: the digits past the shown precision are gone.
SCIENTIFIC_NOTE = "in scientific notation (Excel dropped its digits)"


def in_scientific_notation(raw: str) -> bool:
    """``1.51E+11``: a number a spreadsheet showed in scientific notation and exported
    so; its last digits are lost, and reading what is left could dial someone else.
    Callers ask before :func:`read_phone`: it costs a membership test per number."""
    return ("E" in raw or "e" in raw) and _SCIENTIFIC.fullmatch(raw.strip()) is not None
