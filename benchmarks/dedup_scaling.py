"""How dedup cost grows with the number of rows: time and memory at 100k and 1M rows.

    python -m benchmarks.dedup_scaling                      # both data sets, 100k and 1M
    python -m benchmarks.dedup_scaling --data messy --sizes 100000 1000000 --repeat 3

Two data sets, each already normalised (what the dedup stage receives), each run through
``Dedup(fuzzy=FuzzySettings())`` (exact, then fuzzy; sized for the rows, as a run sizes
it) in batches of 2,048 rows:

- ``messy``: ``examples/messy.py``'s rows (seed 7) normalised as the
  pipeline reads them; normalising is not timed. Its names are concentrated (the top
  first and last names are a few percent of people each), so blocks fill up as the file
  grows: the hard case for near-linear time.
- ``synthetic``: this module's own contacts: 960 names, E.164 numbers, name-based emails
  at five domains, a quarter of the rows repeats with a typo in the email or one digit of
  the number.

The sizes are prefixes of one stream, so the 1M rows start with the 100k. Time is the
CPU time of the dedup calls alone (the machine may be shared), the median of
``--repeat`` runs, each on a fresh ``Dedup``; memory is ``Dedup.nbytes()`` (every array
and the table at their allocated size) per unique contact kept. A near-linear index has a
time ratio close to the size ratio (10 for 100k -> 1M); the issue's bound is 12.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Iterator

from streamer.cleaning.dedup import Dedup
from streamer.records import Row
from streamer.settings import FuzzySettings

Contact = tuple[str, str, str, str]  # phone (E.164), email, first name, last name

FIRST = ["james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda",
         "william", "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica",
         "thomas", "sarah", "charles", "karen", "maria", "jose", "ana", "wei", "li", "fatima",
         "mohammed", "olga", "ivan", "sofia"] * 3
LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
        "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson",
        "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white",
        "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "nguyen", "kim"] * 4
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.com", "corp.example.net"]
BATCH = 2_048


def _typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]  # a transposition


def synthetic(rows: int, seed: int) -> Iterator[Contact]:
    """This benchmark's own contacts, normalised already."""
    rng = random.Random(seed)
    people: list[Contact] = []
    for _ in range(rows):
        if people and rng.random() < 0.25:
            phone, email, first, last = rng.choice(people)
            if rng.random() < 0.5:
                local, _, domain = email.partition("@")
                email = f"{_typo(local, rng)}@{domain}"
                phone = f"+1{rng.randrange(2012000000, 9899999999)}"
            else:
                digit = rng.randrange(5, len(phone))
                phone = phone[:digit] + str((int(phone[digit]) + 1) % 10) + phone[digit + 1:]
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            phone = f"+1{rng.randrange(2012000000, 9899999999)}"
            email = f"{first}.{last}{rng.randrange(10_000)}@{rng.choice(DOMAINS)}"
            people.append((phone, email, first, last))
        yield phone, email, first, last


def messy(rows: int, seed: int) -> Iterator[Contact]:
    """examples/messy.py's rows, normalised as the pipeline does (invalid ones skipped:
    the generator writes none)."""
    from examples.messy import rows_with_kinds
    from streamer.cleaning._normalize import (
        normalize_email,
        normalize_name,
        normalize_phone,
        region_for_country,
    )

    made = 0
    for fields, _, _ in rows_with_kinds(rows, seed):  # at least ``rows`` rows
        first, last, raw_phone, raw_email, country = fields
        region = region_for_country(country) if country.strip() else "US"
        phone = normalize_phone(raw_phone.strip(), region) if region else None
        email = normalize_email(raw_email) if raw_email.strip() else ""
        if phone is None or email is None:
            continue
        yield phone, email, normalize_name(first), normalize_name(last)
        made += 1
        if made == rows:
            return


DATA = {"messy": (messy, 7), "synthetic": (synthetic, 5)}


def measure(contacts: list[Contact], rows: int) -> tuple[float, int, float]:
    """CPU seconds, unique contacts kept, bytes per kept contact, for the first ``rows``."""
    batch: list[Row] = []
    for record, (phone, email, first, last) in enumerate(contacts[:rows], 1):
        row = Row(record, [])
        row.phone, row.email, row.first_name, row.last_name = phone, email, first, last
        batch.append(row)
    batches = [batch[start:start + BATCH] for start in range(0, rows, BATCH)]
    gc.collect()
    # Sized for the rows at once, as a run sizes it from the reader's estimate.
    dedup = Dedup(fuzzy=FuzzySettings(), expected_rows=rows)
    started = time.process_time()
    for part in batches:
        dedup.check_batch(part, by_external_id=False)
    seconds = time.process_time() - started
    return seconds, len(dedup), dedup.nbytes() / max(len(dedup), 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dedup_scaling",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--data", choices=[*DATA, "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median shown)")
    args = parser.parse_args(argv)
    for name in DATA if args.data == "both" else [args.data]:
        make, seed = DATA[name]
        contacts = list(make(max(args.sizes), seed))
        print(f"{name} (seed {seed})")
        print(f"{'rows':>10}{'seconds':>10}{'rows/s':>12}{'kept':>11}{'B/contact':>11}")
        times = []
        for size in args.sizes:
            runs = [measure(contacts, size) for _ in range(args.repeat)]
            seconds = statistics.median(run[0] for run in runs)
            _, kept, per_contact = runs[0]
            times.append(seconds)
            print(f"{size:>10,}{seconds:>10.2f}{size / seconds:>12,.0f}{kept:>11,}"
                  f"{per_contact:>11.1f}")
        if len(times) >= 2:
            print(f"time({args.sizes[-1]:,}) / time({args.sizes[0]:,}) = "
                  f"{times[-1] / times[0]:.1f} for {args.sizes[-1] / args.sizes[0]:.0f}x "
                  "the rows\n")


if __name__ == "__main__":
    main()
