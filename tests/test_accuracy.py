"""Dedup (exact, then fuzzy) scored against a generated file whose truth is known.

The same scores print with ``python examples/messy.py --people 20000 --score``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import phonenumbers
import pytest
from rapidfuzz.distance import OSA

from streamer.cleaning._normalize import normalize_email, normalize_phone, region_for_country
from streamer.cleaning.dedup import fold_name

PEOPLE = 20_000
SEED = 7


def load_messy() -> ModuleType:
    """examples/messy.py is a script, not a package module: load it from its path."""
    path = Path(__file__).parent.parent / "examples" / "messy.py"
    spec = importlib.util.spec_from_file_location("messy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("messy", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


messy = load_messy()


def test_exact_then_fuzzy_dedup_meets_the_accuracy_floors() -> None:
    scores = messy.score(PEOPLE, SEED)
    print(f"\npeople {PEOPLE}, seed {SEED}\n{scores.summary()}")
    assert scores.invalid == 0  # every row reaches dedup, so every row is scored
    assert scores.false_merges == 0
    assert scores.precision >= 0.999
    assert scores.recall >= 0.98
    # Both fuzzy rules did real work, beyond what exact keys catch.
    assert scores.reasons["similar_email"] > 100
    assert scores.reasons["similar_phone_same_name"] > 100


@pytest.fixture(scope="module")
def sample() -> list[tuple[list[str], int, str]]:
    return list(messy.rows_with_kinds(3_000, SEED))


def test_the_generator_is_seeded(sample: list[tuple[list[str], int, str]]) -> None:
    again = list(messy.rows_with_kinds(3_000, SEED))
    assert again == sample
    assert list(messy.rows_with_kinds(3_000, SEED + 1)) != sample


def test_the_generator_makes_people_and_repeats_in_a_realistic_mix(
    sample: list[tuple[list[str], int, str]],
) -> None:
    people = {person for _, person, _ in sample}
    assert people == set(range(3_000))
    assert 0.2 <= 1 - len(people) / len(sample) <= 0.3
    kinds = Counter(kind for _, _, kind in sample)
    expected = set(messy.REPEAT_KINDS) | set(messy.HARD_NEGATIVE_KINDS) | {"ordinary"}
    assert set(kinds) == expected


def test_every_generated_phone_and_email_is_valid(
    sample: list[tuple[list[str], int, str]],
) -> None:
    for fields, _, _ in sample:
        assert len(fields) == len(messy.HEADER)
        _, _, phone, email, country = fields
        region = region_for_country(country) if country.strip() else "US"
        assert region is not None
        e164 = normalize_phone(phone.strip(), region)
        assert e164 is not None, phone
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164))
        assert not email.strip() or normalize_email(email) is not None, email


def one_digit_apart(first: str, second: str) -> bool:
    if len(first) != len(second):
        return False
    return sum(a != b for a, b in zip(first, second, strict=True)) == 1


def test_hard_negatives_are_new_people_who_look_like_earlier_ones(
    sample: list[tuple[list[str], int, str]],
) -> None:
    earlier: list[tuple[str, str, str]] = []  # each person's E.164, email, folded name
    seen: set[int] = set()
    for fields, person, kind in sample:
        first, last, phone, email, country = fields
        region = region_for_country(country) if country.strip() else "US"
        contact = (normalize_phone(phone.strip(), region or "US") or "",
                   normalize_email(email) or "" if email.strip() else "",
                   fold_name(first) + "/" + fold_name(last))
        if kind in messy.HARD_NEGATIVE_KINDS:
            assert person not in seen
            assert any(looks_alike(kind, contact, other) for other in earlier), kind
        if person not in seen:
            seen.add(person)
            earlier.append(contact)


def looks_alike(kind: str, new: tuple[str, str, str], old: tuple[str, str, str]) -> bool:
    (phone, email, name), (old_phone, old_email, old_name) = new, old
    if kind == "namesake":
        return name == old_name and phone != old_phone and (not email or email != old_email)
    if kind == "neighbour_number":
        return one_digit_apart(phone, old_phone) and name != old_name
    if kind == "email_lookalike":
        local, _, domain = email.partition("@")
        old_local, _, old_domain = old_email.partition("@")
        return (domain == old_domain and name != old_name
                and 0 < OSA.distance(local, old_local) <= 2)
    assert kind == "namesake_neighbour_number"
    return (one_digit_apart(phone, old_phone) and name == old_name
            and bool(email) and bool(old_email) and email != old_email)


async def test_the_pipelines_outcomes_meet_the_accuracy_floors(tmp_path: Path) -> None:
    """The same truth, scored on what a real dry run writes to outcomes.csv."""
    import csv

    import streamer

    source, truth_file = tmp_path / "messy.csv", tmp_path / "truth.csv"
    messy.write(source, truth_file, PEOPLE, SEED)
    with open(truth_file, encoding="utf-8", newline="") as file:
        person = {int(row["record"]): row["person_id"] for row in csv.DictReader(file)}
    report = await streamer.run(source, streamer.Settings(out_dir=tmp_path / "out",
                                                          dry_run=True))
    assert report.balanced
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8", newline="") as file:
        outcomes = {int(o["record"]): o for o in csv.DictReader(file)}
    kept_people: set[str] = set()
    repeats = caught = true_duplicates = marked = false_merges = 0
    for record in sorted(outcomes):
        outcome, who = outcomes[record], person[record]
        if who in kept_people:
            repeats += 1
        if outcome["outcome"] == "duplicate":
            marked += 1
            if person[int(outcome["duplicate_of"])] == who:
                true_duplicates += 1
                caught += who in kept_people
            else:
                false_merges += 1
        elif outcome["outcome"] == "accepted":
            kept_people.add(who)
    precision, recall = true_duplicates / marked, caught / repeats
    print(f"\npipeline: precision {precision:.4f} recall {recall:.4f} "
          f"false merges {false_merges}")
    assert report.outcomes["rejected"] == 0  # the generator writes only valid contacts
    assert false_merges == 0
    assert precision >= 0.999
    assert recall >= 0.98
