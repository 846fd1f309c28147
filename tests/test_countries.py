"""Country text as CRMs export it (codes, names in several languages, dotted forms) read
to libphonenumber regions, in the country column and in --default-region and
--allowed-countries; a country nobody knows read by the number's own +code."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import phonenumbers
import pycountry
import pytest

import streamer
from streamer.cleaning import region_for_country
from streamer.countries import ALIASES, AMBIGUOUS, LANGUAGES, fold
from streamer.errors import ConfigError
from streamer.notes import Note
from streamer.settings import Settings
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for


@pytest.mark.parametrize(("text", "region"), [
    # ISO 3166-1 alpha-2, alpha-3 and numeric
    ("us", "US"), ("DE", "DE"), ("DEU", "DE"), ("GBR", "GB"), ("ita", "IT"), ("276", "DE"),
    ("826", "GB"), ("036", "AU"),
    # English short, common and official names
    ("Germany", "DE"), ("United  Kingdom", "GB"), ("Bolivia", "BO"), ("Russian Federation", "RU"),
    ("Federal Republic of Germany", "DE"), ("Republic of Ireland", "IE"),
    ("Korea, Republic of", "KR"), ("South Korea", "KR"), ("Czechia", "CZ"),
    ("Czech Republic", "CZ"),
    # local names, in the languages pycountry translates
    ("Deutschland", "DE"), ("Italia", "IT"), ("España", "ES"), ("México", "MX"),
    ("Schweiz", "CH"), ("Suisse", "CH"), ("Svizzera", "CH"), ("Allemagne", "DE"),
    ("Alemanha", "DE"), ("Nederland", "NL"), ("Sverige", "SE"), ("Polska", "PL"),
    ("Danmark", "DK"), ("Norge", "NO"), ("Suomi", "FI"), ("Türkiye", "TR"), ("Brasil", "BR"),
    ("Vereinigte Staaten", "US"), ("États-Unis", "US"), ("Regno Unito", "GB"),
    # dotted forms, case, accents and punctuation
    ("U.S.A.", "US"), ("U.K.", "GB"), ("u.s.", "US"), ("MEXICO", "MX"), ("espana", "ES"),
    ("cote d'ivoire", "CI"), ("Côte d\u2019Ivoire", "CI"), ("Guinea-Bissau", "GW"),
    ("Trinidad & Tobago", "TT"), ("Trinidad and Tobago", "TT"),
    # the hand-written aliases
    ("UK", "GB"), ("England", "GB"), ("Scotland", "GB"), ("Wales", "GB"),
    ("Northern Ireland", "GB"), ("Holland", "NL"), ("America", "US"), ("Great Britain", "GB"),
    # Georgia is the country; a calling code is no country; nonsense is nothing
    ("Georgia", "GE"), ("+49", None), ("+352", None), ("Narnia", None), ("", None),
])
def test_country_spellings(text: str, region: str | None) -> None:
    assert region_for_country(text) == region


def test_no_common_name_is_lost_to_a_collision() -> None:
    from streamer._country_names import ENGLISH_NAMES
    for country in pycountry.countries:
        if country.alpha_2 not in phonenumbers.SUPPORTED_REGIONS:
            continue
        for name in (country.alpha_2, country.alpha_3, country.numeric, country.name,
                     getattr(country, "common_name", country.name)):
            assert region_for_country(name) == country.alpha_2, name
    for region, name in ENGLISH_NAMES.items():
        assert region_for_country(name) == region, name
    for name, region in ALIASES.items():
        assert region_for_country(name) == region, name
    # each country's own name in each language, where pycountry has one, is kept
    # (but the one translation pycountry gives two countries, dropped as ambiguous)
    import gettext
    for language in LANGUAGES:
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR,
                                          languages=[language])
        for country in pycountry.countries:
            if country.alpha_2 in phonenumbers.SUPPORTED_REGIONS:
                local = translation.gettext(country.name)
                assert region_for_country(local) == country.alpha_2 or \
                    fold(local) in AMBIGUOUS, (language, local)
    assert len(AMBIGUOUS) <= 2, AMBIGUOUS


def test_the_country_name_table_matches_libphonenumbers_locale_data() -> None:
    from phonenumbers.geodata.locale import LOCALE_DATA

    from streamer._country_names import ENGLISH_NAMES

    def english(names: dict[str, str]) -> str:
        name = names.get("en", "")
        while name.startswith("*"):  # "*aa": the same as locale "aa"'s name
            name = names.get(name[1:], "")
        return name

    expected = {region: english(LOCALE_DATA[region])
                for region in phonenumbers.SUPPORTED_REGIONS if region in LOCALE_DATA}
    assert {r: n for r, n in expected.items() if n} == ENGLISH_NAMES


def test_default_region_and_allowed_countries_take_the_same_spellings() -> None:
    assert Settings(default_region="Deutschland").default_region == "DE"
    assert Settings(default_region="gbr").default_region == "GB"
    settings = Settings(allowed_countries=frozenset({"United Kingdom", "IRL", "U.S.A."}))
    assert settings.allowed_countries == frozenset({"GB", "IE", "US"})
    with pytest.raises(ConfigError, match="Narnia"):
        Settings(allowed_countries=frozenset({"Narnia", "DE"}))
    with pytest.raises(ConfigError, match="unknown default region"):
        Settings(default_region="Narnia")


def test_a_country_not_understood_is_noted_and_counted() -> None:
    note = Note.country_not_understood("Xyz")
    assert note == "Country 'Xyz' not understood: read by the number's +code"
    counted = Note.count([(note, 3), (f"{Note.MOBILE}; {note}", 2), (Note.MOBILE, 1)])
    assert counted["countries_read_by_number"] == 5 and counted["mobiles_marked"] == 3


async def dry_run(path: Path, out: Path, **overrides: object) -> tuple[Any, list[dict[str, str]]]:
    report = await streamer.run(path, settings_for(None, out, dry_run=True, **overrides))
    outcomes = read_outcomes(out)
    assert report.balanced and len(outcomes) == report.rows_read
    return report, outcomes


async def test_crm_country_spellings_end_to_end(tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([
        ["phone", "country"],
        ["030 12345678", "DEU"],
        ["06 12345678", "Nederland"],
        ["020 7946 0958", "U.K."],
        ["01 234 5678", "Republic of Ireland"],
        ["55 1234 5678", "México"],
        ["030 12345678", "Narnia"],  # no +code: still unknown
    ])
    _, outcomes = await dry_run(path, tmp_path / "out")
    assert [o["reason"] or o["outcome"] for o in outcomes] == [
        "accepted"] * 5 + ["unknown_country"]


async def test_a_number_with_its_own_code_is_read_when_the_country_is_not_understood(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    path = write_csv([
        ["id", "phone", "country"],
        ["a", "+49 30 12345678", "Westphalia"],  # read by +49: DE, allowed
        ["b", "+44 20 7946 0958", "Westphalia"],  # read by +44: GB, not allowed
        ["c", "030 12345678", "Westphalia"],  # no +code: unknown_country
        ["d", "+49 12", "Xyz"],  # read by its +code, and invalid
        ["e", "+49 30 87654321", "Germany"],  # understood: no note
    ])
    out = tmp_path / "out"
    report, outcomes = await dry_run(path, out, allowed_countries=frozenset({"Deutschland"}),
                                     columns=streamer.Columns(external_id="id"))
    assert [o["reason"] or o["outcome"] for o in outcomes] == [
        "accepted", "country_not_allowed", "unknown_country", "invalid_phone", "accepted"]
    with open(out / "notes.csv", encoding="utf-8", newline="") as file:
        notes = {row["external_id"]: row["notes"] for row in csv.DictReader(file)}
    assert notes == {"a": "Country 'Westphalia' not understood: read by the number's +code"}
    assert report.fields["countries_read_by_number"] == 1
    assert "Westphalia" not in str(sorted(report.fields))  # no personal data in the keys
