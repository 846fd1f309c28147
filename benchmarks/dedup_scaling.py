"""How dedup cost grows with the number of contacts: time and memory at 100k and 1M rows.

    python -m benchmarks.dedup_scaling --sizes 100000 1000000

Contacts are generated already normalised (what the dedup stage receives): common first
and last names, E.164 numbers, name-based emails at a few domains, and a quarter of the
rows repeats of earlier people with a typo in the email or one digit of the number. The
time is the dedup stage alone (exact and fuzzy); memory is the fuzzy index's own count
(``nbytes``) and the exact indexes' dicts, per unique contact. A near-linear index has a
time ratio close to the size ratio (10 for 100k -> 1M); the issue's bound is 12.
"""

from __future__ import annotations

import argparse
import random
import time

from streamer.dedup import Dedup
from streamer.fuzzy import FuzzySettings
from streamer.records import Row

FIRST = ["james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda",
         "william", "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica",
         "thomas", "sarah", "charles", "karen", "maria", "jose", "ana", "wei", "li", "fatima",
         "mohammed", "olga", "ivan", "sofia"] * 3
LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
        "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson",
        "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white",
        "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "nguyen", "kim"] * 4
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.com", "corp.example.net"]


def _typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]  # a transposition


def contacts(rows: int, seed: int) -> list[Row]:
    rng = random.Random(seed)
    people: list[tuple[str, str, str, str]] = []
    out = []
    for record in range(1, rows + 1):
        if people and rng.random() < 0.25:
            first, last, phone, email = rng.choice(people)
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
            people.append((first, last, phone, email))
        row = Row(record, [])
        row.first_name, row.last_name, row.phone, row.email = first, last, phone, email
        out.append(row)
    return out


def measure(rows: int, seed: int) -> tuple[float, int, float]:
    """Seconds, unique contacts kept, bytes per kept contact (fuzzy index + exact dicts)."""
    batch = contacts(rows, seed)
    dedup = Dedup(fuzzy=FuzzySettings())
    started = time.perf_counter()
    for start in range(0, rows, 2048):
        dedup.check_batch(batch[start : start + 2048], by_external_id=False)
    seconds = time.perf_counter() - started
    kept = len(dedup)
    return seconds, kept, dedup.nbytes() / max(kept, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    print(f"{'rows':>10}{'seconds':>10}{'rows/s':>12}{'kept':>10}{'B/contact':>11}")
    times = []
    for size in args.sizes:
        seconds, kept, per_contact = measure(size, args.seed)
        times.append(seconds)
        print(f"{size:>10,}{seconds:>10.2f}{size / seconds:>12,.0f}{kept:>10,}"
              f"{per_contact:>11.0f}")
    if len(times) >= 2:
        print(f"time({args.sizes[-1]:,}) / time({args.sizes[0]:,}) = {times[-1] / times[0]:.1f}"
              f" for {args.sizes[-1] / args.sizes[0]:.0f}x the rows")


if __name__ == "__main__":
    main()
