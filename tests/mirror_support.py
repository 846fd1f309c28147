"""What the mirror's tests share: CRM-like files, the sandbox's view of a list, and the
first of two runs."""

from __future__ import annotations

import csv
from collections.abc import Set
from pathlib import Path
from typing import Any

import aiohttp

import streamer
from streamer import Sandbox
from tests.conftest import WriteCsv
from tests.support import settings_for

REMOVE = "DELETE /inContactAPI/services/{version}/lists/call-lists/{listName}/removeProspects"
REMOVE_PATH = r"/removeProspects$"


def letters(n: int) -> str:
    """A name of its own for each customer (numbers a digit apart never share one)."""
    return "".join("abcdefghij"[int(d)] for d in f"{n:04d}").title()


def external_id(n: int) -> str:
    return f"cust-{n:05d}"


def customers(write_csv: WriteCsv, name: str, numbers: range | list[int], *,
              changed: Set[int] = frozenset(), long_name: int | None = None) -> Path:
    """A CRM export: ExternalId, Phone, FirstName, LastName; ``changed`` customers have a
    new last name, ``long_name`` one far too long for a picky tenant."""
    rows = [["ExternalId", "Phone", "FirstName", "LastName"]]
    for n in numbers:
        last = ("Newname" if n in changed else "") + letters(n)
        rows.append([external_id(n), f"(415) 555-{n:04d}", letters(n),
                     "X" * 120 if n == long_name else last])
    return write_csv(rows, name=name)


def first_and_second(write_csv: WriteCsv, size: int = 300) -> tuple[Path, Path, list[str]]:
    """The first file's customers; the second file: two thirds of them, every tenth with a
    new last name, and a sixth as many new ones. And the ids the mirror must remove (a
    third of the first file's customers)."""
    keep, new = size * 2 // 3, range(size, size + size // 6)
    first = customers(write_csv, "first.csv", range(size))
    second = customers(write_csv, "second.csv", [*range(keep), *new],
                       changed=set(range(0, keep, 10)))
    return first, second, [external_id(n) for n in range(keep, size)]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def introspect(sandbox: Sandbox, list_id: int) -> dict[str, Any]:
    """The sandbox's own view of a list: records, and removals asked and done per id."""
    async with aiohttp.ClientSession() as session, session.get(
            f"{sandbox.url}/sandbox/lists/{list_id}/records") as response:
        response.raise_for_status()
        view: dict[str, Any] = await response.json()
        return view


def assert_removed_once(view: dict[str, Any], expected: list[str]) -> None:
    """Each expected id was asked for and removed exactly once, and no other."""
    assert view["removed"] == dict.fromkeys(expected, 1)
    assert view["removals_asked"] == dict.fromkeys(expected, 1)


async def two_runs(sandbox: Sandbox, write_csv: WriteCsv, tmp_path: Path
                   ) -> tuple[Path, list[str]]:
    """The first file uploaded to list "spring"; the second file and the ids to remove."""
    first, second, gone = first_and_second(write_csv)
    await streamer.run(first, settings_for(sandbox, tmp_path / "one", list_name="spring"))
    return second, gone
