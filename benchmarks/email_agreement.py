"""The fast email path against email-validator: same answer on every value, and how fast.

    python -m benchmarks.email_agreement --values 1000000 --repeat 3

Values come from three sources, in fixed shares: the E-mail column of the seeded messy
file (``examples/messy.py``), the sample contacts' (``examples/make_contacts.py``), and
adversarial variants of both: random edits with characters that matter to the syntax
(dots, quotes, brackets, ``@``, spaces, Unicode letters and digits...), dots doubled or
at the edges, local parts and labels near their limits, addresses near 254 characters,
numeric and special-use TLDs, IP literals, ``xn--`` labels, hyphens at label edges,
display names, odd case. ``streamer.cleaning.normalize_email`` (the fast path, as
wired) is compared with ``streamer.cleaning._emails.library_normalize`` (email-validator,
uncached) on every value; the run exits 1 on any disagreement, printing the first few.
It prints, per source, the share the fast path answered without the library and both
functions' addresses/s (median of ``--repeat`` runs; the fast path's caches are cleared
before each source so every run pays for its domain verdicts).
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from examples.make_contacts import contacts
from examples.messy import rows_with_kinds
from streamer.cleaning._emails import UNDECIDED, clear_caches, library_normalize, quick_normalize
from streamer.cleaning._normalize import normalize_email

Normalizer = Callable[[str], "str | None"]
Mutation = Callable[[random.Random, str], str]

SHARES = {"messy": 0.3, "contacts": 0.2, "adversarial": 0.5}
SHOWN_DISAGREEMENTS = 10

# --- sources ------------------------------------------------------------------------------


def messy_emails(count: int, seed: int) -> list[str]:
    """The E-mail column of ``examples/messy.py``'s rows, blanks included."""
    email = 3  # messy.HEADER.index("E-mail")
    rows = rows_with_kinds(count, seed)  # at least one row per person
    return [fields[email] for fields, _, _ in islice(rows, count)]


def contact_emails(count: int, seed: int) -> list[str]:
    """The E-mail column of ``examples/make_contacts.py``'s records (blank lines skipped)."""
    email = 3
    records = (record for record in contacts(count * 2, seed) if record)
    next(records)  # the header
    return [record[email] for record in islice(records, count)]


# Characters that mean something to the syntax, or nearly pass for ones that do.
SPECIALS = ".._+-'@\"(),:;<>[]\\ \t!#$%&*/=?^`{|}~"
# Letters (accented, dotless and dotted i, Greek, CJK, Kelvin sign, ligature, fullwidth),
# fullwidth and ideographic @ and dots, digits of other scripts, combining marks, zero-
# width and other spaces, a BOM, right-to-left letters, an emoji, a soft hyphen.
UNICODE = ("\u00e9\u00fc\u00df\u00f8\u00f1\u00e7\u0130\u0131\u03a9\u03c9\u4e2d\u6587"
           "\u00c5K\u212a\ufb01\uff41\uff21\uff20\uff0e\u3002\uff61\u0663\u07c1"
           "\u0301\u0338\u200b\u200d\u00a0\u3000\u2028\ufeff"
           "\u05d0\u05d1\u0639\u0631\u0628\u064a\U0001f600\u00ad\u2024")
CHARSET = string.ascii_letters + string.digits + SPECIALS + UNICODE
ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
LABEL_CHARS = string.ascii_lowercase + string.digits + "-"
SPECIAL_USE = ["local", "localhost", "test", "invalid", "onion", "arpa", "in-addr.arpa",
               "home.arpa", "example", "internal", "lan", "localdomain", "tEsT", "LOCAL"]
IDNA_LABELS = ["xn--bcher-kva", "XN--BCHER-KVA", "xn--abc", "xn--", "xn--zz-", "xn--4dbc",
               "xn--mgbh0fb", "xn--nxasmq6b", "ab--cd", "Ab--c", "xn--a", "xn--ls8h",
               "xn--ab--cd", "xn--bcher-kva1", "xn--d1acufc", "xn--80ak6aa92e", "-xn--a"]
IP_DOMAINS = ["[1.2.3.4]", "[IPv6:::1]", "[ipv6:2001:db8::1]", "[300.1.1.1]", "1.2.3.4",
              "[1.2.3.4", "1.2.3.4]", "[IPv6:1.2.3.4]", "[x:y]", "[]", "[ 1.2.3.4 ]",
              "[IPv6:fe80::1%eth0]", "192.168.0.1.com", "[127.0.0.1].com"]
DOMAIN_BASES = ["gmail.com", "Example.COM", "mail.example.co.uk", "a-b.c-d.org", "x1.io",
                "sub.sub.sub.example.net", "ex.museum", "t.co", "e.x", "xn--bcher-kva.example"]


def _at(rng: random.Random, text: str) -> int:
    return rng.randrange(len(text) + 1)


def _split(text: str) -> tuple[str, str]:
    local, at, domain = text.rpartition("@")
    return (local, domain) if at else (text, "")


def _word(rng: random.Random, chars: str, low: int, high: int) -> str:
    return "".join(rng.choice(chars) for _ in range(rng.randint(low, high)))


def insert_char(rng: random.Random, text: str) -> str:
    at = _at(rng, text)
    return text[:at] + rng.choice(CHARSET) + text[at:]


def delete_char(rng: random.Random, text: str) -> str:
    if not text:
        return text
    at = rng.randrange(len(text))
    return text[:at] + text[at + 1:]


def replace_char(rng: random.Random, text: str) -> str:
    return delete_char(rng, insert_char(rng, text))


def double_dot(rng: random.Random, text: str) -> str:
    dots = [i for i, char in enumerate(text) if char == "."]
    at = rng.choice(dots) if dots else _at(rng, text)
    return text[:at] + ".." + text[at + 1:]


def edge_dot(rng: random.Random, text: str) -> str:
    local, domain = _split(text)
    edge = rng.choice(["local_start", "local_end", "domain_start", "domain_end"])
    if edge == "local_start":
        local = "." + local
    elif edge == "local_end":
        local += "."
    elif edge == "domain_start":
        domain = "." + domain
    else:
        domain += "."
    return f"{local}@{domain}"


def long_local(rng: random.Random, text: str) -> str:
    local = _word(rng, ATEXT, 60, 70)
    if rng.random() < 0.5:
        at = rng.randrange(1, len(local) - 1)
        local = local[:at] + "." + local[at + 1:]
    return f"{local}@{_split(text)[1]}"


def long_label(rng: random.Random, text: str) -> str:
    local, domain = _split(text)
    label = _word(rng, string.ascii_letters + string.digits, 60, 70)
    return f"{local}@{label}.{domain}" if rng.random() < 0.7 else f"{local}@{domain}.{label}"


def many_labels(rng: random.Random, text: str) -> str:
    """A domain built to land near the 253-character domain limit."""
    local, domain = _split(text)
    target = rng.randint(235, 258)
    while len(domain) < target:
        domain = _word(rng, string.ascii_lowercase, 1, 12) + "." + domain
    return f"{local}@{domain[len(domain) - target:].lstrip('.')}"


def near_limit(rng: random.Random, text: str) -> str:
    """An address padded (in the local part) to 248-260 characters in all."""
    local, domain = _split(text)
    pad = max(0, rng.randint(248, 260) - len(local) - 1 - len(domain))
    return f"{local}{_word(rng, ATEXT, pad, pad)}@{domain}"


def numeric_tld(rng: random.Random, text: str) -> str:
    local, domain = _split(text)
    tld = rng.choice(["123", "1", "0", "c0m1", "co1", "1c", "9a", "4-4", "a1b"])
    return f"{local}@{domain.rpartition('.')[0] or domain}.{tld}"


def special_use(rng: random.Random, text: str) -> str:
    local, domain = _split(text)
    name = rng.choice(SPECIAL_USE)
    shape = rng.randrange(4)
    if shape == 0:
        return f"{local}@{name}"
    if shape == 1:
        return f"{local}@{domain.rpartition('.')[0] or domain}.{name}"
    if shape == 2:  # a special name that is not the TLD is ordinary
        return f"{local}@{name}.{domain}"
    return f"{local}@{name}x.{domain}"


def change_case(rng: random.Random, text: str) -> str:
    shape = rng.randrange(3)
    if shape == 0:
        return text.upper()
    if shape == 1:
        return text.swapcase()
    return "".join(char.upper() if rng.random() < 0.5 else char for char in text)


def ip_literal(rng: random.Random, text: str) -> str:
    return f"{_split(text)[0]}@{rng.choice(IP_DOMAINS)}"


def idna_label(rng: random.Random, text: str) -> str:
    local, domain = _split(text)
    label = rng.choice(IDNA_LABELS)
    return f"{local}@{label}.{domain}" if rng.random() < 0.7 else f"{local}@{domain}.{label}"


def hyphen_edge(rng: random.Random, text: str) -> str:
    local, domain = _split(text)
    labels = domain.split(".")
    at = rng.randrange(len(labels))
    labels[at] = rng.choice(["-" + labels[at], labels[at] + "-", labels[at] + "-x",
                             labels[at][:2] + "--" + labels[at][2:]])
    return f"{local}@{'.'.join(labels)}"


def wrap(rng: random.Random, text: str) -> str:
    """Display names, quotes, angle brackets and stray space around or in the address."""
    local, domain = _split(text)
    return rng.choice([
        f"Ann Lee <{text}>", f"<{text}>", f'"Lee, Ann" <{text}>', f'"{local}"@{domain}',
        f'"{local} x"@{domain}', f'"a@b"@{domain}', f"{local}@{domain} (work)",
        f"  {text}\t", f"\u00a0{text}\u3000", f"\n{text}\n", f"{local} @{domain}",
        f"mailto:{text}", f"{text},", f"{local}@@{domain}", f"{local}@{domain}@{domain}",
        f"@{domain}", f"{local}@", f"{local}\uff20{domain}", f'"{local}\\"q"@{domain}',
    ])


def mailbox_name(rng: random.Random, text: str) -> str:
    name = rng.choice(["info", "Postmaster", "SALES", "noc", "Abuse", "www", "ftp", "news"])
    return f"{name}@{_split(text)[1]}"


def new_domain(rng: random.Random, text: str) -> str:
    """Another domain: made-up labels (the fast path meets domains it has not seen)."""
    labels = [_word(rng, LABEL_CHARS, 1, 10) for _ in range(rng.randint(1, 4))]
    tld = rng.choice(["com", "org", "io", "uk", "x", "museum", "co", "c1", "local"])
    return f"{_split(text)[0]}@{'.'.join([*labels, tld])}"


def other_base_domain(rng: random.Random, text: str) -> str:
    return f"{_split(text)[0]}@{rng.choice(DOMAIN_BASES)}"


MUTATIONS: list[Mutation] = [
    insert_char, insert_char, delete_char, replace_char, replace_char, double_dot, edge_dot,
    long_local, long_label, many_labels, near_limit, numeric_tld, special_use, change_case,
    ip_literal, idna_label, hyphen_edge, wrap, mailbox_name, new_domain, new_domain,
    other_base_domain,
]


def adversarial(bases: list[str], count: int, seed: int) -> list[str]:
    """``count`` variants of ``bases``, each with one to three random mutations."""
    rng = random.Random(seed)
    bases = [base.strip() for base in bases if "@" in base]
    out = []
    for _ in range(count):
        text = rng.choice(bases)
        for mutation in rng.choices(MUTATIONS, k=rng.choice((1, 1, 2, 3))):
            text = mutation(rng, text)
        out.append(text)
    return out


def sources(values: int, seed: int) -> dict[str, list[str]]:
    """The values to check, by source, ``values`` in all."""
    messy = messy_emails(round(values * SHARES["messy"]), seed)
    made = contact_emails(round(values * SHARES["contacts"]), seed)
    rest = values - len(messy) - len(made)
    return {"messy": messy, "contacts": made, "adversarial": adversarial(messy + made, rest, seed)}


# --- comparison ---------------------------------------------------------------------------


@dataclass
class Tally:
    """One source's agreement and timings."""

    values: int = 0
    fast_answered: int = 0
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)
    fast_seconds: list[float] = field(default_factory=list)
    reference_seconds: list[float] = field(default_factory=list)

    def rate(self, seconds: list[float]) -> float:
        return self.values / statistics.median(seconds)


def outcome(normalize: Normalizer, value: str) -> str:
    """``repr`` of the answer, or the exception raised: what must agree."""
    try:
        return repr(normalize(value))
    except Exception as error:  # an exception is an answer too, and must agree
        return f"raised {type(error).__name__}"


def timed(normalize: Normalizer, values: list[str]) -> tuple[float, list[str] | None]:
    """Seconds for ``normalize`` over ``values``, and its answers (``None``: it raised)."""
    started = time.perf_counter()
    try:
        answers = [normalize(value) for value in values]
    except Exception:
        return time.perf_counter() - started, None
    return time.perf_counter() - started, [repr(answer) for answer in answers]


def check(values: list[str], repeat: int) -> Tally:
    tally = Tally(values=len(values))
    tally.fast_answered = sum(quick_normalize(value.strip()) is not UNDECIDED
                              for value in values)
    for run in range(repeat):
        clear_caches()
        seconds, fast = timed(normalize_email, values)
        tally.fast_seconds.append(seconds)
        seconds, reference = timed(library_normalize, values)
        tally.reference_seconds.append(seconds)
        if run == 0:
            fast = fast or [outcome(normalize_email, value) for value in values]
            reference = reference or [outcome(library_normalize, value) for value in values]
            tally.disagreements = [(value, mine, theirs)
                                   for value, mine, theirs in zip(values, fast, reference,
                                                                  strict=True)
                                   if mine != theirs]
    return tally


def report(tallies: dict[str, Tally]) -> int:
    print(f"{'source':<12}{'values':>10}{'fast path':>11}{'disagree':>10}"
          f"{'fast/s':>12}{'library/s':>12}{'speed-up':>10}")
    for name, tally in tallies.items():
        fast, reference = tally.rate(tally.fast_seconds), tally.rate(tally.reference_seconds)
        print(f"{name:<12}{tally.values:>10,}{tally.fast_answered / tally.values:>11.2%}"
              f"{len(tally.disagreements):>10,}{fast:>12,.0f}{reference:>12,.0f}"
              f"{fast / reference:>9.1f}x")
    values = sum(tally.values for tally in tallies.values())
    answered = sum(tally.fast_answered for tally in tallies.values())
    disagreements = [item for tally in tallies.values() for item in tally.disagreements]
    # Overall rates: all values over the sum of each source's median time.
    fast_time = sum(statistics.median(tally.fast_seconds) for tally in tallies.values())
    reference_time = sum(statistics.median(tally.reference_seconds)
                         for tally in tallies.values())
    print(f"{'all':<12}{values:>10,}{answered / values:>11.2%}{len(disagreements):>10,}"
          f"{values / fast_time:>12,.0f}{values / reference_time:>12,.0f}"
          f"{reference_time / fast_time:>9.1f}x")
    print(f"values checked: {values:,}; disagreements: {len(disagreements):,}; "
          f"answered by the fast path: {answered / values:.2%}")
    for value, mine, theirs in disagreements[:SHOWN_DISAGREEMENTS]:
        print(f"DISAGREE {value!r}: fast {mine}, library {theirs}")
    return 1 if disagreements else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.email_agreement",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", type=int, default=1_000_000, help="values to check")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (median shown)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    by_source = sources(args.values, args.seed)
    tallies = {name: check(values, args.repeat) for name, values in by_source.items()}
    sys.exit(report(tallies))


def iter_values(values: int, seed: int) -> Iterator[str]:
    """Every value of ``sources``, in order (for tests)."""
    for batch in sources(values, seed).values():
        yield from batch


if __name__ == "__main__":
    main()
