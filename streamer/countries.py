"""Country text (codes and names, as CRMs export them) to libphonenumber regions.

A base module: :mod:`streamer.settings` reads ``--default-region`` and
``--allowed-countries`` with it, and :mod:`streamer.cleaning` reads the country column.
The map is built once, at import, from pycountry (ISO 3166-1: alpha-2, alpha-3 and numeric
codes, short, common and official names, and their translations in :data:`LANGUAGES`),
libphonenumber's English names and the hand-written :data:`ALIASES`. Text is compared
folded (:func:`fold`): case, accents, spaces and punctuation ignored, so ``U.S.A.``,
``usa`` and ``Usa`` are one key.

Keys are taken in tiers, and the first tier holding a key decides it: codes, then English
names and aliases, then translations. A key that one tier gives two regions is ambiguous
and dropped, never guessed. ``Georgia`` is the country (GE), as in every source here: a
country column holds countries, and a US state in it is read as the country it names.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import phonenumbers
import pycountry

from streamer._country_names import ENGLISH_NAMES

__all__ = ["ALIASES", "LANGUAGES", "fold", "region_for_country"]

#: Translations read from pycountry: the languages CRMs export in.
LANGUAGES: tuple[str, ...] = (
    "de", "fr", "es", "it", "pt", "pt_BR", "nl", "sv", "pl", "da", "nb_NO", "fi", "tr",
)

#: Spellings people use that neither pycountry nor libphonenumber has.
ALIASES: dict[str, str] = {
    "usa": "US", "america": "US", "uk": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "holland": "NL", "republic of ireland": "IE", "kosovo": "XK", "ascension": "AC",
    "tristan da cunha": "TA",
}


_NOT_ALNUM = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """``Côte d'Ivoire`` → ``cotedivoire``: case, accents, spaces and punctuation dropped
    (``&`` is ``and``)."""
    folded = text.casefold().replace("&", "and")
    if not folded.isascii():  # accents split off (NFKD) are marks, which \W drops
        folded = unicodedata.normalize("NFKD", folded)
    return _NOT_ALNUM.sub("", folded)


def _names(country: object) -> Iterator[str]:
    for attribute in ("name", "common_name", "official_name"):
        if (name := getattr(country, attribute, None)) is not None:
            yield name


def _tiers() -> Iterator[Iterable[tuple[str, str]]]:
    """(text, region) pairs, tier by tier, for the regions libphonenumber supports."""
    regions = phonenumbers.SUPPORTED_REGIONS
    countries = [country for country in pycountry.countries if country.alpha_2 in regions]
    codes = [(region, region) for region in regions]
    for country in countries:
        codes += [(country.alpha_3, country.alpha_2), (country.numeric, country.alpha_2)]
    yield codes
    english = [(name, country.alpha_2) for country in countries for name in _names(country)]
    english += [(name, region) for region, name in ENGLISH_NAMES.items()]
    yield english + [(name, region) for name, region in ALIASES.items()]
    translated = []
    for language in LANGUAGES:
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR,
                                          languages=[language])
        translated += [(translation.gettext(name), country.alpha_2)
                       for country in countries for name in _names(country)]
    yield translated


def _country_index() -> tuple[dict[str, str], frozenset[str]]:
    """The map from folded text to region, and the keys dropped as ambiguous."""
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for tier in _tiers():
        found: dict[str, set[str]] = {}
        for text, region in tier:
            if (key := fold(text)) and key not in index and key not in ambiguous:
                found.setdefault(key, set()).add(region)
        for key, regions in found.items():
            if len(regions) == 1:
                index[key] = next(iter(regions))
            else:
                ambiguous.add(key)
    return index, frozenset(ambiguous)


_COUNTRIES, AMBIGUOUS = _country_index()


@lru_cache(maxsize=4096)  # a file repeats a few spellings; folding costs microseconds
def region_for_country(value: str) -> str | None:
    """The libphonenumber region for a country's code or name (``DEU``, ``276``,
    ``Deutschland``, ``U.K.``), else ``None``.

    A calling code (``+352``) is no country: ISO's numeric codes are other numbers
    (352 is Iceland, where +352 rings Luxembourg).
    """
    if value.lstrip().startswith("+"):
        return None
    return _COUNTRIES.get(fold(value))
