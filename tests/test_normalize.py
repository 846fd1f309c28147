from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamer.cleaning._normalize import (
    NormalizeRules,
    normalize_batch,
    normalize_email,
    normalize_name,
    normalize_phone,
    region_for_country,
)
from streamer.input import map_columns
from streamer.records import ReasonCode, Row
from streamer.settings import Columns


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("1-415-555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "GB", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("604 555 1234", "CA", "+16045551234"),
        ("415 555 2671 ext. 22", "US", "+14155552671"),
        ("\uff14\uff11\uff15 \uff15\uff15\uff15 \uff12\uff16\uff17\uff11", "US",
         "+14155552671"),                                      # full-width digits
        ("٤١٥٥٥٥٢٦٧١", "US", "+14155552671"),                  # Arabic-Indic digits
        ("06 1234 5678", "IT", "+390612345678"),               # Italy keeps its leading 0
        ("0039 06 1234 5678", "DE", "+390612345678"),          # international prefix 00
        ("011 44 20 7946 0958", "US", "+442079460958"),        # US international prefix
        ("4915127153684", "DE", "+4915127153684"),             # +49 dropped, not 0494915...
        ("447911123456", "GB", "+447911123456"),
        ("015127153684", "DE", "+4915127153684"),
    ],
)
def test_phones_people_write_become_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["555-1234", "12345", "n/a", "+1 999 123 4567", "", "++"])
def test_numbers_that_cannot_be_dialled_are_none(raw: str) -> None:
    assert normalize_phone(raw, "US") is None


def test_a_number_invalid_in_its_region_is_not_fixed_by_guessing_another() -> None:
    # A London number written nationally is valid in GB, but the row says US.
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    assert normalize_phone("020 7946 0958", "US") is None


def test_emails_are_trimmed_lowercased_and_checked_for_syntax() -> None:
    assert normalize_email("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    assert normalize_email("ann@") is None
    assert normalize_email("a@@example.com") is None
    assert normalize_email("not an email") is None


def test_names_lose_extra_whitespace() -> None:
    assert normalize_name("  Mary   Ann \t") == "Mary Ann"


def test_countries_as_codes_or_english_names() -> None:
    assert region_for_country("us") == "US"
    assert region_for_country("United  Kingdom") == "GB"
    assert region_for_country("UK") == "GB"
    assert region_for_country("canada") == "CA"
    assert region_for_country("Germany") == "DE"
    assert region_for_country("Narnia") is None


def test_a_batch_gets_each_rows_verdict() -> None:
    columns = map_columns(("phone", "email", "country", "first"), Columns())
    rows = [
        Row(1, ["(415) 555-2671", " A@B.com", "", " Ann "]),
        Row(2, ["", "", "", ""]),
        Row(3, ["020 7946 0958", "", "UK", "x"]),
        Row(4, ["020 7946 0958", "", "", "x"]),  # a UK number read as American
        Row(5, ["", "a@b.com", "", "x"]),
        Row(6, ["(415) 555-2671", "a@", "", "x"]),
        Row(7, ["(415) 555-2671", "", "Narnia", "x"]),
        Row(8, ["(415) 555-2671", ""]),
    ]
    normalize_batch(rows, NormalizeRules(columns, "US"))
    assert [row.reason for row in rows] == [
        None, ReasonCode.EMPTY_ROW, None, ReasonCode.INVALID_PHONE, ReasonCode.MISSING_PHONE,
        ReasonCode.INVALID_EMAIL, ReasonCode.UNKNOWN_COUNTRY, ReasonCode.MALFORMED_ROW,
    ]
    assert (rows[0].phone, rows[0].email, rows[0].first_name) == (
        "+14155552671", "a@b.com", "Ann")
    assert rows[2].phone == "+442079460958"


@given(st.text(max_size=30), st.sampled_from(["US", "GB", "DE", "IN", "BR"]))
def test_phone_normalisation_never_raises_and_is_idempotent(raw: str, region: str) -> None:
    once = normalize_phone(raw, region)
    if once is not None:
        assert once.startswith("+")
        assert normalize_phone(once, region) == once


@given(st.text(max_size=40) | st.emails())
def test_email_normalisation_never_raises_and_is_idempotent(raw: str) -> None:
    once = normalize_email(raw)
    if once is not None:
        assert normalize_email(once) == once


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_phone_verdicts_agree_with_libphonenumber(raw: str) -> None:
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        expected = None
    else:
        expected = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_valid_number(number) else None)
    assert normalize_phone(raw, "US") == expected
