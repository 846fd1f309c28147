from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer.cleaning.dedup._rules import fold_name, name_pieces
from streamer.errors import ConfigError
from streamer.records import ReasonCode
from streamer.settings import FuzzySettings
from tests.dedup_support import FuzzyIndex, mistyped_email, similar_phones

SIMILAR_EMAIL = ReasonCode.SIMILAR_EMAIL
SIMILAR_PHONE_SAME_NAME = ReasonCode.SIMILAR_PHONE_SAME_NAME

Contact = tuple[str, str, str, str]  # phone, email, first name, last name


def index_of(*kept: Contact, fuzzy_settings: FuzzySettings | None = None) -> FuzzyIndex:
    """An index holding ``kept`` as records 1, 2, ..."""
    index = FuzzyIndex(fuzzy_settings or FuzzySettings())
    for record, contact in enumerate(kept, 1):
        index.add(record, *contact)
    return index


JOSE = ("+14155552671", "jose.garcia@example.com", "José", "García")


# --- similar_email -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "typo"),
    [
        ("jsoe.garcia@example.com", "transposed letters"),
        ("jose.garca@example.com", "missing letter"),
        ("jose.garcoa@example.com", "wrong letter"),
        ("jose.garrcia@example.com", "extra letter"),
        ("jsoe.garca@example.com", "two typos in a long local part"),
    ],
)
def test_a_typo_in_the_local_part_with_the_same_name_is_the_same_person(
    typed: str, typo: str
) -> None:
    index = index_of(JOSE)
    # A second number: only the email links the two rows.
    assert index.match(2, "+13125550199", typed, "Jose", "GARCIA") == (SIMILAR_EMAIL, 1), typo


def test_a_similar_email_under_another_name_is_another_person() -> None:
    index = index_of(JOSE)
    assert index.match(2, "+13125550199", "jose.garcla@example.com", "Josh", "García") is None
    assert index.match(3, "+13125550199", "jose.garcla@example.com", "José", "Garcís") is None


def test_the_same_local_part_at_another_domain_is_not_a_typo() -> None:
    index = index_of(JOSE)
    assert index.match(2, "+13125550199", "jose.garcla@example.org", "José", "García") is None


def test_without_both_names_an_email_typo_proves_nothing() -> None:
    index = index_of(JOSE)
    assert index.match(2, "+13125550199", "jsoe.garcia@example.com", "José", "") is None
    assert index.match(3, "+13125550199", "jsoe.garcia@example.com", "", "García") is None


@pytest.mark.parametrize(
    ("kept", "typed"),
    [
        ("john.smith1@example.com", "john.smith2@example.com"),    # digits differ
        ("john.smith12@example.com", "john.smith21@example.com"),
        ("john.smith@example.com", "johnsmith@example.com"),      # both made of the name
        ("zjohnson@example.com", "zoejohnson@example.com"),
        ("jsmith.ny@example.com", "jsmith.nyc@example.com"),      # one extends the other
        ("ann@example.com", "anne@example.com"),                  # too short for a typo
        ("jose.garcia@example.com", "jsoe.gacrai@example.com"),   # too many typos
    ],
)
def test_namesakes_mailboxes_at_one_domain_stay_apart(kept: str, typed: str) -> None:
    first = "Zoe" if kept.startswith("z") else "John"
    last = "Johnson" if first == "Zoe" else "Smith"
    index = index_of(("+14155552671", kept, first, last))
    assert index.match(2, "+13125550199", typed, first, last) is None


@pytest.mark.parametrize(
    ("kept", "typed"),
    [
        ("john.smith1@example.com", "jonh.smith1@example.com"),
        ("john.smith@example.com", "john.smiht@example.com"),
        ("jsmith.ny@example.com", "jsmiht.ny@example.com"),
    ],
)
def test_the_same_mailboxes_with_a_real_typo_are_one_person(kept: str, typed: str) -> None:
    index = index_of(("+14155552671", kept, "John", "Smith"))
    assert index.match(2, "+13125550199", typed, "John", "Smith") == (SIMILAR_EMAIL, 1)


def test_a_typo_between_two_namesakes_addresses_belongs_to_neither() -> None:
    index = index_of(
        ("+14155552671", "john.johnson@example.com", "John", "Johnson"),
        ("+13125550199", "johnjohnson@example.com", "John", "Johnson"),
    )
    assert index.match(3, "+16175550123", "johnfjohnson@example.com", "John", "Johnson") is None


def test_a_typo_near_only_one_namesake_finds_that_one() -> None:
    index = index_of(
        ("+14155552671", "john.johnson@example.com", "John", "Johnson"),
        ("+13125550199", "john.johnson77@example.com", "John", "Johnson"),
    )
    found = index.match(3, "+16175550123", "jonh.johnson77@example.com", "John", "Johnson")
    assert found == (SIMILAR_EMAIL, 2)


# --- similar_phone_same_name ---------------------------------------------------------------


def test_one_wrong_digit_with_the_same_name_is_the_same_person() -> None:
    index = index_of(("+14155552671", "", "Ann", "Lee"))
    assert index.match(2, "+14155552677", "", "ANN", " lee") == (SIMILAR_PHONE_SAME_NAME, 1)
    assert index.match(3, "+15155552671", "", "Ann", "Lee") == (SIMILAR_PHONE_SAME_NAME, 1)


def test_one_wrong_digit_with_another_name_is_another_person() -> None:
    index = index_of(("+14155552671", "", "Ann", "Lee"))
    assert index.match(2, "+14155552677", "", "Bob", "Lee") is None
    assert index.match(3, "+14155552677", "", "Ann", "Li") is None


def test_two_wrong_digits_are_another_number() -> None:
    index = index_of(("+14155552671", "", "Ann", "Lee"))
    assert index.match(2, "+14155552677", "", "Ann", "Lee") is not None
    assert index.match(3, "+14155553677", "", "Ann", "Lee") is None


def test_one_wrong_digit_needs_the_emails_to_agree_when_both_have_one() -> None:
    index = index_of(("+14155552671", "ann.lee@example.com", "Ann", "Lee"))
    assert index.match(2, "+14155552677", "ann.lee7@example.com", "Ann", "Lee") is None
    assert index.match(3, "+14155552677", "a.lee@example.com", "Ann", "Lee") is None
    assert index.match(4, "+14155552677", "ann.lee@example.org", "Ann", "Lee") is None
    assert index.match(5, "+14155552677", "", "Ann", "Lee") == (SIMILAR_PHONE_SAME_NAME, 1)
    # Two typos in a short address: not enough alone, enough with the number.
    assert index.match(6, "+13125550199", "an.lea@example.com", "Ann", "Lee") is None
    typo = index.match(7, "+14155552677", "an.lea@example.com", "Ann", "Lee")
    assert typo == (SIMILAR_PHONE_SAME_NAME, 1)


def test_a_number_a_digit_from_two_namesakes_matches_neither() -> None:
    index = index_of(("+14155552671", "", "Ann", "Lee"), ("+14155552673", "", "Ann", "Lee"))
    assert index.match(3, "+14155552672", "", "Ann", "Lee") is None


def test_numbers_of_different_lengths_are_not_a_digit_apart() -> None:
    index = index_of(("+447911123456", "", "Ann", "Lee"))
    assert index.match(2, "+44791112345", "", "Ann", "Lee") is None


def test_rules_that_point_at_two_people_are_not_trusted() -> None:
    index = index_of(
        ("+14155552671", "", "Ann", "Lee"),
        ("+13125550199", "ann.leeson@example.com", "Ann", "Lee"),
    )
    found = index.match(3, "+14155552677", "ann.leesno@example.com", "Ann", "Lee")
    assert found is None


# --- common names --------------------------------------------------------------------------


@pytest.mark.parametrize("with_emails", [True, False])
def test_people_sharing_a_common_name_stay_apart(with_emails: bool) -> None:
    # n written twice: any two numbers differ in at least two digits.
    smiths = [(f"+1415{n:03d}{n:04d}", f"john.smith{n}@example.com" if with_emails else "",
               "John", "Smith") for n in range(200, 500)]
    index = FuzzyIndex()
    for record, contact in enumerate(smiths, 1):
        assert index.match(record, *contact) is None
        index.add(record, *contact)
    assert len(index) == len(smiths)


def test_a_full_block_decides_nothing() -> None:
    small = FuzzySettings(max_block_size=3)
    kept = [(f"+1415555{n:04d}", f"{word}.smith@example.com", "John", "Smith")
            for n, word in enumerate(["alpha", "bravo", "charlie"])]
    typo = ("+13125550199", "aplha.smith@example.com", "John", "Smith")
    assert index_of(*kept[:2], fuzzy_settings=small).match(9, *typo) == (SIMILAR_EMAIL, 1)
    assert index_of(*kept, fuzzy_settings=small).match(9, *typo) is None


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("JOSÉ", "José"),
        ("jose", "José"),
        ("  Mary   Ann ", "Mary Ann"),
        ("MaryAnn", "Mary Ann"),
        ("de la Cruz", "De La Cruz"),
        ("delacruz", "De La Cruz"),
        ("O'Brien", "OBrien"),
        ("Zoe", "Zoë"),
        ("MÜLLER", "Muller"),
    ],
)
def test_names_compare_without_case_accents_or_spacing(written: str, canonical: str) -> None:
    assert fold_name(written) == fold_name(canonical)
    index = index_of(("+14155552671", "", canonical, canonical))
    found = index.match(2, "+14155552677", "", written, written)
    assert found == (SIMILAR_PHONE_SAME_NAME, 1)


def test_different_names_fold_differently() -> None:
    assert fold_name("Ann") != fold_name("Anne")
    assert fold_name("Lee") != fold_name("Li")


def test_name_pieces_are_words_initials_and_whole_names() -> None:
    pieces = name_pieces("Mary-Ann", "de la Cruz")
    assert {"mary", "ann", "m", "a", "maryann", "de", "la", "cruz", "d", "delacruz"} <= pieces


def test_contacts_without_both_names_are_not_indexed() -> None:
    index = index_of(("+14155552671", "ann@example.com", "Ann", ""),
                     ("+14155552672", "", "", "Lee"))
    assert len(index) == 0
    assert index.match(3, "+14155552671", "", "Ann", "") is None


# --- the pure rules ------------------------------------------------------------------------


def test_mistyped_email_allows_more_edits_when_told() -> None:
    pieces = name_pieces("Ann", "Lee")
    assert not mistyped_email("anlea@x.com", "annlee@x.com", pieces)
    assert mistyped_email("anlea@x.com", "annlee@x.com", pieces, max_edits=2)


def test_similar_phones_counts_wrong_digits_and_swaps() -> None:
    assert similar_phones("14155552671", "14155552677")
    assert similar_phones("14155552671", "14155552617")  # adjacent digits swapped
    assert not similar_phones("14155552671", "14155552716")  # a swap and a wrong digit
    assert not similar_phones("14155552671", "14155552176")  # digits three apart
    assert not similar_phones("14155552671", "14155552177")
    assert not similar_phones("14155552671", "1415555267")
    assert not similar_phones("", "")
    two = FuzzySettings(max_phone_digit_differences=2)
    assert similar_phones("14155552671", "14155552177", two)


# +1 415 555 2671's digits are blocked as 1415555 | 2671: a swap of "5" and "2" spans them.
@pytest.mark.parametrize("typed", ["+14155552617", "+14155525671", "+14515552671"])
def test_two_adjacent_digits_swapped_are_one_typo(typed: str) -> None:
    index = index_of(("+14155552671", "", "Ann", "Lee"))
    assert index.match(2, typed, "", "Ann", "Lee") == (SIMILAR_PHONE_SAME_NAME, 1)


def test_a_swap_between_two_different_people_is_not_a_typo() -> None:
    index = index_of(("+14155552671", "ann.lee@example.com", "Ann", "Lee"))
    assert index.match(2, "+14155525671", "", "Bob", "Lee") is None  # another name
    # A namesake with an address of their own: two people.
    assert index.match(3, "+14155525671", "annie.l@example.org", "Ann", "Lee") is None


def test_a_swap_from_one_namesake_and_a_digit_from_another_matches_neither() -> None:
    index = index_of(("+14155552671", "", "Ann", "Lee"), ("+14155525672", "", "Ann", "Lee"))
    assert index.match(3, "+14155525671", "", "Ann", "Lee") is None


def test_a_swap_plus_a_wrong_digit_is_two_typos() -> None:
    index = index_of(("+14155552671", "", "Ann", "Lee"))
    assert index.match(2, "+14155525677", "", "Ann", "Lee") is None
    two = index_of(("+14155552671", "", "Ann", "Lee"),
                   fuzzy_settings=FuzzySettings(max_phone_digit_differences=2))
    assert two.match(2, "+14155525677", "", "Ann", "Lee") == (SIMILAR_PHONE_SAME_NAME, 1)


@pytest.mark.parametrize(
    ("kept", "typed"),
    [
        ("karen.morman@example.com", "karen.morma@example.com"),     # a name cut short
        ("karenmorman@example.com", "arenmorman@example.com"),
        ("karen.morman85@example.com", "karen.morman8t@example.com"),  # a digit struck
    ],
)
def test_a_name_cut_short_or_a_digit_struck_as_a_letter_is_a_typo(kept: str,
                                                                  typed: str) -> None:
    index = index_of(("+14155552671", kept, "Karen", "Morman"))
    assert index.match(2, "+13125550199", typed, "Karen", "Morman") == (SIMILAR_EMAIL, 1)


def test_rules_can_be_turned_off() -> None:
    no_email = index_of(JOSE, fuzzy_settings=FuzzySettings(max_email_edits=0))
    assert no_email.match(2, "+13125550199", "jsoe.garcia@example.com", "José", "García") is None
    no_phone = index_of(JOSE, fuzzy_settings=FuzzySettings(max_phone_digit_differences=0))
    assert no_phone.match(2, "+14155552677", "", "José", "García") is None


@pytest.mark.parametrize(
    "bad",
    [{"max_email_edits": -1}, {"max_email_edits": 4}, {"email_chars_per_edit": 0},
     {"max_phone_digit_differences": 4}, {"max_block_size": 0}, {"max_namesakes": 0},
     {"max_namesakes": 256}],
)
def test_settings_out_of_range_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match="must be"):
        FuzzySettings(**bad)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FuzzySettings().max_block_size = 1  # type: ignore[misc]


# --- the index -----------------------------------------------------------------------------


def test_every_contact_stays_findable_as_the_table_grows() -> None:
    people = [(f"+1415{n:07d}0", f"p{n}.x@example.com", f"First{n}", f"Last{n}")
              for n in range(5000)]
    index = index_of(*people)
    assert len(index) == len(people)
    for record, (phone, _, first, last) in enumerate(people, 1):
        wrong_last_digit = phone[:-1] + "7"
        assert index.match(0, wrong_last_digit, "", first, last) == (
            SIMILAR_PHONE_SAME_NAME, record)


def test_nbytes_grows_with_contacts_and_stays_compact() -> None:
    people = [(f"+1415{n:07d}", f"person{n}@example.com", f"First{n}", f"Last{n}")
              for n in range(20_000)]
    empty = FuzzyIndex().nbytes()
    index = index_of(*people)
    assert empty < index.nbytes() < 110 * len(people)


names = st.text(max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(names, names, names, names), max_size=12))
def test_arbitrary_text_never_raises(contacts: list[Contact]) -> None:
    index = FuzzyIndex()
    for record, contact in enumerate(contacts, 1):
        found = index.match(record, *contact)
        assert found is None or (found[0] in {SIMILAR_EMAIL, SIMILAR_PHONE_SAME_NAME}
                                 and 1 <= found[1] < record)
        if found is None:
            index.add(record, *contact)
    assert len(index) <= len(contacts)
    assert index.nbytes() > 0


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
       st.lists(st.integers(min_value=0, max_value=12), max_size=4))
def test_case_and_spaces_never_change_a_folded_name(name: str, spaces: list[int]) -> None:
    spaced = name
    for at in sorted(spaces, reverse=True):
        spaced = f"{spaced[:at]} {spaced[at:]}"
    assert fold_name(f"  {spaced.upper()} ") == fold_name(name) == name


def test_a_block_of_one_is_already_full() -> None:
    tiny = FuzzySettings(max_block_size=1)
    index = index_of(("+14155552671", "john.smith@example.com", "John", "Smith"),
                     fuzzy_settings=tiny)
    assert index.match(2, "+13125550199", "jonh.smith@example.com", "John", "Smith") is None
    roomy = index_of(("+14155552671", "john.smith@example.com", "John", "Smith"))
    found = roomy.match(2, "+13125550199", "jonh.smith@example.com", "John", "Smith")
    assert found == (SIMILAR_EMAIL, 1)


# --- common names ---------------------------------------------------------------------------


def ann_lees(count: int, fuzzy_settings: FuzzySettings) -> FuzzyIndex:
    """``count`` Ann Lees: numbers and addresses far apart."""
    return index_of(*[(f"+1415555{n}671", f"ann.lee.{word}@example.com", "Ann", "Lee")
                      for n, word in zip(range(count), ["montreal", "toronto", "ottawa"],
                                         strict=False)],
                    fuzzy_settings=fuzzy_settings)


def test_a_number_a_digit_off_is_no_evidence_for_a_common_name() -> None:
    three = FuzzySettings(max_namesakes=3)
    assert ann_lees(2, three).match(9, "+14155550672", "", "Ann", "Lee") == (
        SIMILAR_PHONE_SAME_NAME, 1)
    assert ann_lees(3, three).match(9, "+14155550672", "", "Ann", "Lee") is None


def test_a_common_names_address_may_be_only_one_typo_off() -> None:
    three = FuzzySettings(max_namesakes=3)
    one_typo, two_typos = "ann.lee.montrael@example.com", "an.lee.montrael@example.com"
    assert ann_lees(2, three).match(9, "+13125550199", two_typos, "Ann", "Lee") == (
        SIMILAR_EMAIL, 1)
    assert ann_lees(3, three).match(9, "+13125550199", two_typos, "Ann", "Lee") is None
    assert ann_lees(3, three).match(9, "+13125550199", one_typo, "Ann", "Lee") == (
        SIMILAR_EMAIL, 1)


def test_names_become_common_at_max_namesakes_by_default() -> None:
    defaults = FuzzySettings()
    smiths = [(f"+1415{n:03d}{n:04d}", "", "John", "Smith") for n in range(200, 264)]
    index = index_of(*smiths[:-1])
    assert index.match(99, "+14152001200", "", "John", "Smith") == (SIMILAR_PHONE_SAME_NAME, 1)
    index.add(64, *smiths[-1])
    assert defaults.max_namesakes == 64
    assert index.match(99, "+14152001200", "", "John", "Smith") is None
