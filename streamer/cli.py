"""The command line: argument parsing, progress display and exit codes; no business logic.

Exit status: 0 every row accounted for and none failed; 1 some rows failed upload, or
--mirror could not remove some records (or the service failed the run); 2 a user error,
an output directory that cannot be used (full, read-only, a damaged journal, another run
in it) or a --mirror its guard refused, told in one line on stderr; 130 stopped by
Ctrl-C or SIGTERM (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import anyio
from rich.console import Console

from streamer._cli_config import add_config_option, with_campaign_file
from streamer._cli_options import (
    Parser,
    assignment,
    count,
    default,
    help_of,
    number,
    option,
    positive_int,
    share,
    version,
    whole_number,
)
from streamer._cli_progress import RunWatch
from streamer._cli_sandbox import add_sandbox_command
from streamer._core import warning as core_warning
from streamer._plural import counted
from streamer.counters import Progress
from streamer.credentials import credentials_from_env, webhook_secret_from_env
from streamer.cxone import Sandbox
from streamer.errors import (
    ConfigError,
    InputError,
    Interrupted,
    MirrorRefused,
    OutputError,
    StreamerError,
)
from streamer.input import check_source
from streamer.pipeline import run
from streamer.run import Report, render_text, summary_line, write_html
from streamer.settings import (
    CUSTOM_FIELDS_AS,
    DEDUP_MODES,
    DELIMITERS,
    INVALID_EMAIL_ACTIONS,
    Columns,
    FuzzySettings,
    ListFields,
    RetryPolicy,
    Settings,
    UploadOptions,
)

EXIT_OK, EXIT_FAILED_ROWS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


S = Settings


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="streamer",
        description="Stream a large, messy contacts CSV, clean, into a NICE CXone calling list.",
    )
    parser.add_argument("--version", action="version", version=version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    upload = commands.add_parser(
        "upload",
        help="clean a contacts file and upload it to a calling list",
        description="Clean a contacts file and upload it to a CXone calling list. Credentials "
        "come from CXONE_ISSUER, CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, CXONE_ACCESS_KEY_ID and "
        "CXONE_ACCESS_KEY_SECRET; with none set, an embedded CXone sandbox is used.",
    )
    upload.add_argument("file", type=Path, help="the contacts file: CSV (may be "
                        "gzip-compressed), or an .xlsx workbook")
    add_config_option(upload)
    upload.add_argument("--out", type=Path, metavar="DIR", **option(S, "out_dir"))
    target = upload.add_mutually_exclusive_group()
    target.add_argument("--list", dest="list_name", metavar="NAME", **option(S, "list_name"))
    target.add_argument("--list-id", type=positive_int, metavar="N", **option(S, "list_id"))
    upload.add_argument("--delimiter", choices=["auto", *DELIMITERS], **option(S, "delimiter"))
    upload.add_argument("--encoding", metavar="NAME", **option(S, "encoding"))
    upload.add_argument("--sheet", metavar="NAME", help=help_of(S, "sheet"))
    upload.add_argument("--no-header", action="store_true", help=help_of(S, "has_header"))
    upload.add_argument("--columns", metavar="A,B,C", help=help_of(S, "column_names"))
    columns = upload.add_argument_group(
        "columns", "Which header holds each field. By default a usual spelling is recognised, "
        "ignoring case, spaces and punctuation (e.g. phone, Phone Number, mobile, telephone; "
        "email, E-mail; first_name, given name; last name, surname; country; external_id).")
    columns.add_argument("--map", type=assignment, action="append", default=[],
                         metavar="FIELD=COLUMN", help=help_of(S, "field_map"))
    columns.add_argument("--time-zone-from-phone", action="store_true",
                         help=help_of(S, "time_zone_from_phone"))
    columns.add_argument("--mark-mobiles", action="store_true", help=help_of(S, "mark_mobiles"))
    # Each is guessed from the header when not given (the group's description says how).
    for name, what in (("phone", "phone number"), ("email", "email address"),
                       ("first-name", "first name"), ("last-name", "last name"),
                       ("country", "country (a code, or a name in English or a dozen other "
                                   "languages), used to read phones"),
                       ("external-id", "external id; without one, ids are derived from "
                                       "the phone number")):
        columns.add_argument(f"--{name}-column", metavar="NAME",
                             help=f"column of the {what} (guessed when not given)")
    upload.add_argument("--default-region", metavar="CC", **option(S, "default_region"))
    rules = upload.add_argument_group("campaign rules")
    rules.add_argument("--invalid-email", choices=INVALID_EMAIL_ACTIONS,
                       **option(S, "invalid_email"))
    rules.add_argument("--required-columns", metavar="A,B", help=help_of(S, "required_columns"))
    rules.add_argument("--allowed-countries", metavar="US,CA", help=help_of(S, "allowed_countries"))
    rules.add_argument("--dnc", type=Path, metavar="FILE", help=help_of(S, "dnc_file"))
    rules.add_argument("--dnc-group", type=positive_int, action="append", default=[],
                       metavar="ID", help=help_of(S, "dnc_groups"))
    rules.add_argument("--dnc-group-name", action="append", default=[], metavar="NAME",
                       help=help_of(S, "dnc_group_names"))
    rules.add_argument("--dedup", choices=DEDUP_MODES, **option(S, "dedup"))
    rules.add_argument("--fuzzy-email-edits", type=whole_number, metavar="N",
                       **option(FuzzySettings, "max_email_edits"))
    rules.add_argument("--fuzzy-phone-digits", type=whole_number, metavar="N",
                       **option(FuzzySettings, "max_phone_digit_differences"))
    rules.add_argument("--fuzzy-max-namesakes", type=whole_number, metavar="N",
                       **option(FuzzySettings, "max_namesakes"))
    rules.add_argument("--max-record-chars", type=positive_int, metavar="N",
                       **option(S, "max_record_chars"))
    upload.add_argument("--batch-size", type=positive_int, metavar="N",
                        **option(S, "batch_size"))
    upload.add_argument("--concurrency", type=positive_int, metavar="N",
                        **option(S, "concurrency"))
    upload.add_argument("--max-concurrency", type=positive_int, metavar="N",
                        help=help_of(S, "max_concurrency"))
    upload.add_argument("--workers", type=count, metavar="N", **option(S, "workers"))
    upload.add_argument("--dry-run", action="store_true", help=help_of(S, "dry_run"))
    upload.add_argument("--no-verify", action="store_true", help=help_of(S, "verify"))
    upload.add_argument("--restart", action="store_true", help=help_of(S, "restart"))
    upload.add_argument("--audit-pii", choices=["masked", "full"], default="masked",
                        help=help_of(S, "audit_full_pii"))
    upload.add_argument("--resend-rounds", type=whole_number, metavar="N",
                        **option(S, "resend_rounds"))
    upload.add_argument("--mirror", action="store_true", help=help_of(S, "mirror"))
    upload.add_argument("--mirror-max-remove", type=share, metavar="SHARE",
                        **option(S, "mirror_max_remove"))
    upload.add_argument("--webhook", metavar="URL", **option(S, "webhook_url"))
    cxone = upload.add_argument_group("CXone upload options")
    cxone.add_argument("--api-version", metavar="vN.0", **option(S, "api_version"))
    cxone.add_argument("--skill-id", type=positive_int, metavar="N",
                       **option(UploadOptions, "skill_id"))
    cxone.add_argument("--default-time-zone", metavar="ZONE",
                       **option(UploadOptions, "default_time_zone"))
    cxone.add_argument("--job-timeout", type=number, metavar="S", **option(S, "job_timeout"))
    cxone.add_argument("--retry-for", type=number, metavar="S",
                       **option(RetryPolicy, "give_up_after"))
    cxone.add_argument("--record-id-field", action="append", default=[], metavar="NAME",
                       help=help_of(ListFields, "record_id_fields"))
    cxone.add_argument("--email-field", metavar="NAME", **option(ListFields, "email_field"))
    cxone.add_argument("--custom-fields-as", choices=CUSTOM_FIELDS_AS,
                       **option(ListFields, "custom_fields_as"))
    cxone.add_argument("--time-zone", type=assignment, action="append", default=[],
                       metavar="NAME=ZONE,ZONE", help=help_of(ListFields, "time_zones"))
    cxone.add_argument("--dnc-phone-field", action="append", default=[], metavar="NAME",
                       help=help_of(ListFields, "dnc_phone_fields"))
    cxone.add_argument("--expiration-days", type=positive_int, metavar="N",
                       **option(UploadOptions, "expiration_days"))
    for name in ("force_overwrite", "start_skill", "send_email"):
        cxone.add_argument(f"--{name.replace('_', '-')}", action="store_true",
                           help=help_of(UploadOptions, name))
    upload.set_defaults(handler=_upload)

    report = commands.add_parser(
        "report",
        help="rebuild OUT/report.html from OUT/report.json and print the summary",
        description="Rebuild the HTML run report from a run's report.json and print the "
        "same summary as a table.",
    )
    report.add_argument("out", type=Path, metavar="OUT",
                        help="a run's output directory, or its report.json")
    report.set_defaults(handler=_report)

    add_sandbox_command(commands)
    return parser


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
        sheet=args.sheet,
        has_header=not args.no_header,
        column_names=column_names,
        columns=Columns(
            phone=args.phone_column, email=args.email_column,
            first_name=args.first_name_column, last_name=args.last_name_column,
            country=args.country_column, external_id=args.external_id_column,
        ),
        field_map=tuple(args.map),
        time_zone_from_phone=args.time_zone_from_phone,
        mark_mobiles=args.mark_mobiles,
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
        retry=RetryPolicy(give_up_after=args.retry_for),
        list_fields=ListFields(
            record_id_fields=tuple(args.record_id_field)
            or default(ListFields, "record_id_fields"),
            dnc_phone_fields=tuple(args.dnc_phone_field)
            or default(ListFields, "dnc_phone_fields"),
            email_field=args.email_field, custom_fields_as=args.custom_fields_as,
            time_zones=tuple(args.time_zone) or default(ListFields, "time_zones")),
        job_timeout=args.job_timeout,
        verify=not args.no_verify,
        restart=args.restart,
        audit_full_pii=args.audit_pii == "full",
        resend_rounds=args.resend_rounds,
        mirror=args.mirror,
        mirror_max_remove=args.mirror_max_remove,
        webhook_url=args.webhook,
        webhook_secret=webhook_secret_from_env(),
        upload=UploadOptions(
            skill_id=args.skill_id, default_time_zone=args.default_time_zone,
            force_overwrite=args.force_overwrite, expiration_days=args.expiration_days,
            start_skill=args.start_skill, send_email=args.send_email,
        ),
    )


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
    # The progress line only on a terminal; a log or a pipe gets the summary alone.
    watch = RunWatch(progress, Console(stderr=True) if sys.stderr.isatty() else None)
    report = None
    # Before the sandbox says it is there: a missing file is the first thing to hear of.
    await check_source(args.file, settings)
    if (slower := core_warning()) is not None:
        print(slower, file=sys.stderr)
    async with AsyncExitStack() as stack:
        if settings.credentials is None and (not settings.dry_run or settings.mirror):
            sandbox = await stack.enter_async_context(Sandbox())
            # An embedded sandbox starts empty: a journal from an earlier one means nothing.
            settings = replace(settings, credentials=sandbox.credentials, restart=True)
            print(f"streamer: no CXONE_* credentials in the environment; uploading to the "
                  f"embedded CXone sandbox at {sandbox.url}", file=sys.stderr)
        async with anyio.create_task_group() as group:
            group.start_soon(_stop_on_signals, stop, group.cancel_scope)
            group.start_soon(watch.run)
            report = await run(args.file, settings, progress=progress, stop=stop)
            group.cancel_scope.cancel()
    if report is None:  # a second Ctrl-C cancelled the run
        raise Interrupted("stopped at once; run the same command again to resume")
    watch.announce()
    print(summary_line(report))
    if note := _encoding_note(report, guessed=settings.encoding == "auto"):
        print(note, file=sys.stderr)
    if incomplete := report.verification.get("incomplete"):
        print(f"streamer: reading the list back could not finish ({incomplete}); the rows "
              "it could not check are failed as verify_incomplete and may well be in the "
              "list: check them in CXone, or upload failed.csv again later", file=sys.stderr)
    unmirrored = bool(report.mirror.get("failed"))
    if unmirrored:
        print(f"streamer: {counted(report.mirror['failed'], 'record')} could not be removed "
              "from the list; removed.csv says why for each", file=sys.stderr)
    return EXIT_FAILED_ROWS if report.failed or unmirrored or not report.balanced else EXIT_OK


def _encoding_note(report: Report, *, guessed: bool) -> str | None:
    """The encoding streamer guessed, when it is not UTF-8 (nearly every file is, and a
    line for it each run would be noise), or UTF-8 with stray bytes read as cp1252."""
    encoding, strays = report.reading.get("encoding"), report.reading.get("bytes_read_as_cp1252")
    if not guessed or not encoding:
        return None
    name = Path(report.input).name
    if encoding != "utf-8":
        return f"streamer: read {name} as {encoding} (guessed; --encoding NAME to choose)"
    if strays:
        return (f"streamer: read {name} as utf-8, with {counted(strays, 'stray byte sequence')} "
                "read as cp1252")
    return None


def _report_dir(given: Path) -> Path:
    """The output directory ``report`` was given, itself or by its report.json."""
    out = given.parent if given.name == "report.json" and given.is_file() else given
    if not (out / "report.json").is_file():
        raise InputError(f"{out}: no report.json (is it a streamer output directory?)")
    return out


async def _report(args: argparse.Namespace) -> int:
    out = _report_dir(args.out)
    try:
        report = await anyio.to_thread.run_sync(write_html, out)
    except (ValueError, KeyError) as error:
        raise InputError(f"{out}/report.json is not a streamer report ({error})") from None
    print(render_text(report))
    print(f"\nwrote {out / 'report.html'}")
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
        args = with_campaign_file(parser, argv, args)
        status = anyio.run(args.handler, args, backend="asyncio")
    except* Interrupted as group:
        print(f"streamer: {_first_leaf(group)}", file=sys.stderr)
        status = EXIT_INTERRUPTED
    except* (InputError, ConfigError, OutputError, MirrorRefused) as group:
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
