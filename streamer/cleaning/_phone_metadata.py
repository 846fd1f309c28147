"""libphonenumber's metadata, compiled once per region into what the fast path reads.

Each structure names the ``phonenumberutil`` field or function it mirrors; see
:mod:`streamer.cleaning._phones` for how they are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    REGION_CODE_FOR_NON_GEO_ENTITY,
    SUPPORTED_REGIONS,
    PhoneMetadata,
    PhoneNumberDesc,
    ValidationResult,
)

MAX_INPUT_LENGTH = 250  # phonenumberutil._MAX_INPUT_STRING_LENGTH: longer raises TOO_LONG
MIN_NSN = 2  # _MIN_LENGTH_FOR_NSN
MAX_NSN = 17  # _MAX_LENGTH_FOR_NSN


class Unsure(Enum):
    """The fast path cannot vouch for its answer: ask the library."""

    UNSURE = 0


UNSURE = Unsure.UNSURE


@dataclass(frozen=True, slots=True)
class Desc:
    """A PhoneNumberDesc that can match something: its pattern and possible lengths."""

    pattern: str
    lengths: frozenset[int]  # empty: any length (as _is_number_matching_desc)

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> Desc | None:
        if desc is None or not desc.national_number_pattern:
            return None  # _match_national_number: no pattern matches nothing
        return cls(desc.national_number_pattern, frozenset(desc.possible_length))


@dataclass(frozen=True, slots=True)
class Plan:
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
    def of(cls, metadata: PhoneMetadata) -> Plan | None:
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
                           for length in range(MAX_INPUT_LENGTH + 1)),
            valid=_validity_patterns(Desc.of(general),
                                     [desc for desc in map(Desc.of, types) if desc]),
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


def _validity_patterns(general: Desc | None, types: list[Desc]) -> dict[int, re.Pattern[str]]:
    """For each length a number can have, one pattern for _number_type_helper != UNKNOWN.

    A number is valid when the general desc matches it and so does one of the types
    whose lengths admit it: ``(?=general\\Z)(?:type|type...)``, one regex call instead of
    a dozen. Alternatives keep their meaning side by side: the metadata's patterns have
    no anchors, flags or back-references.
    """
    patterns: dict[int, re.Pattern[str]] = {}
    if general is None:
        return patterns  # no general pattern: nothing is valid
    for length in range(MAX_NSN + 1):
        if general.lengths and length not in general.lengths:
            continue
        alternatives = [desc.pattern for desc in types
                        if not desc.lengths or length in desc.lengths]
        if alternatives:
            either = "|".join(f"(?:{pattern})" for pattern in alternatives)
            patterns[length] = re.compile(f"(?=(?:{general.pattern})\\Z)(?:{either})")
    return patterns


@dataclass(frozen=True, slots=True)
class Finder:
    """region_code_for_number() then is_valid_number_for_region() for one calling code.

    _region_code_for_number_from_list takes the first region, in the library's order,
    whose leading digits begin the number or, for a region without them, that calls it
    valid. Runs of regions with leading digits become one alternation: Python's regex
    engine tries alternatives in order, so the first that matches is the first region.
    A code of one region is one step: that region, if the number is valid there.
    """

    # (leading digits, or None to choose by validity; the regions' metadata; the region to
    # answer for each, None where is_valid_number_for_region fails: another calling code)
    steps: tuple[tuple[re.Pattern[str] | None, tuple[Plan, ...], tuple[str | None, ...]], ...]

    @classmethod
    def of(cls, code: int) -> Finder | Unsure | None:
        """The finder; None when no number of ``code`` is valid; UNSURE when a region's
        metadata has no plan (see Plan.of)."""
        regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
        if regions is None:
            return None  # region_code_for_number() is None
        if regions == (REGION_CODE_FOR_NON_GEO_ENTITY,):
            plan = code_plan(code)
            if plan is None:
                found = PhoneMetadata.metadata_for_nongeo_region(code) is not None
                return UNSURE if found else None  # no metadata: never valid
            return cls(((None, (plan,), regions),))
        steps: list[tuple[re.Pattern[str] | None, tuple[Plan, ...], tuple[str | None, ...]]] = []
        run: list[tuple[str, Plan]] = []  # regions with leading digits not yet in a step

        def add(leading: re.Pattern[str] | None, members: list[tuple[str, Plan]]) -> None:
            steps.append((leading, tuple(plan for _, plan in members),
                           tuple(region if plan.country_code == code else None
                                 for region, plan in members)))

        for region in regions:
            plan = region_plan(region)
            if plan is None:
                if PhoneMetadata.metadata_for_region(region) is not None:
                    return UNSURE
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


def _either_leading(run: list[tuple[str, Plan]]) -> re.Pattern[str]:
    """One pattern for a run of regions' leading digits; group ``_i`` is the i-th region."""
    return re.compile("|".join(f"(?P<_{at}>{plan.leading_digits})"
                               for at, (_, plan) in enumerate(run)))


# Compiled on first use: a run sees a handful of regions, not all 250.
REGION_PLANS: dict[str, Plan] = {}
_CODE_PLANS: dict[int, Plan] = {}
FINDERS: dict[int, Finder] = {}


def region_plan(region: str) -> Plan | None:
    plan = REGION_PLANS.get(region)
    if plan is None and region in SUPPORTED_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        plan = Plan.of(metadata) if metadata is not None else None
        if plan is not None:
            REGION_PLANS[region] = plan
    return plan


def code_plan(code: int) -> Plan | None:
    """The metadata parse() reads a number with calling code ``code`` by: its main
    region's, or the non-geographic entity's (metadata_for_region_or_calling_code)."""
    plan = _CODE_PLANS.get(code)
    if plan is None and code in COUNTRY_CODE_TO_REGION_CODE:
        main = COUNTRY_CODE_TO_REGION_CODE[code][0]
        if main == REGION_CODE_FOR_NON_GEO_ENTITY:
            metadata = PhoneMetadata.metadata_for_nongeo_region(code)
            plan = Plan.of(metadata) if metadata is not None else None
        else:
            plan = region_plan(main)
        if plan is not None:
            _CODE_PLANS[code] = plan
    return plan
