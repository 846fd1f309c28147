"""The campaign file (``upload --config campaign.toml``): read, and refused where it holds
a credential. :mod:`streamer.settings` exposes :func:`read_campaign_file`.

What its keys mean is the command line's (each is an ``upload`` flag's long name; see
:mod:`streamer._cli_config`). What is decided here is what no key may be: credentials and
the tenant's address come only from the environment (:mod:`streamer.credentials`), so a
key that looks like one stops the run with one line naming the key and the variable to
set instead, never the value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from streamer.credentials import CREDENTIAL_VARIABLES, ENVIRONMENT_VARIABLES
from streamer.errors import ConfigError

#: What a credential's name holds, once lower-cased with everything but letters and
#: digits dropped (``access_key_id``, ``Access-Key-Id`` and ``accessKeyId`` alike).
_CREDENTIAL_WORDS = ("secret", "password", "token", "accesskey", "clientid", "credential")


def read_campaign_file(path: Path, *, field_tables: Collection[str] = ()) -> dict[str, Any]:
    """The table a campaign file holds, as :mod:`tomllib` reads it.

    Stops the run (:class:`ConfigError`, one line) when the file cannot be read, is not
    TOML (tomllib's message, with the line and column), or has a key that looks like a
    credential, at any depth. ``field_tables`` are top-level tables whose keys name list
    fields (``[map]``: ``"custom:ClientId" = "Client ID"``), not settings: their keys are
    not taken for credentials.
    """
    try:
        with open(path, "rb") as file:
            table = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"cannot read campaign file {path}: "
                          f"{error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"campaign file {path} is not UTF-8 text, as TOML must be") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"campaign file {path} is not valid TOML: {error}") from None
    _refuse_credentials(path, table, field_tables)
    return table


def credential_variable(key: str) -> str | None:
    """The environment variable to set instead of ``key``, when ``key`` looks like a
    credential (or the tenant's address); ``None`` when it does not.

    ``client-secret``, ``CXONE_CLIENT_SECRET`` and ``issuer`` name their own variable;
    any other name holding secret, password, token, access key, client id or credential,
    or starting with cxone, is pointed at the four credential variables.
    """
    as_variable = re.sub(r"[^A-Z0-9]+", "_", key.upper()).strip("_")
    for name in ENVIRONMENT_VARIABLES:
        if as_variable in (name, name.removeprefix("CXONE_"), name.removeprefix("STREAMER_")):
            return name
    words = re.sub(r"[^a-z0-9]", "", key.lower())
    if words.startswith("cxone") or any(word in words for word in _CREDENTIAL_WORDS):
        return f"{', '.join(CREDENTIAL_VARIABLES[:-1])} and {CREDENTIAL_VARIABLES[-1]}"
    return None


def _refuse_credentials(path: Path, table: Mapping[str, Any], field_tables: Collection[str],
                        prefix: str = "") -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if (variable := credential_variable(key)) is not None:
            raise ConfigError(f"campaign file {path}: {name}: credentials come only from the "
                              f"environment: set {variable} (and take {name} out of the file)")
        nested = value if isinstance(value, list) else [value]
        for inner in nested:
            if isinstance(inner, dict) and not (not prefix and key in field_tables):
                _refuse_credentials(path, inner, (), f"{name}.")
