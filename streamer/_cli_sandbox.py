"""``python -m streamer sandbox``: the CXone sandbox served alone, its faults as flags."""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import anyio

from streamer._cli_options import default, help_of, number, option, share, whole_number
from streamer.cxone import Sandbox, SandboxConfig
from streamer.cxone._sandbox_config import RECORD_KEYS
from streamer.errors import ConfigError

#: The sandbox's faults on the command line: (setting, type, metavar, help).
SANDBOX_FAULTS: tuple[tuple[str, Callable[[str], float], str, str], ...] = (
    ("token_ttl", number, "S", "access token lifetime in seconds"),
    ("rate_limit", number, "N", "API requests per second per token and endpoint before "
     "429s; 0 = no limit"),
    ("throttle_rate", share, "P", "share of API requests answered 429 whatever the rate, "
     "half with Retry-After"),
    ("error_rate", share, "P", "share of API requests answered 500 or 503"),
    ("reset_rate", share, "P", "share of API requests whose connection is dropped"),
    ("latency_ms", number, "MS", "added to each API answer, give or take half"),
    ("job_delay_ms", number, "MS", "delay before an upload job completes"),
    ("cancel_rate", share, "P", "share of upload jobs that end cancelled"),
    ("lose_rate", share, "P", "share of records a completed job silently drops"),
)


def add_sandbox_command(commands: Any) -> None:
    """The ``sandbox`` subcommand, on argparse's subparsers ``commands``."""
    sandbox = commands.add_parser(
        "sandbox",
        help="run the CXone sandbox alone",
        description="Serve the CXone sandbox until Ctrl-C. Point upload at it by pasting "
        "the export line it prints (or `source` the --print-env FILE).",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=whole_number, default=8765,
                         help="port (default: 8765; 0 picks a free one)")
    for name in ("client_id", "client_secret", "access_key_id", "access_key_secret"):
        sandbox.add_argument(f"--{name.replace('_', '-')}", default=default(SandboxConfig, name),
                             help=f"the {name.replace('_', ' ')} it accepts (default: sandbox)")
    for name, kind, metavar, what in SANDBOX_FAULTS:
        value = default(SandboxConfig, name)
        sandbox.add_argument(f"--{name.replace('_', '-')}", type=kind, metavar=metavar,
                             default=value, help=f"{what} (default: {value:g})")
    sandbox.add_argument("--record-keys", choices=RECORD_KEYS,
                         **option(SandboxConfig, "record_keys"))
    sandbox.add_argument("--dnc-phone-field", metavar="NAME",
                         **option(SandboxConfig, "dnc_phone_field"))
    for flag, name, action in (("--empty-204", "empty_204", "store_true"),
                               ("--no-id-token", "id_token", "store_false"),
                               ("--echo-credentials", "echo_credentials", "store_true")):
        sandbox.add_argument(flag, dest=name, action=action, help=help_of(SandboxConfig, name))
    sandbox.add_argument("--dnc-group-file", action="append", default=[], metavar="NAME=FILE",
                         help="serve a DNC group NAME with the numbers in FILE (one per line, "
                         "optionally ,YYYY-MM-DD expiry); repeatable")
    sandbox.add_argument("--print-env", type=Path, metavar="FILE",
                         help="also write the CXONE_* variables that point upload at it to "
                         "FILE, as export lines to source (readable by you alone)")
    sandbox.add_argument("--seed", type=whole_number, default=default(SandboxConfig, "seed"),
                         help="seed for the faults (default: 0)")
    sandbox.set_defaults(handler=_sandbox)


def _dnc_group_file(spec: str) -> tuple[str, Path]:
    name, equals, file = spec.partition("=")
    if not equals or not name or not Path(file).is_file():
        raise ConfigError(f"--dnc-group-file wants NAME=FILE with an existing file, not {spec!r}")
    return name, Path(file)


def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    """The sandbox the ``sandbox`` command's flags describe."""
    return SandboxConfig(
        **{f.name: getattr(args, f.name) for f in fields(SandboxConfig) if f.name in args},
        dnc_groups=tuple(_dnc_group_file(spec) for spec in args.dnc_group_file),
    )


#: The variables whose values are secrets: printed only when they are the sandbox's own
#: public default (``sandbox``), which anyone reading this code knows anyway.
_SECRETS = ("CXONE_CLIENT_SECRET", "CXONE_ACCESS_KEY_SECRET")


def sandbox_env(url: str, config: SandboxConfig) -> dict[str, str]:
    """The ``CXONE_*`` variables that point ``upload`` at this sandbox."""
    return {"CXONE_ISSUER": url, "CXONE_CLIENT_ID": config.client_id,
            "CXONE_CLIENT_SECRET": config.client_secret,
            "CXONE_ACCESS_KEY_ID": config.access_key_id,
            "CXONE_ACCESS_KEY_SECRET": config.access_key_secret}


def _shown(name: str, value: str) -> str:
    """A secret given on the command line stays off the screen: --print-env has it."""
    if name in _SECRETS and value != "sandbox":
        return "<as given; --print-env FILE writes it>"
    return value


def _write_env(path: Path, env: dict[str, str]) -> None:
    """``export NAME=value`` lines for ``source FILE``, readable by the owner alone."""
    text = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise ConfigError(f"--print-env {path}: {error.strerror}") from None


async def _sandbox(args: argparse.Namespace) -> int:
    config = sandbox_config(args)
    sandbox = Sandbox(config)
    try:
        url = await sandbox.start(args.host, args.port)
    except OSError as error:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    env = sandbox_env(url, config)
    if args.print_env is not None:
        _write_env(args.print_env, env)
    print(f"CXone sandbox listening; issuer {url}", flush=True)
    print("  export " + " ".join(f"{name}={shlex.quote(_shown(name, value))}"
                                 for name, value in env.items()), flush=True)
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await sandbox.close()
    return 0
