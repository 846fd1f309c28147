"""Write a seeded, messy contacts CSV like the ones people really export.

    python examples/make_contacts.py examples/contacts.csv --rows 1000 --seed 7

The mess: phones in every common format (and some invalid or missing), emails in odd
case with stray spaces (and some invalid), names with extra whitespace and quoted
commas, countries as codes or names, repeated contacts, blank lines and empty rows.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from pathlib import Path

FIRST = ["Ann", "Bob", "Carla", "Dev", "Eve", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kemi",
         "Liam", "Mara", "Noor", "Omar", "Pia", "Quinn", "Rosa", "Sven", "Tara", "José", "Zoë"]
LAST = ["Lee", "Ray", "Okafor", "Smith", "Nguyen", "García", "Müller", "O'Brien", "Khan",
        "Rossi", "Silva", "Dubois", "Kowalski", "Tanaka", "Smith, Jr", "de la Cruz"]
US_AREAS = ["212", "415", "312", "617", "206", "303", "512", "404", "305", "702"]
CA_AREAS = ["416", "604", "514", "403", "613"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net"]


def _us_like(rng: random.Random, areas: list[str]) -> tuple[str, str]:
    area, exchange, line = rng.choice(areas), rng.randint(201, 989), rng.randint(0, 9999)
    if exchange == 555:
        exchange = 556
    shapes = [
        f"({area}) {exchange}-{line:04d}", f"{area}.{exchange}.{line:04d}",
        f"+1 {area} {exchange} {line:04d}", f"1-{area}-{exchange}-{line:04d}",
        f"{area}{exchange}{line:04d}", f" {area}-{exchange}-{line:04d} ",
    ]
    return f"+1{area}{exchange}{line:04d}", rng.choice(shapes)


def _gb(rng: random.Random) -> tuple[str, str]:
    rest = f"7{rng.choice('45789')}{rng.randint(0, 99999999):08d}"
    shapes = [f"0{rest[:4]} {rest[4:]}", f"+44 {rest[:4]} {rest[4:]}", f"0{rest}", f"44{rest}"]
    return f"+44{rest}", rng.choice(shapes)


def _country(rng: random.Random, region: str) -> str:
    names = {"US": ["US", "us", "United States", "USA", ""], "CA": ["CA", "Canada", "canada"],
             "GB": ["GB", "UK", "United Kingdom", "gb"]}
    return rng.choice(names[region])


def contacts(rows: int, seed: int) -> Iterator[list[str]]:
    """Yield the header, then ``rows`` messy records (blank lines come as empty lists)."""
    rng = random.Random(seed)
    yield ["First Name", "Last Name", "Phone Number", "E-mail", "Country"]
    people: list[list[str]] = []
    for _ in range(rows):
        roll = rng.random()
        if people and roll < 0.08:  # the same person again, written differently
            first, last, phone, email, country = rng.choice(people)
            yield [f"  {first.upper()}", last, phone.replace(" ", ""), email.upper(), country]
            continue
        if roll < 0.10:
            yield [] if rng.random() < 0.5 else ["", "", "", "", ""]
            continue
        region = rng.choices(["US", "CA", "GB"], weights=[6, 2, 2])[0]
        if region == "GB":
            _, phone = _gb(rng)
        else:
            _, phone = _us_like(rng, US_AREAS if region == "US" else CA_AREAS)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}{rng.randint(1, 999)}@{rng.choice(DOMAINS)}".replace(" ", "")
        email = email.replace(",", "").replace("'", "")
        if rng.random() < 0.3:
            email = f" {email.title()} "
        defect = rng.random()
        if defect < 0.03:
            phone = rng.choice(["555-1234", "12345", "n/a", "+1 999 123 4567"])
        elif defect < 0.05:
            phone = ""
        elif defect < 0.07:
            email = rng.choice([f"{first}@", f"{first}@@example.com", "not an email"])
        elif defect < 0.08:
            email = ""
        if rng.random() < 0.2:
            first = f" {first}  "
        record = [first, last, phone, email, _country(rng, region)]
        people.append(record)
        yield record


def write_contacts(path: Path, rows: int, seed: int) -> None:
    """Write the header and ``rows`` messy records to ``path`` as CSV."""
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        for record in contacts(rows, seed):
            if record:
                writer.writerow(record)
            else:
                file.write("\r\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write_contacts(args.path, args.rows, args.seed)


if __name__ == "__main__":
    main()
