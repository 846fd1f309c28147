"""Email normalisation: email-validator's verdict, answered quickly for ordinary addresses.

``library_normalize`` is the reference: email-validator's syntax check (never DNS), the
normalised address lower-cased, or ``None``. It runs at about 18k addresses/s.
``normalize_email`` gives the same answer for every string, 30-50 times faster on the
addresses real files are made of, by splitting the library's work in two:

- **The local part** is checked here, and only in the one shape the library accepts
  unchanged: an ASCII dot-atom (RFC 5322 3.2.3: atext runs separated by single dots).
  email-validator matches such a local part with ``DOT_ATOM_TEXT`` and returns it as
  given; its only other checks on it are a length limit applied in ``strict`` mode
  only (off here) and lower-casing RFC 2142 names such as ``Info``, which the final
  lower-casing covers. Anything else (quotes, non-ASCII, stray dots, spaces, angle
  brackets) goes to the library.
- **The domain** is judged by the library itself, once per distinct domain, by
  validating ``a@<domain>``: domains repeat enormously (gmail.com), so this costs next
  to nothing per address and needs no copy of the library's domain rules (special-use
  names, IDNA, hyphens, label and total lengths, the TLD's last letter...).

An ASCII string without an ``@`` is never valid: the library's splitter raises when it
finds none.

Why combining the two is exact, for an ASCII string whose text before its first ``@``
is a dot-atom (the only strings answered here):

1. email-validator splits it at that ``@`` (atext has no ``@``, ``<`` or ``"``, and ASCII
   text is unchanged by the NFC look-ahead of its splitter), so the local part and the
   domain are the same strings whatever the local part is.
2. The domain's check does not look at the local part. An address is valid iff its local
   part is, its domain is, and its three spellings (as given, normalised, and with an
   ASCII domain) are at most 254 UTF-8 bytes.
3. If ``a@<domain>`` is invalid, every ``<local>@<domain>`` is: either the domain is
   invalid, or ``a@<domain>`` is too long and a local part is at least one character.
4. If ``a@<domain>`` is valid and the library's normalised domain is the input domain
   lower-cased (no Unicode form from ``xn--`` labels), all three spellings have the
   input's length, so the address is valid iff it is at most 254 characters, and its
   normalised form, lower-cased, is the input lower-cased. Other valid domains (IDNA
   ``xn--`` labels that decode to Unicode) are left to the library.

The domain verdicts depend on email-validator's module-level defaults
(``SPECIAL_USE_DOMAIN_NAMES``, ``GLOBALLY_DELIVERABLE``...), read when a domain is first
seen; changing them at run time would need ``domain_verdict.cache_clear()``. The argument
was read off email-validator 2.4.0's source; tests/test_emails.py and
``python -m benchmarks.email_agreement`` re-check it against whatever version is installed.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache
from typing import Final, Literal

from email_validator import EmailNotValidError, validate_email

# RFC 5322 3.2.3 atext, as email-validator's rfc_constants.ATEXT spells it (a test checks
# the two agree on every ASCII character).
ATEXT: Final = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
# A dot-atom local part and the first "@" (atext has no "@", so it is the first one).
_DOT_ATOM_LOCAL_AT: Final = re.compile(f"[{ATEXT}]+(?:\\.[{ATEXT}]+)*@")

# RFC 5321 4.5.3.1.3, errata 1690: email-validator's limit on the whole address.
EMAIL_MAX_LENGTH: Final = 254
# A local part that is certainly valid: what a domain is tried with.
_PROBE_LOCAL: Final = "a"

_CACHE_SIZE: Final = 1 << 16


class Verdict(Enum):
    """What the library says of a domain, as far as the fast path is concerned."""

    PLAIN = "plain"  # valid, and normalised to itself lower-cased
    INVALID = "invalid"  # no address at this domain is valid
    OTHER = "other"  # valid but rewritten (IDNA): left to the library


class _Undecided(Enum):
    UNDECIDED = "undecided"


UNDECIDED: Final = _Undecided.UNDECIDED
"""``quick_normalize``'s answer for an address it leaves to the library."""


def library_normalize(raw: str) -> str | None:
    """The reference: ``raw`` trimmed, validated and normalised by email-validator.

    The normalised address lower-cased, or ``None`` if its syntax is not valid. Syntax
    only: deliverability checks would query DNS for every domain.
    """
    try:
        valid = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return valid.normalized.lower()


# The library's answers for what the fast path leaves to it; real files repeat values.
_library_cached = lru_cache(maxsize=_CACHE_SIZE)(library_normalize)


@lru_cache(maxsize=_CACHE_SIZE)
def domain_verdict(domain: str) -> Verdict:
    """The library's verdict on ``domain`` (everything after an address's first ``@``)."""
    try:
        valid = validate_email(f"{_PROBE_LOCAL}@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return Verdict.INVALID
    if valid.domain == valid.ascii_domain == domain.lower():
        return Verdict.PLAIN
    return Verdict.OTHER


def quick_normalize(address: str) -> str | Literal[_Undecided.UNDECIDED] | None:
    """The library's answer for the trimmed ``address`` if this module can give it.

    ``UNDECIDED`` when only the library can tell: see the module's docstring.
    """
    if not address.isascii():
        return UNDECIDED
    if "@" not in address:
        # Junk and blanks: the library's splitter raises when it finds no "@".
        return None
    local_at = _DOT_ATOM_LOCAL_AT.match(address)
    if local_at is None:
        return UNDECIDED
    verdict = domain_verdict(address[local_at.end():])
    if verdict is Verdict.PLAIN:
        return address.lower() if len(address) <= EMAIL_MAX_LENGTH else None
    if verdict is Verdict.INVALID:
        return None
    return UNDECIDED


def normalize_email(raw: str) -> str | None:
    """``library_normalize(raw)``, answered without the library when that is exact."""
    answer = quick_normalize(raw.strip())
    if answer is UNDECIDED:
        return _library_cached(raw)
    return answer


def clear_caches() -> None:
    """Forget every domain verdict and library answer (for benchmarks)."""
    domain_verdict.cache_clear()
    _library_cached.cache_clear()
