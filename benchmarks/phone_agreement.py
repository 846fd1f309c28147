"""The fast phone reader against libphonenumber: same answer on every value, and how fast.

    python -m benchmarks.phone_agreement --values 1000000

Values are (raw, region) pairs: the phones of ``examples/messy.py`` and
``examples/make_contacts.py`` with the region their country column gives (as the pipeline
reads it), and adversarial variants: random digit strings of 3-20 digits and mutated
example numbers of many regions, written with and without '+', with IDDs (00, 011, ...),
trunk zeros, the region's own country code without '+', "(0)", random separators, and
now and then characters the fast path must hand to the library (letters, extensions,
other scripts' digits, stray '+'). Every value is read by both functions; the run prints
the disagreements (and exits 1 if there is any), the share that took the fast path and
each function's numbers per CPU-second, measured in the same run on the same values (all
of them, and the common shapes of the two example generators alone).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import islice

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType

from examples.make_contacts import contacts
from examples.messy import rows_with_kinds
from streamer.cleaning import _phones as phones
from streamer.cleaning._normalize import region_for_country

Value = tuple[str, str]  # (raw, region)
Reader = Callable[[str, str], "tuple[str, str] | None"]

REGIONS = ["US", "CA", "GB", "DE", "FR", "IT", "AU", "IN", "BR", "MX", "JP", "CN", "RU", "KZ",
           "NL", "ES", "SE", "CH", "BE", "AT", "IE", "NZ", "ZA", "NG", "SG", "HK", "AE", "AR",
           "PR", "GU", "PL", "VA"]
ALL_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
IDDS = ["00", "011", "0011", "010", "001", "810", "8~10", "009", "000"]
SEPARATORS = [" ", " ", "-", "-", ".", "/", "(", ")", "  ", " - "]
# What people paste that the fast path leaves to the library.
ODDITIES = ["x", "X", "ext. 12", " x 7", "#", "*", "+", "++", "\u00a0", "\t", ",", ";", "~",
            "_", "a", "tel:", "abc", "\uff11", "\u0661", "\u2212", "[", "]", ";ext=9", "\uff0b"]
TYPES = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
         PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.VOIP,
         PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.PAGER, PhoneNumberType.UAN,
         PhoneNumberType.VOICEMAIL]


# --- values ------------------------------------------------------------------------------


def _region_of(country: str) -> str | None:
    """The pipeline's reading of the country column (default US), None if unknown."""
    return region_for_country(country) if country.strip() else "US"


def messy_values(count: int, seed: int) -> Iterator[Value]:
    rows = (fields for fields, _, _ in rows_with_kinds(count, seed))
    for fields in islice(rows, count):
        region = _region_of(fields[4])
        if region is not None:
            yield fields[2].strip(), region


def contact_values(count: int, seed: int) -> Iterator[Value]:
    made = 0
    for record in islice(contacts(count * 2, seed), 1, None):
        if len(record) < 5 or not record[2].strip():
            continue
        region = _region_of(record[4])
        if region is not None:
            yield record[2].strip(), region
            made += 1
            if made == count:
                return


def _examples() -> list[tuple[str, str]]:
    """(country code, national number) of every example number libphonenumber has."""
    found = []
    for region in ALL_REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                nsn = phonenumbers.national_significant_number(number)
                found.append((str(number.country_code), nsn))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            found.append((str(code), phonenumbers.national_significant_number(number)))
    return found


def _mutate(rng: random.Random, digits: str) -> str:
    roll = rng.random()
    if roll < 0.4:
        return digits
    chars = list(digits)
    if roll < 0.7:
        for _ in range(rng.randint(1, 2)):
            chars[rng.randrange(len(chars))] = rng.choice("0123456789")
    elif roll < 0.85:
        del chars[rng.randrange(len(chars))]
    else:
        chars.insert(rng.randrange(len(chars) + 1), rng.choice("0123456789"))
    return "".join(chars)


def _written(rng: random.Random, region: str, code: str, nsn: str) -> str:
    """The digits of one way to dial ``nsn`` of country ``code`` from ``region``."""
    metadata = PhoneMetadata.metadata_for_region(region)
    own = str(metadata.country_code) if metadata else "1"
    trunk = (metadata.national_prefix if metadata else None) or "0"
    preferred = (metadata.preferred_international_prefix if metadata else None) or "00"
    idd = rng.choice([*IDDS, preferred])
    shapes = [
        f"{nsn}", f"{trunk}{nsn}", f"+{code}{nsn}", f"{code}{nsn}", f"{idd}{code}{nsn}",
        f"+{code}0{nsn}", f"{code}0{nsn}", f"+{nsn}", f"{own}{nsn}", f"{own}{trunk}{nsn}",
        f"0{code}{nsn}", f"+{own}{nsn}", f"{idd}{own}{nsn}", f"{'0' * rng.randint(1, 3)}{nsn}",
        f"+{code}{code}{nsn}",
    ]
    return rng.choice(shapes)


def _separated(rng: random.Random, text: str) -> str:
    """``text`` with separators between its characters, as people group digits."""
    if rng.random() < 0.3:
        return text
    share = rng.choice([0.1, 0.25, 0.5])
    out = []
    for char in text:
        out.append(char)
        if rng.random() < share:
            out.append(rng.choice(SEPARATORS))
    written = "".join(out)
    if rng.random() < 0.1:
        written = f" {written} "
    return written


def _oddity(rng: random.Random, text: str) -> str:
    at = rng.randint(0, len(text))
    odd = rng.choice(ODDITIES)
    if odd in ("\uff11", "\u0661") and text:  # another script's digit for an ASCII one
        at = min(at, len(text) - 1)
        return text[:at] + odd + text[at + 1:]
    return text[:at] + odd + text[at:]


def adversarial_values(count: int, seed: int) -> Iterator[Value]:
    rng = random.Random(seed)
    examples = _examples()
    for _ in range(count):
        region = rng.choice(REGIONS) if rng.random() < 0.85 else rng.choice(ALL_REGIONS)
        if rng.random() < 0.5:
            digits = "".join(rng.choices("0123456789", k=rng.randint(3, 20)))
            if rng.random() < 0.5:
                digits = _written(rng, region, rng.choice(["1", "44", "49", "7", "39", "48"]),
                                  digits[:rng.randint(3, 14)])
        else:
            code, nsn = rng.choice(examples)
            if rng.random() < 0.5:  # mostly the region's own numbers: the valid ones
                own = phonenumbers.example_number_for_type(region, rng.choice(TYPES))
                if own is not None:
                    code = str(own.country_code)
                    nsn = phonenumbers.national_significant_number(own)
            digits = _written(rng, region, code, _mutate(rng, nsn))
        raw = _separated(rng, digits)
        if rng.random() < 0.08:
            raw = _oddity(rng, raw)
        yield raw, region


def build_values(total: int, seed: int) -> list[tuple[str, Value]]:
    """``total`` (source, value) pairs: 40% messy, 20% make_contacts, 40% adversarial."""
    messy = int(total * 0.4)
    made = int(total * 0.2)
    values = [("messy", value) for value in messy_values(messy, seed)]
    values += [("make_contacts", value) for value in contact_values(made, seed)]
    values += [("adversarial", value)
               for value in adversarial_values(total - len(values), seed)]
    return values


# --- checking ------------------------------------------------------------------------------


def _timed(read: Reader, values: list[Value]) -> tuple[list[tuple[str, str] | None], float]:
    start = time.process_time()
    results = [read(raw, region) for raw, region in values]
    return results, time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phone_agreement",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=10, help="disagreements to print")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sourced = build_values(args.values, args.seed)
    values = [value for _, value in sourced]
    common = [value for source, value in sourced if source != "adversarial"]
    print(f"built {len(values)} values in {time.perf_counter() - started:.1f}s")

    # Both without a cache of the library's answers, as on a file of distinct values.
    phones.library_read.cache_clear()
    fast_read = phones.read_phone
    fast, fast_seconds = _timed(fast_read, values)
    exact, exact_seconds = _timed(phones.read_phone_exact, values)
    phones.library_read.cache_clear()
    _, fast_common_seconds = _timed(fast_read, common)
    _, exact_common_seconds = _timed(phones.read_phone_exact, common)

    taken: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    for source, (raw, region) in sourced:
        by_source[source] += 1
        taken[source] += phones._read_fast(raw, region) is not phones.UNSURE
    wrong = [(value, got, want) for value, got, want in zip(values, fast, exact, strict=True)
             if got != want]

    print(f"values checked: {len(values)}")
    print(f"disagreements: {len(wrong)}")
    for (raw, region), got, want in wrong[:args.show]:
        print(f"  {raw!r} {region}: fast {got}, libphonenumber {want}")
    share = sum(taken.values()) / len(values)
    print(f"fast path: {share:.2%} of values (" + ", ".join(
        f"{source} {taken[source] / count:.2%}" for source, count in by_source.items()) + ")")
    print(f"valid: {sum(result is not None for result in exact) / len(values):.2%}")
    print("numbers per CPU-second (process time: other load on the machine does not count)")
    for label, count, fast_s, exact_s in (
            ("all values", len(values), fast_seconds, exact_seconds),
            ("messy + make_contacts", len(common), fast_common_seconds, exact_common_seconds)):
        print(f"  {label}: fast {count / fast_s:,.0f}/s, libphonenumber "
              f"{count / exact_s:,.0f}/s, speed-up {exact_s / fast_s:.1f}x")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
