"""What the command line's subcommands share: a parser and argument types that refuse in
one line of words, and each option's default and help read from the setting it fills (one
place for both).

argparse names a type's failure by the function's name (``invalid positive_int value:
'abc'``), so every type here raises :class:`argparse.ArgumentTypeError` in words instead;
``choices`` already answer in words (``invalid choice: 'pipe' (choose from ...)``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import Field, fields
from typing import Any, NoReturn, TypeVar


class Parser(argparse.ArgumentParser):
    """argparse's parser, its mistakes told in one line (``streamer upload: error:
    --list-id: expected ...``) rather than under the whole usage; ``--help`` has it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {worded(message)}\n")


def worded(message: str) -> str:
    """argparse's ``argument --list-id: ...`` as ``--list-id: ...``."""
    return message.removeprefix("argument ")


def _refuse(text: str, expected: str) -> NoReturn:
    raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")


_Number = TypeVar("_Number", int, float)


def _read(text: str, convert: type[_Number], fits: Callable[[_Number], bool],
          expected: str, unfit: str = "") -> _Number:
    """``text`` as ``convert`` reads it, refused in words if it does not read or fit."""
    try:
        value = convert(text)
    except ValueError:
        _refuse(text, expected)
    if not fits(value):
        _refuse(text, unfit or expected)
    return value


def whole_number(text: str) -> int:
    return _read(text, int, lambda _: True, "a whole number")


def number(text: str) -> float:
    return _read(text, float, math.isfinite, "a number", "a finite number")


def positive_int(text: str) -> int:
    return _read(text, int, lambda value: value >= 1, "a positive whole number",
                 "a positive whole number (1 or more)")


def count(text: str) -> int:
    return _read(text, int, lambda value: value >= 0, "a whole number, 0 or more")


def share(text: str) -> float:
    return _read(text, float, lambda value: 0.0 <= value <= 1.0,
                 "a share between 0 and 1 (e.g. 0.2)")


def version() -> str:
    """``streamer <version>``, from the installed package's metadata, and the core it runs."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from streamer._core import CORE

    try:
        return f"streamer {installed('streamer')}, {CORE.describe()}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return f"streamer (not installed: version unknown), {CORE.describe()}"


def assignment(text: str) -> tuple[str, tuple[str, ...]]:
    """``"NAME=A,B"`` → ``("NAME", ("A", "B"))``: a ``--map`` or ``--time-zone`` entry."""
    name, equals, values = text.partition("=")
    parts = tuple(part.strip() for part in values.split(",") if part.strip())
    if not equals or not name.strip() or not parts:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE (several values: "
                                         "NAME=A,B)")
    return name.strip(), parts


def field_of(owner: type, name: str) -> Field[Any]:
    return next(f for f in fields(owner) if f.name == name)


def default(owner: type, name: str) -> Any:
    return field_of(owner, name).default


def help_of(owner: type, name: str) -> str:
    """A setting's help, as written beside its default in :mod:`streamer.settings`."""
    found = field_of(owner, name)
    return str(found.metadata["help"]).format(default=found.default)


def option(owner: type, name: str) -> dict[str, Any]:
    """argparse's ``default`` and ``help`` for an option that sets ``name`` as it is."""
    return {"default": default(owner, name), "help": help_of(owner, name)}
