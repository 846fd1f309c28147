"""The campaign file on the command line: ``streamer upload FILE --config campaign.toml``.

A key is one of the subcommand's flags by its long name without ``--``; the keys are
read off the parser's own actions, so a new flag is a new key with no code here (the
positional file, ``--help`` and ``--config`` are not keys). A table maps to a repeatable
flag (:data:`CAMPAIGN_TABLES`): ``[map]`` ``PhoneNumber = ["Mobile", "Home Phone"]`` is
``--map "PhoneNumber=Mobile,Home Phone"``; a table whose flag the parser lacks is unknown.

**How a value is read.** The file becomes the argv tokens the same flags would be::

    batch-size = 100 (or "100")        --batch-size=100
    dry-run = true / false             --dry-run / nothing
    allowed-countries = ["GB", "IE"]   --allowed-countries=GB,IE  (a flag whose metavar
                                       has a comma, A,B, takes a comma list)
    dnc-group-name = ["A", "B"]        --dnc-group-name=A --dnc-group-name=B  (repeatable)

and a copy of the subcommand's parser parses them: every value meets its flag's own
``type``, ``choices`` and exclusions, and a wrong one is refused in the flag's own words
(``argument --batch-size: invalid positive_int value: 'many'``); paths are read from the
current directory, as the flag's are. Calling each action's ``type`` by hand instead would
re-implement argparse's checks and messages, and drift from them.

**Precedence.** The command line is parsed once more into a namespace where no option
has a default, so what it gave is known exactly (a value equal to the default included).
Those options keep the command line's value, whole: a repeatable flag's values replace
the file's, they do not add to them; and one member of a mutually exclusive group
(``--list-id``) sets the file's other members (``list``) aside. Every other option takes
the file's value, else the parser's default (Settings'), so ``--help`` is unchanged.

Reading the file, and refusing credentials in it, is :mod:`streamer.settings`'s.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from streamer._cli_options import worded
from streamer.errors import ConfigError
from streamer.settings import read_campaign_file

#: Each table a campaign file may hold, and the repeatable flag its entries become.
CAMPAIGN_TABLES: dict[str, str] = {"map": "--map", "time-zones": "--time-zone"}
_NOT_KEYS = frozenset({"help", "config"})
_ON_THE_COMMAND_LINE = {
    "file": "not a key: the contacts file is named on the command line",
    "config": "not a key: a campaign file does not name another",
}
_UNSET: Any = object()


def add_config_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--config", type=Path, metavar="FILE",
        help="a campaign file (TOML): these flags by their long names (batch-size = 100, "
        "dry-run = true) and a [map] table; a flag given here wins over the file")


def with_campaign_file(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
                       args: argparse.Namespace) -> argparse.Namespace:
    """``args`` (``parser.parse_args(argv)``) with the values of the campaign file its
    ``--config`` names, under the command line's own; ``args`` itself without one."""
    path: Path | None = getattr(args, "config", None)
    if path is None:
        return args
    command = _subcommand(parser, args.command)
    tokens = campaign_argv(command, read_campaign_file(path, field_tables=CAMPAIGN_TABLES),
                           path)
    try:
        from_file = _given(_FileParser(parents=[command], add_help=False),
                           [*tokens, "--", str(args.file)])
    except ConfigError as error:
        raise ConfigError(f"campaign file {path}: {error}") from None
    argv = list(sys.argv[1:] if argv is None else argv)
    # The parser has no option of its own: the first token naming the subcommand is it.
    from_command_line = _given(command, argv[argv.index(args.command) + 1:])
    for group in command._mutually_exclusive_groups:
        members = {action.dest for action in group._group_actions}
        if members & from_command_line.keys():
            for dest in members:
                from_file.pop(dest, None)
    return argparse.Namespace(**vars(args) | {
        dest: value for dest, value in from_file.items() if dest not in from_command_line})


def campaign_keys(command: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Each key a campaign file may hold, and the action of the flag it stands for."""
    return {option[2:]: action for action in command._actions
            if action.dest not in _NOT_KEYS
            for option in action.option_strings if option.startswith("--")}


def campaign_argv(command: argparse.ArgumentParser, table: Mapping[str, Any],
                  source: Path) -> list[str]:
    """The argv tokens that give ``command`` what ``table`` (a campaign file) says."""
    keys = campaign_keys(command)
    tables = {name: flag for name, flag in CAMPAIGN_TABLES.items() if flag[2:] in keys}
    tokens: list[str] = []
    for key, value in table.items():
        if isinstance(value, dict) and key in tables:
            tokens += _table_tokens(source, key, tables[key], value)
        elif key in keys:
            tokens += _option_tokens(source, key, keys[key], value)
        elif isinstance(value, dict):
            names = ", ".join(f"[{name}]" for name in tables) or "none"
            raise ConfigError(f"campaign file {source}: [{key}] is not a table streamer "
                              f"reads (the tables are: {names})")
        elif key in _ON_THE_COMMAND_LINE:
            raise ConfigError(f"campaign file {source}: {key}: {_ON_THE_COMMAND_LINE[key]}")
        else:
            raise ConfigError(f"campaign file {source}: {_unknown(key, [*keys, *tables])}")
    return tokens


def _unknown(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key.lower().replace("_", "-"), choices, n=3)
    if close:
        return f"unknown key {key!r}: did you mean {' or '.join(close)}?"
    return (f"unknown key {key!r}: the keys are upload's flags by their long names: "
            f"{', '.join(choices)}")


def _option_tokens(source: Path, key: str, action: argparse.Action, value: Any) -> list[str]:
    flag = f"--{key}"
    if action.nargs == 0:  # an on/off flag
        if not isinstance(value, bool):
            raise ConfigError(f"campaign file {source}: {key} is on or off: write "
                              f"{key} = true (or false)")
        return [flag] if value else []
    if isinstance(value, list):
        texts = [_text(source, key, action, item) for item in value]
        if "," in str(action.metavar or ""):
            return [f"{flag}={','.join(texts)}"]
        if isinstance(action, argparse._AppendAction):
            return [f"{flag}={text}" for text in texts]
    return [f"{flag}={_text(source, key, action, value)}"]


def _text(source: Path, key: str, action: argparse.Action, value: Any) -> str:
    """A scalar value as the flag's token: a string as it is, a number in digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    what = ("true or false" if isinstance(value, bool) else "a table" if isinstance(value, dict)
            else "an array" if isinstance(value, list) else "a date or time")
    takes = (action.metavar if isinstance(action.metavar, str)
             else f"one of {', '.join(map(str, action.choices))}" if action.choices
             else "a value")
    return _refuse(f"campaign file {source}: {key}: {what}, where --{key} takes {takes}")


def _table_tokens(source: Path, name: str, flag: str, table: Mapping[str, Any]) -> list[str]:
    tokens = []
    for key, value in table.items():
        texts = value if isinstance(value, list) else [value]
        if not texts or not all(isinstance(text, str) for text in texts):
            _refuse(f"campaign file {source}: [{name}] {key!r}: write a string or an array "
                    f"of strings")
        tokens.append(f"{flag}={key}={','.join(texts)}")
    return tokens


def _given(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, Any]:
    """The options ``argv`` gives, by dest: only those it gives."""
    options = [action for action in parser._actions
               if action.option_strings and action.dest not in _NOT_KEYS]
    namespace = argparse.Namespace(**{
        action.dest: [] if isinstance(action, argparse._AppendAction) else _UNSET
        for action in options})
    parser.parse_args(argv, namespace)
    given = {action.dest: getattr(namespace, action.dest) for action in options}
    return {dest: value for dest, value in given.items() if value is not _UNSET and value != []}


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise LookupError(name)


def _refuse(message: str) -> NoReturn:
    raise ConfigError(message)


class _FileParser(argparse.ArgumentParser):
    """A subcommand's parser that refuses a value with a :class:`ConfigError` carrying
    argparse's own message, rather than printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        _refuse(worded(message))
