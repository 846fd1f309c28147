"""The fast phone reader gives libphonenumber's answer (read_phone_exact) on every input."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.phone_agreement import REGIONS, build_values
from streamer.cleaning import _phone_metadata as metadata_module
from streamer.cleaning._phones import UNSURE as _UNSURE
from streamer.cleaning._phones import _read_fast, read_phone, read_phone_exact
from tests.support import passed_in_the_twin

# The benchmark's regions, a few more, and regions the fast path must hand over.
SOME_REGIONS = [*REGIONS, "KR", "TW", "PL", "TR", "EG", "IL", "VA", "GG", "IM", "JE", "CC",
                "AX", "BQ", "EH", "TA", "us", "ZZ", "001", ""]


def test_agreement_on_a_sample_of_the_benchmark_values() -> None:
    sourced = build_values(30_000, seed=3)
    wrong = [(value, read_phone(*value), read_phone_exact(*value)) for _, value in sourced
             if read_phone(*value) != read_phone_exact(*value)]
    assert wrong == []
    # Agreement is only worth something if the fast path answers most of them itself.
    taken = sum(_read_fast(*value) is not _UNSURE for _, value in sourced)
    assert taken / len(sourced) > 0.9


@pytest.mark.parametrize(("raw", "region"), [
    ("(415) 555-2671", "US"), ("1-415-555-2671", "US"), ("+1 415 555 2671", "GB"),
    ("020 7946 0958", "GB"), ("+44 (0)20 7946 0958", "US"), ("0044 20 7946 0958", "DE"),
    ("011 44 20 7946 0958", "US"), ("447911123456", "GB"), ("4915127153684", "DE"),
    ("06 1234 5678", "IT"), ("0039 06 1234 5678", "DE"), ("+39 06 698 12345", "IT"),
    ("8 (701) 123 45 67", "KZ"), ("+7 701 123 4567", "RU"), ("(787) 555-0100", "PR"),
    ("671 300 1234", "GU"), ("604 555 1234", "CA"), ("+1 604 555 1234", "US"),
    ("1 604 555 1234", "US"), ("0011 61 2 9876 5432", "AU"), ("+0044 20 7946 0958", "GB"),
    ("00 0 44 20", "DE"), ("+800 1234 5678", "US"), ("+882 1234 5678", "DE"),
    ("0 800 123 4567", "ZA"), ("555-1234", "US"), ("123", "US"), ("+123", "US"),
    ("0000000000", "US"), ("1" * 20, "GB"), ("(+44) 7911 123456", "FR"),
    ("15 1234-5678", "AR"), ("011 15 2345-6789", "AR"), ("0 21 98765-4321", "BR"),
    ("+55 21 98765 4321", "BR"), ("91 98765 43210", "IN"), ("098765 43210", "IN"),
])
def test_shapes_people_write_take_the_fast_path_and_agree(raw: str, region: str) -> None:
    assert _read_fast(raw, region) is not _UNSURE
    assert read_phone(raw, region) == read_phone_exact(raw, region)


@pytest.mark.parametrize(("raw", "region", "e164"), [
    # DE writes national numbers with a trunk 0: its country code without '+' is a dropped '+'
    ("4915127153684", "DE", "+4915127153684"), ("49 30 12345678", "DE", "+493012345678"),
    ("33 6 12 34 56 78", "FR", "+33612345678"),
    # IT, VA and PL have no trunk prefix: digits beginning with the country code are
    # national, as libphonenumber reads them (a mobile, not a Milan landline)
    ("3902797404", "IT", "+393902797404"), ("390 279 7404", "IT", "+393902797404"),
    ("3908551951", "IT", "+393908551951"), ("3905464425", "VA", "+393905464425"),
    ("394335805342", "VA", None), ("486464891", "PL", "+48486464891"),
    ("48 771 97 66", "PL", "+48487719766"),
])
def test_the_dropped_plus_is_corrected_only_where_the_region_writes_a_trunk_prefix(
        raw: str, region: str, e164: str | None) -> None:
    read = read_phone_exact(raw, region)
    assert (read[0] if read else None) == e164
    assert _read_fast(raw, region) == read_phone(raw, region) == read
    if region != "DE" and region != "FR":  # no correction: libphonenumber's own reading
        number = phonenumbers.parse(raw, region)
        assert (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_valid_number(number) else None) == e164


@pytest.mark.parametrize(("raw", "region"), [
    ("415 555 2671 ext. 22", "US"), ("415-555-2671 x22", "US"), ("415 555 2671#", "US"),
    ("\uff14\uff11\uff15 555 2671", "US"), ("٤١٥٥٥٥٢٦٧١", "US"), ("1-800-FLOWERS", "US"),
    ("tel:+1-415-555-2671", "US"), ("415\u00a0555\u00a02671", "US"), ("+1 415 555 2671", "us"),
    ("+1 415 555 2671", "ZZ"), ("415+555+2671", "US"), ("++44 20 7946 0958", "GB"),
    ("12", "US"), ("+12", "US"), ("+", "US"), ("", "US"), ("n/a", "US"), ("4" * 70, "US"),
])
def test_other_shapes_go_to_libphonenumber(raw: str, region: str) -> None:
    assert _read_fast(raw, region) is _UNSURE
    assert read_phone(raw, region) == read_phone_exact(raw, region)


def test_a_region_the_fast_path_cannot_plan_is_left_to_the_library(
        monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    # Every region of today's metadata has a plan: one is taken away, by a patch.
    if passed_in_the_twin(request):
        return
    plan_of = metadata_module.Plan.of.__func__  # type: ignore[attr-defined]

    def without_canada(cls: type[metadata_module.Plan], metadata: phonenumbers.PhoneMetadata
                       ) -> metadata_module.Plan | None:
        return None if metadata.id == "CA" else plan_of(cls, metadata)

    monkeypatch.setattr(metadata_module.Plan, "of", classmethod(without_canada))
    caches = (metadata_module.REGION_PLANS, metadata_module._CODE_PLANS,
              metadata_module.FINDERS)
    try:
        for cache in caches:
            cache.clear()  # compiled before the patch: forget them, and after it again
        for raw, region in [("604 555 1234", "CA"), ("+1 604 555 1234", "US"),
                            ("+1 415 555 2671", "GB"), ("4155552671", "US")]:
            assert _read_fast(raw, region) is _UNSURE
            assert read_phone(raw, region) == read_phone_exact(raw, region) is not None
        assert _read_fast("+44 20 7946 0958", "US") is not _UNSURE
    finally:
        for cache in caches:
            cache.clear()


def _check(raw: str, region: str) -> None:
    """Same answer as the reference; never raises; E.164 read again gives itself."""
    read = read_phone(raw, region)
    assert read == read_phone_exact(raw, region)
    if read is not None:
        e164, ringing = read
        assert e164.startswith("+") and e164[1:].isdigit()
        assert ringing in phonenumbers.SUPPORTED_REGIONS or ringing == "001"
        assert read_phone(e164, region) == read


@settings(max_examples=500)
@given(st.text(max_size=30), st.sampled_from(SOME_REGIONS))
def test_any_string_agrees(raw: str, region: str) -> None:
    _check(raw, region)


_DIGITS = st.text("0123456789", min_size=1, max_size=17)
_SEPARATED = st.from_regex(r"[ ().\-/]{0,2}\+?[ ().\-/]{0,2}(?:[0-9][ ().\-/]{0,2}){3,20}",
                           fullmatch=True)


@st.composite
def _dialled(draw: st.DrawFn) -> tuple[str, str]:
    """Digits as dialled from a region: IDD, country codes, trunk zeros, separators."""
    region = draw(st.sampled_from(SOME_REGIONS[:-5]))
    own = str(phonenumbers.country_code_for_region(region))
    other = str(draw(st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))))
    prefix = draw(st.sampled_from(["", "+", "0", "00", "011", "810", "0011", "8", "1", "+0"]))
    code = draw(st.sampled_from(["", own, other, own + "0", other + "0"]))
    body = draw(_DIGITS)
    separator = draw(st.sampled_from(["", " ", "-", ".", ") ", "/"]))
    cut = draw(st.integers(0, len(body)))
    return f"{prefix}{code}{separator}{body[:cut]}{separator}{body[cut:]}", region


@settings(max_examples=2000)
@given(_dialled())
def test_dialled_digits_agree(value: tuple[str, str]) -> None:
    _check(*value)


@settings(max_examples=1000)
@given(_SEPARATED, st.sampled_from(SOME_REGIONS))
def test_separated_digits_agree(raw: str, region: str) -> None:
    _check(raw, region)


@settings(max_examples=1000)
@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.data())
def test_example_numbers_of_every_region_agree(region: str, data: st.DataObject) -> None:
    number = phonenumbers.example_number(region)
    if number is None:
        return
    nsn = phonenumbers.national_significant_number(number)
    at = data.draw(st.integers(0, len(nsn) - 1))
    digit = data.draw(st.sampled_from("0123456789"))
    mutated = data.draw(st.sampled_from([nsn, nsn[:at] + digit + nsn[at + 1:], nsn[:at]]))
    shape = data.draw(st.sampled_from(["{n}", "0{n}", "+{c}{n}", "{c}{n}", "00{c} {n}",
                                       "+{c} (0){n}", "{c}0{n}"]))
    raw = shape.format(c=number.country_code, n=mutated)
    _check(raw, data.draw(st.sampled_from([region, "US", "GB", "DE"])))
