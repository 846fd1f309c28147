"""Phone numbers to E.164 with libphonenumber's verdicts, several times faster.

:func:`read_phone_exact` is the reference: ``phonenumbers.parse`` and its validity
checks, plus the "dropped plus" correction (see :func:`streamer.normalize.normalize_phone`).
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
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    REGION_CODE_FOR_NON_GEO_ENTITY,
    SUPPORTED_REGIONS,
    PhoneMetadata,
    PhoneNumberDesc,
    ValidationResult,
)

Read = tuple[str, str]  # (E.164, the region the number rings in)

_CACHE_SIZE = 1 << 16
_MAX_INPUT_LENGTH = 250  # phonenumberutil._MAX_INPUT_STRING_LENGTH: longer raises TOO_LONG
_MAX_FAST_LENGTH = 64  # longer raw strings (never a real number) go to the library
_MIN_NSN = 2  # _MIN_LENGTH_FOR_NSN
_MAX_NSN = 17  # _MAX_LENGTH_FOR_NSN
_MAX_COUNTRY_CODE_DIGITS = 3  # _MAX_LENGTH_COUNTRY_CODE
_MIN_FAST_DIGITS = 3  # two bare digits are viable, "1 2" is not: leave that to the library
# _test_number_length verdicts for which parse() keeps the national prefix it found.
_KEEP_PREFIX = frozenset({ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                          ValidationResult.INVALID_LENGTH})


class _Unsure(Enum):
    """The fast path cannot vouch for its answer: ask the library."""

    UNSURE = 0


_UNSURE = _Unsure.UNSURE


# --- the reference -----------------------------------------------------------------------


def read_phone_exact(raw: str, region: str) -> Read | None:
    """(E.164, the region the number rings in), or ``None``: libphonenumber's own answer.

    The definition :func:`read_phone` must agree with; see
    :func:`streamer.normalize.normalize_phone` for the rules.
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
        if digits.startswith(code) and not digits.startswith("0"):
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


# --- metadata, compiled once per region -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Desc:
    """A PhoneNumberDesc that can match something: its pattern and possible lengths."""

    pattern: str
    lengths: frozenset[int]  # empty: any length (as _is_number_matching_desc)

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> _Desc | None:
        if desc is None or not desc.national_number_pattern:
            return None  # _match_national_number: no pattern matches nothing
        return cls(desc.national_number_pattern, frozenset(desc.possible_length))


@dataclass(frozen=True, slots=True)
class _Plan:
    """One region's (or non-geographic calling code's) metadata, as parse() uses it."""

    country_code: int
    code: str  # the country code's digits
    idd: re.Pattern[str] | None  # international_prefix
    national_prefix: re.Pattern[str] | None  # national_prefix_for_parsing
    transform: str  # national_prefix_transform_rule, "" for none
    general: re.Pattern[str] | None  # general_desc's pattern (no length check: parse)
    verdicts: tuple[int, ...]  # _test_number_length's verdict for each input length
    valid: dict[int, re.Pattern[str]]  # by length: fullmatches exactly the valid numbers
    leading_digits: str | None

    @classmethod
    def of(cls, metadata: PhoneMetadata) -> _Plan | None:
        """The plan, or None for metadata the library itself could not read numbers by
        (no general desc, code or lengths): such a region is left to the library."""
        general = metadata.general_desc
        if general is None or metadata.country_code is None or not general.possible_length:
            return None
        # _number_type_helper: any of these types is a known type. Mobile counts only
        # when its pattern differs from fixed line's (it is not tested otherwise).
        types = [metadata.premium_rate, metadata.toll_free, metadata.shared_cost,
                 metadata.voip, metadata.personal_number, metadata.pager, metadata.uan,
                 metadata.voicemail, metadata.fixed_line]
        if not metadata.same_mobile_and_fixed_line_pattern:
            types.append(metadata.mobile)
        return cls(
            country_code=metadata.country_code,
            code=str(metadata.country_code),
            idd=_compile(metadata.international_prefix),
            national_prefix=_compile(metadata.national_prefix_for_parsing),
            transform=metadata.national_prefix_transform_rule or "",
            general=_compile(general.national_number_pattern),
            verdicts=tuple(_length_verdict(length, tuple(general.possible_length),
                                           frozenset(general.possible_length_local_only))
                           for length in range(_MAX_INPUT_LENGTH + 1)),
            valid=_validity_patterns(_Desc.of(general),
                                     [desc for desc in map(_Desc.of, types) if desc]),
            leading_digits=metadata.leading_digits,
        )

    def general_matches(self, number: str) -> bool:
        """_match_national_number(number, general_desc, False)."""
        return self.general is not None and self.general.fullmatch(number) is not None

    def is_valid(self, nsn: str) -> bool:
        """_number_type_helper(nsn, metadata) != UNKNOWN."""
        pattern = self.valid.get(len(nsn))
        return pattern is not None and pattern.fullmatch(nsn) is not None

    def strip_national_prefix(self, number: str) -> str:
        """_maybe_strip_national_prefix_carrier_code(number, metadata)[1]."""
        if not number or self.national_prefix is None:
            return number
        found = self.national_prefix.match(number)
        if found is None:
            return number
        viable = self.general_matches(number)
        if not self.transform or found.groups()[-1] is None:
            stripped = number[found.end():]
        else:
            stripped = self.national_prefix.sub(self.transform, number, count=1)
        # A prefix is not stripped when that turns a viable number into a non-viable one.
        return number if viable and not self.general_matches(stripped) else stripped


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _length_verdict(length: int, possible: tuple[int, ...], local_only: frozenset[int]) -> int:
    """_test_number_length for PhoneNumberType.UNKNOWN, by the number's length alone."""
    if length in local_only:
        return ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    shortest = possible[0]  # the library's order, as it reads them
    if shortest == length:
        return ValidationResult.IS_POSSIBLE
    if shortest > length:
        return ValidationResult.TOO_SHORT
    if possible[-1] < length:
        return ValidationResult.TOO_LONG
    if length in possible[1:]:
        return ValidationResult.IS_POSSIBLE
    return ValidationResult.INVALID_LENGTH


def _validity_patterns(general: _Desc | None, types: list[_Desc]) -> dict[int, re.Pattern[str]]:
    """For each length a number can have, one pattern for _number_type_helper != UNKNOWN.

    A number is valid when the general desc matches it and so does one of the types
    whose lengths admit it: ``(?=general\\Z)(?:type|type...)``, one regex call instead of
    a dozen. Alternatives keep their meaning side by side: the metadata's patterns have
    no anchors, flags or back-references.
    """
    patterns: dict[int, re.Pattern[str]] = {}
    if general is None:
        return patterns  # no general pattern: nothing is valid
    for length in range(_MAX_NSN + 1):
        if general.lengths and length not in general.lengths:
            continue
        alternatives = [desc.pattern for desc in types
                        if not desc.lengths or length in desc.lengths]
        if alternatives:
            either = "|".join(f"(?:{pattern})" for pattern in alternatives)
            patterns[length] = re.compile(f"(?=(?:{general.pattern})\\Z)(?:{either})")
    return patterns


@dataclass(frozen=True, slots=True)
class _Finder:
    """region_code_for_number() then is_valid_number_for_region() for one calling code.

    _region_code_for_number_from_list takes the first region, in the library's order,
    whose leading digits begin the number or, for a region without them, that calls it
    valid. Runs of regions with leading digits become one alternation: Python's regex
    engine tries alternatives in order, so the first that matches is the first region.
    A code of one region is one step: that region, if the number is valid there.
    """

    # (leading digits, or None to choose by validity; the regions' metadata; the region to
    # answer for each, None where is_valid_number_for_region fails: another calling code)
    steps: tuple[tuple[re.Pattern[str] | None, tuple[_Plan, ...], tuple[str | None, ...]], ...]

    @classmethod
    def of(cls, code: int) -> _Finder | _Unsure | None:
        """The finder; None when no number of ``code`` is valid; _UNSURE when a region's
        metadata has no plan (see _Plan.of)."""
        regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
        if regions is None:
            return None  # region_code_for_number() is None
        if regions == (REGION_CODE_FOR_NON_GEO_ENTITY,):
            plan = _code_plan(code)
            if plan is None:
                found = PhoneMetadata.metadata_for_nongeo_region(code) is not None
                return _UNSURE if found else None  # no metadata: never valid
            return cls(((None, (plan,), regions),))
        steps: list[tuple[re.Pattern[str] | None, tuple[_Plan, ...], tuple[str | None, ...]]] = []
        run: list[tuple[str, _Plan]] = []  # regions with leading digits not yet in a step

        def add(leading: re.Pattern[str] | None, members: list[tuple[str, _Plan]]) -> None:
            steps.append((leading, tuple(plan for _, plan in members),
                           tuple(region if plan.country_code == code else None
                                 for region, plan in members)))

        for region in regions:
            plan = _region_plan(region)
            if plan is None:
                if PhoneMetadata.metadata_for_region(region) is not None:
                    return _UNSURE
                continue  # the library skips a region without metadata
            if plan.leading_digits is None or len(regions) == 1:
                if run:
                    add(_either_leading(run), run)
                    run = []
                add(None, [(region, plan)])
            else:
                run.append((region, plan))
        if run:
            add(_either_leading(run), run)
        return cls(tuple(steps))

    def region_of(self, nsn: str) -> str | None:
        for leading, plans, rings in self.steps:
            if leading is None:
                if plans[0].is_valid(nsn):
                    return rings[0]
                continue
            found = leading.match(nsn)
            if found is not None:
                assert found.lastgroup is not None
                at = int(found.lastgroup[1:])
                return rings[at] if plans[at].is_valid(nsn) else None
        return None


def _either_leading(run: list[tuple[str, _Plan]]) -> re.Pattern[str]:
    """One pattern for a run of regions' leading digits; group ``_i`` is the i-th region."""
    return re.compile("|".join(f"(?P<_{at}>{plan.leading_digits})"
                               for at, (_, plan) in enumerate(run)))


# Compiled on first use: a run sees a handful of regions, not all 250.
_REGION_PLANS: dict[str, _Plan] = {}
_CODE_PLANS: dict[int, _Plan] = {}
_FINDERS: dict[int, _Finder] = {}


def _region_plan(region: str) -> _Plan | None:
    plan = _REGION_PLANS.get(region)
    if plan is None and region in SUPPORTED_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        plan = _Plan.of(metadata) if metadata is not None else None
        if plan is not None:
            _REGION_PLANS[region] = plan
    return plan


def _code_plan(code: int) -> _Plan | None:
    """The metadata parse() reads a number with calling code ``code`` by: its main
    region's, or the non-geographic entity's (metadata_for_region_or_calling_code)."""
    plan = _CODE_PLANS.get(code)
    if plan is None and code in COUNTRY_CODE_TO_REGION_CODE:
        main = COUNTRY_CODE_TO_REGION_CODE[code][0]
        if main == REGION_CODE_FOR_NON_GEO_ENTITY:
            metadata = PhoneMetadata.metadata_for_nongeo_region(code)
            plan = _Plan.of(metadata) if metadata is not None else None
        else:
            plan = _region_plan(main)
        if plan is not None:
            _CODE_PLANS[code] = plan
    return plan


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


def _split(digits: str, plus: bool, plan: _Plan | None) -> tuple[int, str] | None:
    """_maybe_extract_country_code, with parse()'s retry without the '+'.

    (country code, national number) when a country code is written, (0, digits) when it
    is not, ``None`` when parse() raises.
    """
    if plus:
        if len(digits) <= _MIN_NSN:
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
        if len(rest) <= _MIN_NSN:
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


def _parse(digits: str, plus: bool, plan: _Plan | None) -> tuple[int, str] | _Unsure | None:
    """parse(): (country code, national significant number), or ``None`` where it raises.

    ``digits`` are at most _MAX_FAST_LENGTH long, so every length met here (a national
    prefix transform adds a digit or two at most) has a verdict in ``plan.verdicts``.
    """
    split = _split(digits, plus, plan)
    if split is None:
        return None
    code, nsn = split
    if code:
        plan = _code_plan(code)
        if plan is None:
            return _UNSURE  # a calling code without metadata: parse() asserts
    elif plan is None:
        return None  # no region and no country code: INVALID_COUNTRY_CODE
    else:
        code = plan.country_code
    if len(nsn) < _MIN_NSN:
        return None  # TOO_SHORT_NSN
    # A national prefix is stripped only when what is left has a possible length.
    stripped = plan.strip_national_prefix(nsn)
    if stripped != nsn and plan.verdicts[len(stripped)] not in _KEEP_PREFIX:
        nsn = stripped
    if len(nsn) > _MAX_NSN:
        return None  # TOO_LONG
    # The library stores int(nsn) and its leading zeros (Italian leading zero); that gives
    # back nsn exactly, so national_significant_number() is nsn itself.
    return code, nsn


def _ringing_region(code: int, nsn: str) -> str | _Unsure | None:
    """The region a valid number rings in, or ``None`` if it is not valid.

    region_code_for_number() then is_valid_number_for_region(), as read_phone_exact.
    Not cached: on files of millions of distinct numbers a cache misses far more than it
    hits, and costs more than the regex calls it saves.
    """
    finder = _FINDERS.get(code) or _finder(code)
    return finder.region_of(nsn) if isinstance(finder, _Finder) else finder


def _finder(code: int) -> _Finder | _Unsure | None:
    finder = _Finder.of(code)
    if isinstance(finder, _Finder):
        _FINDERS[code] = finder
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


def _read_fast(raw: str, region: str) -> Read | _Unsure | None:
    """read_phone_exact's answer, or _UNSURE when the input is not a shape replayed here."""
    plan = _REGION_PLANS.get(region) or _region_plan(region)
    if plan is None or len(raw) > _MAX_FAST_LENGTH:
        return _UNSURE
    bare = raw if raw.isdigit() else _without_separators(raw)
    # A '+' is allowed only before every digit ("+44 20", "(+44) 20"): as a leading plus
    # the library strips it; anywhere else the number is not viable.
    plus = bare.startswith("+")
    digits = bare[1:] if plus else bare
    if len(digits) < _MIN_FAST_DIGITS or not (digits.isascii() and digits.isdigit()):
        return _UNSURE
    parsed = _parse(digits, plus, plan)
    if parsed is None or parsed is _UNSURE:
        return parsed
    code, nsn = parsed
    country = str(code)
    # The dropped-"+" correction, as read_phone_exact: str(national_number) is nsn without
    # its leading zeros; "+" in raw is `plus` (no other '+' reaches here).
    if (not plus and nsn.lstrip("0").startswith(country) and digits.startswith(country)
            and not digits.startswith("0")):
        international = _parse(digits, True, None)
        if international is _UNSURE:
            return _UNSURE
        if international is not None:
            valid = _ringing_region(*international)
            if valid is _UNSURE:
                return _UNSURE
            if valid is not None:
                code, nsn = international
                country = str(code)
    ringing = _ringing_region(code, nsn)
    if ringing is None or ringing is _UNSURE:
        return ringing
    return f"+{country}{nsn}", ringing


#: The library's answers, for values the fast path hands over: those cost ~45 us each and
#: odd values repeat. Not the fast path's: nearly every number in a file is distinct, and
#: an LRU miss costs half as much again as reading the number.
library_read = lru_cache(maxsize=_CACHE_SIZE)(read_phone_exact)


def read_phone(raw: str, region: str) -> Read | None:
    """(E.164, the region the number rings in), or ``None``: exactly
    :func:`read_phone_exact`, without its cost for numbers as people write them."""
    read = _read_fast(raw, region)
    return library_read(raw, region) if read is _UNSURE else read
