"""A seeded, messy contacts file whose truth is known: which rows are the same person.

    python examples/messy.py --people 20000 --score                      # dedup accuracy
    python examples/messy.py out.csv --people 1000000 --truth truth.csv  # a big file

Every phone is valid by libphonenumber and every email by email-validator, so the whole
file reaches dedup. About a quarter of the rows repeat an earlier person, written
differently: the number in another format (spaces, dashes, dots, parentheses, no ``+``,
national), names and emails in other case and spacing, names without their accents,
emails with one or two typos in the local part, numbers with one wrong digit, a second
number. Every repeat keeps something to be linked by: the number or the email, or the
name with a number or email a typo away; none is a blind guess. The hard negatives are
new people made to look like an earlier one: a number one digit from theirs (another
name), their very name (another number; another email or none), an email a typo or two
from theirs (another name), or their name *and* a number one digit away, with an
address of their own.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

import phonenumbers

HEADER = ["First Name", "Last Name", "Phone Number", "E-mail", "Country"]

# Canonical spellings, most common first; no two fold to the same letters, so "another
# name" is another name.
FIRST_NAMES = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Christopher", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty",
    "Mark", "Sandra", "Steven", "Ashley", "Andrew", "Emily", "Kevin", "Michelle", "Brian",
    "Amanda", "José", "María", "Zoë", "Renée", "François", "Chloé", "André", "Inés", "Søren",
    "Björn", "Łukasz", "Nuño", "Ann", "Li", "Wei", "Aisha", "Omar", "Priya", "Kemi", "Mary Ann",
    "Jean-Luc", "Anne-Marie", "Seán", "Siobhán", "Ahmed", "Fatima", "Hiroshi", "Yuki", "Olga",
    "Dmitri", "Ingrid", "Lars", "Chen", "Mei", "Raj", "Ananya", "Kwame", "Ama", "Diego",
    "Lucía", "Mateo", "Valentina", "Noah", "Olivia", "Liam", "Emma", "Ethan", "Ava",
]
_COMMON_SURNAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Rodríguez",
    "Martínez", "Hernández", "López", "González", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Pérez", "Thompson", "White", "Harris", "Sánchez",
    "Clark", "Ramírez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Müller", "O'Brien", "de la Cruz",
    "Van der Berg", "Khan", "Okafor", "Kowalski", "Tanaka", "Rossi", "Dubois", "Silva",
    "Novák", "Şahin", "Ødegård", "Wu", "Ng",
]
# The long tail real surnames have, made up from syllables.
_SURNAME_HEADS = ["Ash", "Bel", "Car", "Dal", "Ell", "Fair", "Gar", "Hal", "Ken", "Lan", "Mor",
                  "Nor", "Pem", "Ral", "Stan", "Thorn", "Wal", "Whit", "Brad", "Cro"]
_SURNAME_TAILS = ["ton", "ley", "wood", "field", "ford", "by", "well", "ridge", "more",
                  "worth", "ham", "stead", "dale", "brook", "son", "man"]
LAST_NAMES = list(dict.fromkeys(
    _COMMON_SURNAMES + [head + tail for head in _SURNAME_HEADS for tail in _SURNAME_TAILS]))
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
           "example.com", "example.org", "corp.example.net", "mail.example.co.uk"]
DOMAIN_WEIGHTS = [30, 12, 10, 8, 6, 3, 8, 6, 9, 8]
US_AREAS = ["212", "213", "214", "215", "301", "303", "305", "310", "312", "313", "404", "407",
            "408", "412", "415", "469", "503", "504", "512", "602", "612", "617", "646", "702",
            "713", "718", "737", "786", "818", "832", "917", "949", "972"]
CA_AREAS = ["416", "604", "514", "403", "613", "780", "905", "647"]
COUNTRY_NAMES = {"US": ["US", "USA", "United States", "us", ""], "CA": ["CA", "Canada", "canada"],
                 "GB": ["GB", "UK", "United Kingdom", "gb"]}
CALLING_CODES = {"US": 1, "CA": 1, "GB": 44}

REPEAT_SHARE = 0.25  # of rows
HARD_NEGATIVE_SHARE = 0.12  # of new people
NO_EMAIL_SHARE = 0.15  # of people
REPEAT_KINDS = {  # how a person shows up again, and how often
    "reformatted": 50, "email_only": 12, "email_typo_same_phone": 15,
    "email_typo_new_phone": 8, "phone_typo": 15,
}
HARD_NEGATIVE_KINDS = {"neighbour_number": 35, "namesake": 35, "email_lookalike": 20,
                       "namesake_neighbour_number": 10}



def _zipf_odds(count: int, offset: int = 10) -> list[float]:
    """Cumulative odds of a Zipf-Mandelbrot law: the top name is a few percent of people."""
    return list(accumulate(1 / (rank + offset) for rank in range(1, count + 1)))


_FIRST_NAME_ODDS = _zipf_odds(len(FIRST_NAMES))
_LAST_NAME_ODDS = _zipf_odds(len(LAST_NAMES))
_DOT_ATOM = re.compile(r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ATTEMPTS = 50
# For ten-digit NANP numbers and UK mobiles, libphonenumber's patterns are settled by the
# first six digits (area code and exchange; 7xxxxx): checking one number per prefix
# makes a million rows several times faster. The tests check every generated number.
_DECIDING_DIGITS = 6
# Letters NFKD leaves alone (they have no decomposition), as people type them in addresses.
_TRANSLITERATIONS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae",
                                   "œ": "oe", "\u0131": "i"})


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _email_token(name: str) -> str:
    """The ASCII letters people would type for ``name`` in an address."""
    plain = strip_accents(name.lower()).translate(_TRANSLITERATIONS)
    return "".join(char for char in plain if char in _LETTERS)


@dataclass(slots=True)
class Person:
    """One real person: the truth every row of theirs is written from."""

    id: int
    first: str
    last: str
    region: str
    number: str  # national significant number
    email: str  # "" when the person has none
    second_number: str = ""


@dataclass(slots=True)
class _Generator:
    rng: random.Random
    people: list[Person] = field(default_factory=list)
    numbers: set[tuple[int, str]] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    verdicts: dict[tuple[int, str], bool] = field(default_factory=dict)

    # --- phones ------------------------------------------------------------------------

    def _claim_number(self, region: str, number: str) -> bool:
        """Take ``number`` if valid and nobody's yet: one number, one person (or typo)."""
        key = (CALLING_CODES[region], number)
        if key in self.numbers or not self._valid(region, number):
            return False
        self.numbers.add(key)
        return True

    def _valid(self, region: str, number: str) -> bool:
        """libphonenumber's verdict on ``number``, reused for its prefix (_DECIDING_DIGITS)."""
        code = CALLING_CODES[region]
        prefix = (code, number[:_DECIDING_DIGITS])
        verdict = self.verdicts.get(prefix)
        if verdict is None:
            parsed = phonenumbers.PhoneNumber(country_code=code, national_number=int(number))
            verdict = self.verdicts[prefix] = bool(phonenumbers.is_valid_number(parsed))
        return verdict

    def fresh_number(self, region: str) -> str:
        rng = self.rng
        while True:
            if region == "GB":
                number = f"7{rng.choice('1234579')}{rng.randrange(10**8):08d}"
            else:
                area = rng.choice(US_AREAS if region == "US" else CA_AREAS)
                number = f"{area}{rng.randrange(200, 1000)}{rng.randrange(10**4):04d}"
            if self._claim_number(region, number):
                return number

    def neighbour_number(self, region: str, number: str) -> str | None:
        """``number`` with one digit wrong, still valid and nobody's: or None."""
        for _ in range(_ATTEMPTS):
            at = self.rng.randrange(len(number))
            digit = self.rng.choice([d for d in "0123456789" if d != number[at]])
            wrong = f"{number[:at]}{digit}{number[at + 1:]}"
            if self._claim_number(region, wrong):
                return wrong
        return None

    # --- emails ------------------------------------------------------------------------

    def _claim_email(self, email: str) -> bool:
        local = email.partition("@")[0]
        if email in self.emails or not _DOT_ATOM.fullmatch(local):
            return False
        self.emails.add(email)
        return True

    def fresh_email(self, first: str, last: str) -> str:
        rng, given, family = self.rng, _email_token(first), _email_token(last)
        pattern = rng.choice([
            f"{given}.{family}", f"{given}{family}", f"{given[0]}{family}", f"{given}_{family}",
            f"{family}.{given}", f"{given}{family[0]}", f"{given}.{family}{rng.randrange(100)}",
            f"{given[0]}.{family}{rng.randrange(50, 100)}",
        ])
        domain = rng.choices(DOMAINS, DOMAIN_WEIGHTS)[0]
        email = f"{pattern}@{domain}"
        while not self._claim_email(email):  # taken: people add digits
            email = f"{pattern}{rng.randrange(10 ** rng.randint(1, 4))}@{domain}"
        return email

    def typo_email(self, email: str) -> str | None:
        """``email`` with one or two typos in its local part, valid and nobody's: or None."""
        local, _, domain = email.partition("@")
        for _ in range(_ATTEMPTS):
            edits = 1 if self.rng.random() < 0.75 else 2
            wrong = f"{_typo(self.rng, local, edits)}@{domain}"
            if wrong != email and self._claim_email(wrong):
                return wrong
        return None

    # --- people ------------------------------------------------------------------------

    def random_name(self, unlike: Person | None = None) -> tuple[str, str]:
        """A name as common as in life (Zipf): many people share the first few."""
        while True:
            first = self.rng.choices(FIRST_NAMES, cum_weights=_FIRST_NAME_ODDS)[0]
            last = self.rng.choices(LAST_NAMES, cum_weights=_LAST_NAME_ODDS)[0]
            if unlike is None or (first, last) != (unlike.first, unlike.last):
                return first, last

    def new_person(self, first: str, last: str, region: str, number: str,
                   email: str | None = None) -> Person:
        if email is None:
            email = "" if self.rng.random() < NO_EMAIL_SHARE else self.fresh_email(first, last)
        person = Person(len(self.people), first, last, region, number, email)
        self.people.append(person)
        return person

    def ordinary_person(self) -> Person:
        region = self.rng.choices(["US", "CA", "GB"], [70, 10, 20])[0]
        first, last = self.random_name()
        return self.new_person(first, last, region, self.fresh_number(region))

    def hard_negative(self, kind: str, like: Person) -> Person | None:
        """A new person made to look like ``like``; None when ``like`` cannot be imitated."""
        if kind == "namesake":
            return self.new_person(like.first, like.last, like.region,
                                   self.fresh_number(like.region))
        if kind == "email_lookalike":
            email = self.typo_email(like.email) if like.email else None
            if email is None:
                return None
            first, last = self.random_name(unlike=like)
            return self.new_person(first, last, like.region, self.fresh_number(like.region),
                                   email)
        number = self.neighbour_number(like.region, like.number)
        if number is None:
            return None
        if kind == "neighbour_number":
            first, last = self.random_name(unlike=like)
            return self.new_person(first, last, like.region, number)
        if not like.email:  # namesake_neighbour_number: only emails can tell them apart
            return None
        return self.new_person(like.first, like.last, like.region, number,
                               self.fresh_email(like.first, like.last))

    # --- rows --------------------------------------------------------------------------

    def row(self, person: Person, number: str, email: str) -> list[str]:
        rng = self.rng
        phone, country = _written_number(rng, person.region, number)
        return [_written_name(rng, person.first), _written_name(rng, person.last), phone,
                _written_email(rng, email), country]

    def repeat(self, kind: str, person: Person) -> list[str] | None:
        """A later row of ``person``; None when this kind cannot be made for them."""
        if kind == "reformatted":
            return self.row(person, person.number, person.email)
        if kind == "phone_typo":
            number = self.neighbour_number(person.region, person.number)
            if number is None:
                return None
            roll = self.rng.random()  # a second typo in the same row is the rare case
            email = "" if roll < 0.6 or not person.email else (
                person.email if roll < 0.9 else self.typo_email(person.email) or "")
            return self.row(person, number, email)
        if not person.email:
            return None
        if kind == "email_typo_same_phone":
            typo = self.typo_email(person.email)
            return None if typo is None else self.row(person, person.number, typo)
        if not person.second_number:
            person.second_number = self.fresh_number(person.region)
        if kind == "email_only":
            return self.row(person, person.second_number, person.email)
        typo = self.typo_email(person.email)  # email_typo_new_phone
        return None if typo is None else self.row(person, person.second_number, typo)


def _typo(rng: random.Random, text: str, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        kind = rng.choice(("transpose", "delete", "substitute"))
        if kind == "transpose" and len(chars) > 1:
            at = rng.randrange(len(chars) - 1)
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        elif kind == "delete" and len(chars) > 1:
            del chars[rng.randrange(len(chars))]
        else:
            at = rng.randrange(len(chars))
            chars[at] = rng.choice(_LETTERS.replace(chars[at], ""))
    return "".join(chars)


def _written_number(rng: random.Random, region: str, number: str) -> tuple[str, str]:
    """``number`` as people write it, and the country column that makes it readable."""
    country = rng.choice(COUNTRY_NAMES[region])
    if region == "GB":
        head, tail = number[:4], number[4:]
        shapes = [f"0{head} {tail}", f"0{number}", f"(0{head}) {tail[:3]} {tail[3:]}",
                  f"0{head}-{tail[:3]}-{tail[3:]}", f"44{number}", f"0044 {head} {tail}"]
        international = [f"+44 {head} {tail}", f"+44{number}", f"+44 (0){head} {tail}"]
        if rng.random() < 0.3:
            return rng.choice(international), rng.choice([country, ""])
        return rng.choice(shapes), country
    area, exchange, line = number[:3], number[3:6], number[6:]
    shapes = [
        f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"{area}.{exchange}.{line}",
        f"{area} {exchange} {line}", number, f"+1 {area} {exchange} {line}",
        f"+1 ({area}) {exchange}-{line}", f"1-{area}-{exchange}-{line}", f"1{number}",
        f"+1{number}", f"1 ({area}) {exchange} {line}", f" {area}-{exchange}-{line} ",
    ]
    return rng.choice(shapes), country


def _written_name(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.45:
        return name
    if roll < 0.55:
        return name.upper()
    if roll < 0.65:
        return name.lower()
    if roll < 0.8:
        return strip_accents(name)
    if roll < 0.9:
        return f"  {name.replace(' ', '  ')} "
    return name.replace(" ", "") if " " in name else f"{name} "


def _written_email(rng: random.Random, email: str) -> str:
    if not email:
        return ""
    roll = rng.random()
    if roll < 0.6:
        return email
    if roll < 0.75:
        return email.upper()
    if roll < 0.9:
        local, _, domain = email.partition("@")
        return f"{local.title()}@{domain.capitalize()}"
    return f"  {email} "


def rows_with_kinds(people: int, seed: int) -> Iterator[tuple[list[str], int, str]]:
    """``generate``'s rows, each with what kind of row it is (for diagnostics)."""
    made = _Generator(random.Random(seed))
    repeat_kinds, repeat_weights = list(REPEAT_KINDS), list(REPEAT_KINDS.values())
    negative_kinds, negative_weights = list(HARD_NEGATIVE_KINDS), list(HARD_NEGATIVE_KINDS.values())
    rng = made.rng
    while len(made.people) < people:
        if made.people and rng.random() < REPEAT_SHARE:
            earlier = rng.choice(made.people)
            kind = rng.choices(repeat_kinds, repeat_weights)[0]
            fields = made.repeat(kind, earlier) or made.repeat("reformatted", earlier)
            assert fields is not None
            yield fields, earlier.id, kind
            continue
        kind, lookalike = "ordinary", None
        if made.people and rng.random() < HARD_NEGATIVE_SHARE:
            kind = rng.choices(negative_kinds, negative_weights)[0]
            lookalike = made.hard_negative(kind, rng.choice(made.people))
        person = lookalike or made.ordinary_person()
        if lookalike is None:
            kind = "ordinary"
        yield made.row(person, person.number, person.email), person.id, kind


def generate(people: int, seed: int) -> Iterator[tuple[list[str], int]]:
    """Rows of ``HEADER``'s columns for ``people`` distinct people, each with its person id."""
    for fields, person, _ in rows_with_kinds(people, seed):
        yield fields, person


# --- scoring ------------------------------------------------------------------------------


@dataclass(slots=True)
class Scores:
    """How dedup's verdicts compare with the truth."""

    rows: int = 0
    invalid: int = 0  # rows the pipeline would reject before dedup (not scored)
    marked: int = 0  # rows marked duplicate
    marked_right: int = 0  # ... of a record of the same person
    repeats: int = 0  # rows of a person already seen
    repeats_marked: int = 0
    false_merges: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)  # repeats kept, by kind of row
    repeat_kinds: Counter[str] = field(default_factory=Counter)  # repeats, by kind of row

    @property
    def precision(self) -> float:
        return self.marked_right / self.marked if self.marked else 1.0

    @property
    def recall(self) -> float:
        return self.repeats_marked / self.repeats if self.repeats else 1.0

    def summary(self) -> str:
        reasons = ", ".join(f"{reason} {count}" for reason, count in self.reasons.most_common())
        missed = ", ".join(f"{kind} {count} of {self.repeat_kinds[kind]}"
                           for kind, count in self.missed.most_common())
        return (f"rows {self.rows} (invalid, not scored: {self.invalid})\n"
                f"duplicates marked {self.marked}: {reasons}\n"
                f"repeats {self.repeats}, missed by kind: {missed or 'none'}\n"
                f"precision {self.precision:.4f}  recall {self.recall:.4f}  "
                f"false merges {self.false_merges}")


def score(people: int, seed: int) -> Scores:
    """Run the pipeline's dedup (exact, then fuzzy) over ``generate(people, seed)``, each
    row normalised as the pipeline does, and score it."""
    from streamer.cleaning._normalize import (
        normalize_email,
        normalize_name,
        normalize_phone,
        region_for_country,
    )
    from streamer.cleaning.dedup import Dedup
    from streamer.records import Row
    from streamer.settings import FuzzySettings

    scores, dedup = Scores(), Dedup(fuzzy=FuzzySettings())
    person_of: dict[int, int] = {}
    seen: set[int] = set()
    for record, (fields, person, kind) in enumerate(rows_with_kinds(people, seed), 1):
        scores.rows += 1
        first, last, raw_phone, raw_email, country = fields
        region = region_for_country(country) if country.strip() else "US"
        phone = normalize_phone(raw_phone.strip(), region) if region else None
        email = normalize_email(raw_email) if raw_email.strip() else ""
        if phone is None or email is None:
            scores.invalid += 1
            continue
        row = Row(record, fields)
        row.phone, row.email = phone, email
        row.first_name, row.last_name = normalize_name(first), normalize_name(last)
        person_of[record] = person
        dedup.check(row, by_external_id=False)
        repeat = person in seen
        seen.add(person)
        scores.repeats += repeat
        scores.repeat_kinds[kind] += repeat
        if row.duplicate_of is None:
            if repeat:
                scores.missed[kind] += 1
            continue
        right = person_of[row.duplicate_of] == person
        scores.marked += 1
        scores.marked_right += right
        scores.false_merges += not right
        scores.repeats_marked += repeat
        scores.reasons[str(row.reason)] += 1
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python examples/messy.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path, help="the CSV to write")
    parser.add_argument("--people", type=int, default=20_000, help="distinct people")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--truth", type=Path, help="also write record,person_id here")
    parser.add_argument("--score", action="store_true",
                        help="dedup the rows (exact, then fuzzy) and print accuracy")
    args = parser.parse_args(argv)
    if args.out is None and not args.score:
        parser.error("give a file to write, --score, or both")
    if args.out is not None:
        write(args.out, args.truth, args.people, args.seed)
    if args.score:
        print(f"people {args.people}, seed {args.seed}")
        print(score(args.people, args.seed).summary())


def write(out: Path, truth: Path | None, people: int, seed: int) -> None:
    """The CSV to ``out`` and, when asked, ``record,person_id`` to ``truth``."""
    with ExitStack() as files:
        rows = csv.writer(files.enter_context(open(out, "w", encoding="utf-8", newline="")))
        truths = None
        if truth is not None:
            truths = csv.writer(files.enter_context(
                open(truth, "w", encoding="utf-8", newline="")))
            truths.writerow(["record", "person_id"])
        rows.writerow(HEADER)
        for record, (fields, person) in enumerate(generate(people, seed), 1):
            rows.writerow(fields)
            if truths is not None:
                truths.writerow([record, person])


if __name__ == "__main__":
    main()
