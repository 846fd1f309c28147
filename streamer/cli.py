"""The command line: argument parsing, progress display and exit codes; no business logic.

Exit status: 0 every row accounted for and none failed; 1 some rows failed upload (or
the service failed the run); 2 a user error or an output directory that cannot be used
(full, read-only, a damaged journal, another run in it), told in one line on stderr; 130
stopped by Ctrl-C or SIGTERM (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import Field, fields, replace
from pathlib import Path
from typing import Any

import anyio

from streamer.credentials import credentials_from_env, webhook_secret_from_env
from streamer.cxone import Sandbox, SandboxConfig
from streamer.errors import ConfigError, InputError, Interrupted, OutputError, StreamerError
from streamer.pipeline import run
from streamer.records import Progress
from streamer.run import progress_line, render_text, summary_line, write_html
from streamer.settings import (
    DEDUP_MODES,
    DELIMITERS,
    INVALID_EMAIL_ACTIONS,
    Columns,
    FuzzySettings,
    Settings,
    UploadOptions,
)

EXIT_OK, EXIT_FAILED_ROWS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


S = Settings


#: The sandbox's faults on the command line: (setting, type, metavar, help).
_SANDBOX_FAULTS: tuple[tuple[str, Callable[[str], float], str, str], ...] = (
    ("token_ttl", float, "S", "access token lifetime in seconds"),
    ("rate_limit", float, "N", "API requests per second per token and endpoint before "
     "429s; 0 = no limit"),
    ("throttle_rate", _share, "P", "share of API requests answered 429 whatever the rate, "
     "half with Retry-After"),
    ("error_rate", _share, "P", "share of API requests answered 500 or 503"),
    ("reset_rate", _share, "P", "share of API requests whose connection is dropped"),
    ("latency_ms", float, "MS", "added to each API answer, give or take half"),
    ("job_delay_ms", float, "MS", "delay before an upload job completes"),
    ("cancel_rate", _share, "P", "share of upload jobs that end cancelled"),
    ("lose_rate", _share, "P", "share of records a completed job silently drops"),
)


def _field(owner: type, name: str) -> Field[Any]:
    return next(f for f in fields(owner) if f.name == name)


def _default(owner: type, name: str) -> Any:
    return _field(owner, name).default


def _help(owner: type, name: str) -> str:
    """A setting's help, as written beside its default in :mod:`streamer.settings`."""
    found = _field(owner, name)
    return str(found.metadata["help"]).format(default=found.default)


def _option(owner: type, name: str) -> dict[str, Any]:
    """argparse's ``default`` and ``help`` for an option that sets ``name`` as it is."""
    return {"default": _default(owner, name), "help": _help(owner, name)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamer",
        description="Stream a large, messy contacts CSV, clean, into a NICE CXone calling list.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    upload = commands.add_parser(
        "upload",
        help="clean a contacts file and upload it to a calling list",
        description="Clean a contacts file and upload it to a CXone calling list. Credentials "
        "come from CXONE_ISSUER, CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, CXONE_ACCESS_KEY_ID and "
        "CXONE_ACCESS_KEY_SECRET; with none set, an embedded CXone sandbox is used.",
    )
    upload.add_argument("file", type=Path, help="the contacts CSV")
    upload.add_argument("--out", type=Path, metavar="DIR", **_option(S, "out_dir"))
    target = upload.add_mutually_exclusive_group()
    target.add_argument("--list", dest="list_name", metavar="NAME", **_option(S, "list_name"))
    target.add_argument("--list-id", type=_positive_int, metavar="N", **_option(S, "list_id"))
    upload.add_argument("--delimiter", choices=["auto", *DELIMITERS], **_option(S, "delimiter"))
    upload.add_argument("--encoding", metavar="NAME", **_option(S, "encoding"))
    upload.add_argument("--no-header", action="store_true", help=_help(S, "has_header"))
    upload.add_argument("--columns", metavar="A,B,C", help=_help(S, "column_names"))
    columns = upload.add_argument_group(
        "columns", "Which header holds each field. By default a usual spelling is recognised, "
        "ignoring case, spaces and punctuation (e.g. phone, Phone Number, mobile, telephone; "
        "email, E-mail; first_name, given name; last name, surname; country; external_id).")
    for name, what in (("phone", "phone number (required)"), ("email", "email address"),
                       ("first-name", "first name"), ("last-name", "last name"),
                       ("country", "country (ISO code or English name) used to read phones"),
                       ("external-id", "external id; without one, ids are derived from "
                                       "the phone number")):
        columns.add_argument(f"--{name}-column", metavar="NAME", help=f"column of the {what}")
    upload.add_argument("--default-region", metavar="CC", **_option(S, "default_region"))
    rules = upload.add_argument_group("campaign rules")
    rules.add_argument("--invalid-email", choices=INVALID_EMAIL_ACTIONS,
                       **_option(S, "invalid_email"))
    rules.add_argument("--required-columns", metavar="A,B", help=_help(S, "required_columns"))
    rules.add_argument("--allowed-countries", metavar="US,CA", help=_help(S, "allowed_countries"))
    rules.add_argument("--dnc", type=Path, metavar="FILE", help=_help(S, "dnc_file"))
    rules.add_argument("--dnc-group", type=_positive_int, action="append", default=[],
                       metavar="ID", help=_help(S, "dnc_groups"))
    rules.add_argument("--dnc-group-name", action="append", default=[], metavar="NAME",
                       help=_help(S, "dnc_group_names"))
    rules.add_argument("--dedup", choices=DEDUP_MODES, **_option(S, "dedup"))
    rules.add_argument("--fuzzy-email-edits", type=int, metavar="N",
                       **_option(FuzzySettings, "max_email_edits"))
    rules.add_argument("--fuzzy-phone-digits", type=int, metavar="N",
                       **_option(FuzzySettings, "max_phone_digit_differences"))
    rules.add_argument("--fuzzy-max-namesakes", type=int, metavar="N",
                       **_option(FuzzySettings, "max_namesakes"))
    rules.add_argument("--max-record-chars", type=_positive_int, metavar="N",
                       **_option(S, "max_record_chars"))
    upload.add_argument("--batch-size", type=_positive_int, metavar="N",
                        **_option(S, "batch_size"))
    upload.add_argument("--concurrency", type=_positive_int, metavar="N",
                        **_option(S, "concurrency"))
    upload.add_argument("--max-concurrency", type=_positive_int, metavar="N",
                        help=_help(S, "max_concurrency"))
    upload.add_argument("--workers", type=_count, metavar="N", **_option(S, "workers"))
    upload.add_argument("--dry-run", action="store_true", help=_help(S, "dry_run"))
    upload.add_argument("--no-verify", action="store_true", help=_help(S, "verify"))
    upload.add_argument("--restart", action="store_true", help=_help(S, "restart"))
    upload.add_argument("--audit-pii", choices=["masked", "full"], default="masked",
                        help=_help(S, "audit_full_pii"))
    upload.add_argument("--resend-rounds", type=int, metavar="N", **_option(S, "resend_rounds"))
    upload.add_argument("--webhook", metavar="URL", **_option(S, "webhook_url"))
    cxone = upload.add_argument_group("CXone upload options")
    cxone.add_argument("--api-version", metavar="vN.0", **_option(S, "api_version"))
    cxone.add_argument("--skill-id", type=_positive_int, metavar="N",
                       **_option(UploadOptions, "skill_id"))
    cxone.add_argument("--default-time-zone", metavar="ZONE",
                       **_option(UploadOptions, "default_time_zone"))
    cxone.add_argument("--job-timeout", type=float, metavar="S", **_option(S, "job_timeout"))
    cxone.add_argument("--expiration-days", type=_positive_int, metavar="N",
                       **_option(UploadOptions, "expiration_days"))
    for name in ("force_overwrite", "start_skill", "send_email"):
        cxone.add_argument(f"--{name.replace('_', '-')}", action="store_true",
                           help=_help(UploadOptions, name))
    upload.set_defaults(handler=_upload)

    report = commands.add_parser(
        "report",
        help="rebuild OUT/report.html from OUT/report.json and print the summary",
        description="Rebuild the HTML run report from a run's report.json and print the "
        "same summary as a table.",
    )
    report.add_argument("out", type=Path, metavar="OUT", help="a run's output directory")
    report.set_defaults(handler=_report)

    sandbox = commands.add_parser(
        "sandbox",
        help="run the CXone sandbox alone",
        description="Serve the CXone sandbox until Ctrl-C. Point upload at it with "
        "CXONE_ISSUER=<the URL it prints> and the four credentials set to its values.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    for name in ("client_id", "client_secret", "access_key_id", "access_key_secret"):
        sandbox.add_argument(f"--{name.replace('_', '-')}", default=_default(SandboxConfig, name),
                             help=f"the {name.replace('_', ' ')} it accepts (default: sandbox)")
    for name, kind, metavar, what in _SANDBOX_FAULTS:
        default = _default(SandboxConfig, name)
        sandbox.add_argument(f"--{name.replace('_', '-')}", type=kind, metavar=metavar,
                             default=default, help=f"{what} (default: {default:g})")
    sandbox.add_argument("--dnc-group-file", action="append", default=[], metavar="NAME=FILE",
                         help="serve a DNC group NAME with the numbers in FILE (one per line, "
                         "optionally ,YYYY-MM-DD expiry); repeatable")
    sandbox.add_argument("--seed", type=int, default=_default(SandboxConfig, "seed"),
                         help="seed for the faults (default: 0)")
    sandbox.set_defaults(handler=_sandbox)
    return parser


def _dnc_group_file(spec: str) -> tuple[str, Path]:
    name, equals, file = spec.partition("=")
    if not equals or not name or not Path(file).is_file():
        raise ConfigError(f"--dnc-group-file wants NAME=FILE with an existing file, not {spec!r}")
    return name, Path(file)


def _fuzzy_settings(args: argparse.Namespace) -> FuzzySettings:
    return FuzzySettings(max_email_edits=args.fuzzy_email_edits,
                         max_phone_digit_differences=args.fuzzy_phone_digits,
                         max_namesakes=args.fuzzy_max_namesakes)


def _names(text: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``."""
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def settings_from_args(args: argparse.Namespace) -> Settings:
    column_names = _names(args.columns) or None
    return Settings(
        out_dir=args.out,
        list_name=args.list_name,
        list_id=args.list_id,
        delimiter=args.delimiter,
        encoding=args.encoding,
        has_header=not args.no_header,
        column_names=column_names,
        columns=Columns(
            phone=args.phone_column, email=args.email_column,
            first_name=args.first_name_column, last_name=args.last_name_column,
            country=args.country_column, external_id=args.external_id_column,
        ),
        default_region=args.default_region,
        invalid_email=args.invalid_email,
        required_columns=_names(args.required_columns),
        allowed_countries=(frozenset(c.upper() for c in _names(args.allowed_countries))
                           if args.allowed_countries else None),
        dnc_file=args.dnc,
        dnc_groups=tuple(args.dnc_group),
        dnc_group_names=tuple(args.dnc_group_name),
        max_record_chars=args.max_record_chars,
        dedup=args.dedup,
        fuzzy=_fuzzy_settings(args),
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        max_concurrency=args.max_concurrency or 0,
        workers=args.workers,
        dry_run=args.dry_run,
        credentials=credentials_from_env(),
        api_version=args.api_version,
        job_timeout=args.job_timeout,
        verify=not args.no_verify,
        restart=args.restart,
        audit_full_pii=args.audit_pii == "full",
        resend_rounds=args.resend_rounds,
        webhook_url=args.webhook,
        webhook_secret=webhook_secret_from_env(),
        upload=UploadOptions(
            skill_id=args.skill_id, default_time_zone=args.default_time_zone,
            force_overwrite=args.force_overwrite, expiration_days=args.expiration_days,
            start_skill=args.start_skill, send_email=args.send_email,
        ),
    )


async def _show_progress(progress: Progress) -> None:
    while True:
        await anyio.sleep(0.5)
        if progress.started:
            sys.stderr.write(progress_line(progress))
            sys.stderr.flush()


async def _stop_on_signals(stop: anyio.Event, scope: anyio.CancelScope) -> None:
    """First Ctrl-C (or SIGTERM): stop reading and let uploads in flight finish.
    Second: stop at once (the journal is consistent at every moment anyway)."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if stop.is_set():
                print("\nstreamer: stopping now", file=sys.stderr)
                scope.cancel()
                return
            stop.set()
            print("\nstreamer: stopping after the uploads in flight "
                  "(Ctrl-C again to stop at once)", file=sys.stderr)


async def _upload(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    progress = Progress()
    stop = anyio.Event()
    show = sys.stderr.isatty()
    report = None
    async with AsyncExitStack() as stack:
        if settings.credentials is None and not settings.dry_run:
            sandbox = await stack.enter_async_context(Sandbox())
            # An embedded sandbox starts empty: a journal from an earlier one means nothing.
            settings = replace(settings, credentials=sandbox.credentials, restart=True)
            print(f"streamer: no CXONE_* credentials in the environment; uploading to the "
                  f"embedded CXone sandbox at {sandbox.url}", file=sys.stderr)
        async with anyio.create_task_group() as group:
            group.start_soon(_stop_on_signals, stop, group.cancel_scope)
            if show:
                group.start_soon(_show_progress, progress)
            report = await run(args.file, settings, progress=progress, stop=stop)
            group.cancel_scope.cancel()
    if report is None:  # a second Ctrl-C cancelled the run
        raise Interrupted("stopped at once; run the same command again to resume")
    if show:
        sys.stderr.write(progress_line(progress) + "\n")
    print(summary_line(report))
    return EXIT_FAILED_ROWS if report.failed or not report.balanced else EXIT_OK


async def _report(args: argparse.Namespace) -> int:
    if not (args.out / "report.json").is_file():
        raise InputError(f"{args.out}: no report.json (is it a streamer output directory?)")
    try:
        report = await anyio.to_thread.run_sync(write_html, args.out)
    except (ValueError, KeyError) as error:
        raise InputError(f"{args.out}/report.json is not a streamer report ({error})") from None
    print(render_text(report))
    print(f"\nwrote {args.out / 'report.html'}")
    return EXIT_OK


async def _sandbox(args: argparse.Namespace) -> int:
    chosen = ("client_id", "client_secret", "access_key_id", "access_key_secret", "seed",
              *(name for name, *_ in _SANDBOX_FAULTS))
    config = SandboxConfig(
        **{name: getattr(args, name) for name in chosen},
        dnc_groups=tuple(_dnc_group_file(spec) for spec in args.dnc_group_file),
    )
    sandbox = Sandbox(config)
    try:
        url = await sandbox.start(args.host, args.port)
    except OSError as error:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    print(f"CXone sandbox listening; issuer {url}", flush=True)
    print(f"  export CXONE_ISSUER={url} CXONE_CLIENT_ID={config.client_id} "
          f"CXONE_CLIENT_SECRET=... CXONE_ACCESS_KEY_ID={config.access_key_id} "
          f"CXONE_ACCESS_KEY_SECRET=...", flush=True)
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await sandbox.close()
    return EXIT_OK


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    status = EXIT_OK
    try:
        status = anyio.run(args.handler, args, backend="asyncio")
    except* Interrupted as group:
        print(f"streamer: {_first_leaf(group)}", file=sys.stderr)
        status = EXIT_INTERRUPTED
    except* (InputError, ConfigError, OutputError) as group:
        print(f"streamer: {_first_leaf(group)}", file=sys.stderr)
        status = EXIT_USAGE
    except* StreamerError as group:
        print(f"streamer: {_first_leaf(group)}", file=sys.stderr)
        status = EXIT_FAILED_ROWS
    except* KeyboardInterrupt:
        print("streamer: interrupted", file=sys.stderr)
        status = 130
    return status


if __name__ == "__main__":
    sys.exit(main())
