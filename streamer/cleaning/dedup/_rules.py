"""The match rules, written once: the same person written with a typo, after exact dedup.

Exact dedup has already caught the same E.164 number and the same email. Fuzzy dedup
sees the rows it kept, in file order, and finds two more kinds of repeat. A typo alone
proves nothing (``ann.lea@`` and ``ann.lee@`` are as likely two people as one), so each
kind needs corroboration, and every doubt keeps the rows apart: a missed duplicate costs
one extra call, a false merge loses a customer.

**Names agree** when first and last names are each equal after Unicode NFKD, dropping
combining marks, case folding and dropping all but letters and digits (``José  de la
Cruz`` = ``jose DELACRUZ``). Both must be non-empty: a lone given name is no evidence.
Rows without both are never fuzzy duplicates. Both rules require agreeing names, so
people with different names are never merged by them.

**Common names are weak evidence.** A name is *common* once ``max_namesakes`` kept
contacts have it (default 64). Among *n* namesakes, the chance that a new one's number
is a digit from one of theirs, or their address two typos from one of theirs, grows
with *n*; only the typo's odds do not. So for a common name the phone rule is off, and
an address may be only one typo from the kept one.

``similar_email``: the names agree, the domains are the same, and the local part is
the kept one *mistyped*:

- at most one edit (transposition, missing, extra or wrong character; optimal string
  alignment distance) per ``email_chars_per_edit`` characters of the longer local
  part (a slip that drops letters does not shrink the budget of the address meant), or
  of the shorter where that one is made wholly of the name (``nmartinez``: an address
  of its own, not a slip), at most ``max_email_edits``, and at most one for a common
  name: ``ann@`` gets none, ``jose.garcia@`` two;
- the same digits in the same order: digits are how people who share a name tell
  their mailboxes apart (``john.smith1`` / ``john.smith12``); only a digit struck as a
  letter, the one difference, is a slip (``j.carworth85`` / ``j.carworth8t``);
- neither is the other with characters added only at its start or end (``christopher``
  / ``christopherl``, ``jsmith.ny`` / ``jsmith.nyc``): that is how second mailboxes are
  made; but a name cut short (``karen.morman`` / ``karen.morma``: the longer made wholly
  of the name, the shorter not) is a slip, since nobody picks a mailbox that misspells
  their own name;
- not both made wholly of the person's name words and initials (``zjohnson`` /
  ``zoejohnson``, ``john.smith`` / ``johnsmith``): such an address is chosen, not
  mistyped, and two chosen ones are two people's;
- unambiguous: exactly one kept namesake at that domain has a local part within
  ``max_email_edits`` of it. A typo that falls between two people's addresses
  (``johnfjohnson`` between ``john.johnson`` and ``johnjohnson``) belongs to neither.

A close phone is not required: a repeat whose number matched would already be an
exact duplicate, so what is left is mostly a person giving a second number.

``similar_phone_same_name``: the names agree and are not common, the numbers have the
same length and are at most ``max_phone_digit_differences`` typos apart (a wrong digit
is one typo, and so are two adjacent digits swapped, ``…605711`` / ``…607511``), exactly one
kept namesake's number is that close, and where both rows have an email the two are one
address mistyped (as above, with the full ``max_email_edits`` allowed whatever the
length, since the number already corroborates). Two people a digit apart with different
names, or with the same name and two addresses, stay two rows.

If the two rules point at different kept contacts, neither is trusted.

**Blocking.** A row is compared only with kept contacts that share a blocking key, and
every key includes the name (both rules require it):

- email: (name, domain);
- phone: (name, number length, part *i*, the digits of part *i*) for the number cut into
  ``max_phone_digit_differences + 1`` parts: with one wrong digit, one part is intact.
  A swap across a cut spoils both parts beside it, so the number with each such swap
  undone is looked up too (no more keys are filed for it).
  The first three digits (country and area code) go with the first part, so no block
  is a whole area's namesakes. Contacts of a common name get no phone keys.

A block holds at most ``max_block_size`` contacts (a very common name at one big
domain), so no lookup costs more than that many checks. A full block may have turned
contacts away, so it cannot show that a match is the only one: a row whose block is
full is not matched by that rule.

**What the rules cannot tell.** Two namesakes whose numbers are a digit apart by
chance, when at most one has an email, look exactly like a typo; so does, more rarely,
a namesake's odd address two typos from another's. Among *n* namesakes there are about
*n*²/2 pairs to be so alike, so ``max_namesakes`` bounds them: on ``messy.py``'s million
people (names far more concentrated than real ones) the rules without it merged two
such pairs (and one pair of addresses); with it, none. Chance pairs of namesakes a digit
apart are rare (5 among those million people, whatever their emails: about one pair of
people in 12 million), and fewer than a quarter of namesake pairs there are among a
name's first 64, so the expected number left is about 0.3 per such million. The price
is the typos of common names: recall on that million is 0.9415 (0.937 before chains,
swaps and the two email slips) instead of 0.972.
Two different names share a 32-bit fingerprint in about *D*²/2**33 pairs of *D*
distinct names (a hundred among a million); such a pair counts as one name, and then
still needs a number a digit off or a close address to be merged: about one chance in
10**5 per file.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz.distance import OSA

from streamer.settings import FuzzySettings

_NAME_CACHE = 1 << 12  # names repeat: folding each distinct one once is enough

# Letters without a decomposition, as people type them in addresses.
_TRANSLITERATIONS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe",
                                   "\u0131": "i", "þ": "th", "ð": "d"})
_WORD_BREAKS = re.compile(r"[\s\-_.]+")
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=_NAME_CACHE)
def fold_name(name: str) -> str:
    """``name`` without case, accents, spacing or punctuation.

    ``José  de la Cruz`` and ``jose DELACRUZ`` both become ``josedelacruz``.
    """
    # NFKD on both sides of casefold: each can expose what the other must then remove
    # (``İ`` folds to ``i`` plus a combining dot; compatibility letters decompose to
    # upper-case ones).
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).casefold())
    return "".join(char for char in folded if char.isalnum())


def name_pieces(first_name: str, last_name: str) -> frozenset[str]:
    """What addresses are made of: each name word folded, its initial, each whole name."""
    return _pieces(first_name) | _pieces(last_name)


@lru_cache(maxsize=_NAME_CACHE)
def _pieces(name: str) -> frozenset[str]:
    words = [fold_name(word).translate(_TRANSLITERATIONS) for word in _WORD_BREAKS.split(name)]
    pieces = {word for word in words if word} | {word[0] for word in words if word}
    pieces.add("".join(words))
    pieces.discard("")
    return frozenset(pieces)


def _made_of(run: str, pieces: frozenset[str]) -> bool:
    """Whether ``run`` is a concatenation of ``pieces`` (``jsmith`` = ``j`` + ``smith``)."""
    reachable = [True] + [False] * len(run)
    for start in range(len(run)):
        if reachable[start]:
            for piece in pieces:
                if run.startswith(piece, start):
                    reachable[start + len(piece)] = True
    return reachable[-1]


def _chosen_from_name(local: str, pieces: frozenset[str]) -> bool:
    """Whether every run of letters in ``local`` is made of the name's pieces."""
    return all(_made_of(run, pieces) for run in _LETTER_RUNS.findall(local))


def _digits(local: str) -> str:
    return "".join(filter(str.isdigit, local))


def _same_digits(local: str, kept_local: str) -> bool:
    """The same digits in the same order; or one digit struck as a letter, the only
    difference (``j.carworth85`` / ``j.carworth8t``): a slip, not another number."""
    if _digits(local) == _digits(kept_local):
        return True
    if len(local) != len(kept_local):
        return False
    differ = [at for at, (a, b) in enumerate(zip(local, kept_local, strict=True)) if a != b]
    return len(differ) == 1 and local[differ[0]].isdigit() != kept_local[differ[0]].isdigit()


def _extends(longer: str, shorter: str) -> bool:
    """Whether ``longer`` is ``shorter`` with characters added at its start or end only."""
    return len(longer) > len(shorter) and (
        longer.startswith(shorter) or longer.endswith(shorter))



def _second_mailbox(local: str, kept_local: str, pieces: frozenset[str]) -> bool:
    """Whether one address is the other with characters added at its start or end, as
    second mailboxes are made, rather than a name cut short by a slip: a longer one made
    wholly of the name's pieces, whose shorter one is not, is a name mistyped."""
    longer, shorter = (local, kept_local) if len(local) > len(kept_local) else (
        kept_local, local)
    if not _extends(longer, shorter):
        return False
    return not (_chosen_from_name(longer, pieces) and not _chosen_from_name(shorter, pieces))


def edit_distance(local: str, kept_local: str, cutoff: int) -> int:
    """Optimal string alignment distance, or ``cutoff + 1`` where it is larger."""
    return int(OSA.distance(local, kept_local, score_cutoff=cutoff))


def allowed_edits(local: str, kept_local: str, settings: FuzzySettings, *,
                  common: bool = False, pieces: frozenset[str] = frozenset()) -> int:
    """Typos allowed between two local parts: one per ``email_chars_per_edit`` characters
    of the longer (of the shorter, where that one is made of the name's ``pieces``: an
    address a person could have chosen keeps its own budget), at most
    ``max_email_edits``, and at most one for a common name."""
    shorter, longer = sorted((local, kept_local), key=len)
    measured = shorter if _chosen_from_name(shorter, pieces) else longer
    budget = min(settings.max_email_edits, len(measured) // settings.email_chars_per_edit)
    return min(budget, 1) if common else budget


def one_address_mistyped(local: str, kept_local: str, distance: int, allowed: int,
                         pieces: frozenset[str]) -> bool:
    """Whether two local parts ``distance`` edits apart are one address mistyped: the
    module docstring's conditions, all but ambiguity (the index's to judge), cheapest
    first. ``pieces`` are the name's (:func:`name_pieces`)."""
    return (
        bool(local and kept_local)
        and distance <= allowed
        and _same_digits(local, kept_local)
        and not _second_mailbox(local, kept_local, pieces)
        and not (_chosen_from_name(local, pieces) and _chosen_from_name(kept_local, pieces))
    )


def close_numbers(first: str, second: str, allowed: int) -> bool:
    """Whether two numbers' digits, of one length, are at most ``allowed`` typos apart: a
    wrong digit is one typo, and so are two adjacent digits swapped (``605711`` /
    ``607511``), among the commonest slips of typing."""
    if not first or len(first) != len(second):
        return False
    typos = at = 0
    end = len(first) - 1
    while at <= end:
        if first[at] != second[at]:
            typos += 1
            if typos > allowed:
                return False
            if at < end and first[at] == second[at + 1] and first[at + 1] == second[at]:
                at += 1  # the swapped digit is this typo's too
        at += 1
    return True
