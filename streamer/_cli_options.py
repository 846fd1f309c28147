"""What the command line's subcommands share: argument types that refuse in one line,
and each option's default and help read from the setting it fills (one place for both)."""

from __future__ import annotations

import argparse
from dataclasses import Field, fields
from typing import Any


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


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
