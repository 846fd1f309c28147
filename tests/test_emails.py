"""The fast email path gives email-validator's answer for every string."""

from __future__ import annotations

import re
import string

import pytest
from email_validator.rfc_constants import ATEXT_RE, DOT_ATOM_TEXT
from hypothesis import example, given, settings
from hypothesis import strategies as st

from benchmarks.email_agreement import iter_values
from streamer.cleaning._emails import (
    ATEXT,
    UNDECIDED,
    Verdict,
    domain_verdict,
    library_normalize,
    quick_normalize,
)
from streamer.cleaning._normalize import normalize_email

SAMPLE_VALUES = 30_000


def outcome(value: str, normalize: object) -> str:
    assert callable(normalize)
    try:
        return repr(normalize(value))
    except Exception as error:  # raising is an answer too: it must agree
        return f"raised {type(error).__name__}"


def assert_agrees(value: str) -> None:
    assert outcome(value, normalize_email) == outcome(value, library_normalize), value


def test_atext_is_the_librarys_on_every_ascii_character() -> None:
    ours = re.compile(f"[{ATEXT}]")
    for char in map(chr, range(128)):
        theirs = bool(ATEXT_RE.fullmatch(char)) and char != "."  # ATEXT_RE adds the dot
        assert bool(ours.fullmatch(char)) == theirs, repr(char)


def test_a_sample_of_real_and_adversarial_values_agrees_everywhere() -> None:
    values = list(iter_values(SAMPLE_VALUES, seed=11))
    assert len(values) == SAMPLE_VALUES
    disagreements = [value for value in values
                     if outcome(value, normalize_email) != outcome(value, library_normalize)]
    assert disagreements == []
    answered = sum(quick_normalize(value.strip()) is not UNDECIDED for value in values)
    assert answered / len(values) > 0.7  # the fast path does most of the work


@pytest.mark.parametrize("value", [
    "  Ann.Lee@Example.COM ", "INFO@gmail.com", "a@b.local", "a@local", "a@b.c.localhost",
    "a@x.test", "a@x.invalid", "a@x.onion", "a@1.in-addr.arpa", "a@local.com", "a@b.c1",
    "a@b.123", "a@b", "a@xn--bcher-kva.example", "a@XN--BCHER-KVA.example", "a@xn--abc.com",
    "a@ab--cd.com", "a@-ab.com", "a@ab-.com", "a@a.-b.com", "a@[1.2.3.4]",
    "a@[IPv6:::1]", ".a@b.com", "a.@b.com", "a..b@b.com", "a@b..com", "a@.b.com",
    "a@b.com.", "Ann <a@b.com>", '"a b"@c.com', '"ab"@c.com', "a@@b.com", "a@b@c.com",
    "@b.com", "a@", "", "no at sign", "a@b_c.com", "a@b c.com", "ä@b.com", "a@bü.com",
    "a@" + "b" * 63 + ".com", "a@" + "b" * 64 + ".com", "x" * 80 + "@gmail.com",
])
def test_hand_picked_edges_agree(value: str) -> None:
    assert_agrees(value)


@pytest.mark.parametrize("total", range(250, 259))
def test_the_254_character_limit_agrees_at_every_length_near_it(total: int) -> None:
    domain = ".".join(["abcdefghij" * 6 + "abc"] * 3) + ".com"  # 63-character labels
    assert_agrees("x" * (total - 1 - len(domain)) + "@" + domain)
    assert_agrees("x" * (total - len("@gmail.com")) + "@gmail.com")


@pytest.mark.parametrize("length", range(250, 256))
def test_the_253_character_domain_limit_agrees(length: int) -> None:
    labels = ["a" * 49] * 5
    domain = ".".join(labels)[: length - 4].rstrip(".") + ".com"
    assert_agrees(f"a@{domain}")
    assert_agrees(f"ab@{domain}")


def test_domains_the_library_rewrites_are_left_to_it() -> None:
    assert domain_verdict("Gmail.COM") is Verdict.PLAIN
    assert domain_verdict("xn--bcher-kva.example") is Verdict.OTHER
    assert domain_verdict("b.local") is Verdict.INVALID
    assert quick_normalize("a@xn--bcher-kva.example") is UNDECIDED
    assert normalize_email("a@xn--bcher-kva.example") == "a@bücher.example"


# --- properties ---------------------------------------------------------------------------

_LOCAL_CHARS = string.ascii_letters + string.digits + ".._+-'!#$%&*/=?^`{|}~\"() ,:;<>[]\\@"
_DOMAIN_CHARS = string.ascii_letters + string.digits + "..--_[]:@ "
# Accented, dotted and dotless i, Greek (sigmas), Kelvin sign, ligature, fullwidth letter,
# fullwidth and ideographic @ and dots, Arabic-Indic digit, combining marks, odd spaces.
_UNICODE = ("\u00e9\u00fc\u00df\u00c5\u0130\u0131\u03a9\u03a3\u03c3\u03c2K\u212a"
            "\ufb01\uff41\uff20\uff0e\u3002\u0663\u0301\u0338\u200b\u00a0\u3000")

labels = st.one_of(
    st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=0, max_size=12),
    st.text(alphabet=string.ascii_letters, min_size=60, max_size=66),
    st.sampled_from(["xn--bcher-kva", "xn--abc", "XN--4dbc", "ab--cd", "local", "test",
                     "localhost", "arpa", "onion", "invalid", "123", "1", "com", "-a", "a-"]),
    st.text(alphabet=_DOMAIN_CHARS + _UNICODE, max_size=6),
)
domains = st.one_of(
    st.lists(labels, min_size=1, max_size=6).map(".".join),
    st.lists(st.text(alphabet="abc", min_size=1, max_size=9), min_size=20, max_size=40)
    .map(".".join),  # near and past 253 characters
    st.sampled_from(["[1.2.3.4]", "[IPv6:::1]", "[300.1.2.3]", "1.2.3.4", "gmail.com"]),
)
locals_ = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "._+-", min_size=0, max_size=20),
    st.text(alphabet=_LOCAL_CHARS, max_size=12),
    st.text(alphabet=string.ascii_letters + ".", min_size=60, max_size=200),
    st.text(alphabet=_LOCAL_CHARS + _UNICODE, max_size=8),
    st.sampled_from(["Info", "POSTMASTER", '"a b"', '"a"', "a..b", ".a", "a."]),
)
padding = st.sampled_from(["", " ", "\t", "\u00a0", "\u3000", "\n", " <", ">"])


@st.composite
def email_like(draw: st.DrawFn) -> str:
    """Addresses near the valid ones: local@domain, mostly, with odd bits and wrapping."""
    local, domain = draw(locals_), draw(domains)
    at = draw(st.sampled_from(["@", "@", "@", "@@", "\uff20", ""]))
    text = f"{local}{at}{domain}"
    if draw(st.booleans()):
        text = draw(st.sampled_from([str.upper, str.lower, str.swapcase, str.title]))(text)
    return draw(padding) + text + draw(padding)


@settings(max_examples=1500)
@given(st.text(max_size=60) | st.emails())
@example("a@b.com")
def test_fast_agrees_with_the_library_on_any_text(raw: str) -> None:
    assert_agrees(raw)


@settings(max_examples=3000)
@given(email_like())
def test_fast_agrees_with_the_library_on_email_like_text(raw: str) -> None:
    assert_agrees(raw)


@settings(max_examples=1000)
@given(email_like() | st.emails())
def test_fast_never_raises_and_is_idempotent(raw: str) -> None:
    once = normalize_email(raw)
    if once is not None:
        assert normalize_email(once) == once


@given(st.text(alphabet=string.printable, max_size=30))
def test_the_local_part_pattern_is_the_librarys_dot_atom(local: str) -> None:
    # quick_normalize answers only when the text before the first "@" is a dot-atom: the
    # same test as email-validator's DOT_ATOM_TEXT, which returns such a part unchanged.
    if "@" in local:
        return
    answered = quick_normalize(local + "@gmail.com") is not UNDECIDED
    assert answered == bool(DOT_ATOM_TEXT.match(local))
