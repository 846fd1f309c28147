"""The command line: argument parsing, progress display and exit codes; no business logic.

Exit status: 0 every row accounted for and none failed; 1 some rows failed upload (or
the service failed the run); 2 a user error, told in one line on stderr; 130 stopped by
Ctrl-C or SIGTERM (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import anyio

from streamer.cxone.sandbox import Sandbox, SandboxConfig
from streamer.dedup import DEDUP_MODES
from streamer.errors import ConfigError, InputError, Interrupted, StreamerError
from streamer.fuzzy import FuzzySettings
from streamer.html_report import render_text, write_html
from streamer.pipeline import Progress, run
from streamer.report import Report
from streamer.settings import (
    DELIMITERS,
    Columns,
    Settings,
    UploadOptions,
    credentials_from_env,
    webhook_secret_from_env,
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
    upload.add_argument("--out", type=Path, metavar="DIR",
                        help="output directory (default: streamer-out/<file stem>/)")
    target = upload.add_mutually_exclusive_group()
    target.add_argument("--list", dest="list_name", metavar="NAME",
                        help="calling list to find by name, or create (default: the file stem)")
    target.add_argument("--list-id", type=_positive_int, metavar="N",
                        help="id of an existing calling list")
    upload.add_argument("--delimiter", choices=["auto", *DELIMITERS], default="auto",
                        help="field delimiter; auto picks the one splitting the header most "
                        "(default: auto)")
    upload.add_argument("--encoding", default="auto", metavar="NAME",
                        help="text encoding of the file, e.g. utf-8, cp1252, utf-16; auto "
                        "detects UTF-8/UTF-16 by BOM and falls back to cp1252 (default: auto)")
    upload.add_argument("--no-header", action="store_true",
                        help="the file has no header line; name the columns with --columns")
    upload.add_argument("--columns", metavar="A,B,C",
                        help="column names, in order, for a file without a header")
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
    upload.add_argument("--default-region", default="US", metavar="CC",
                        help="region for phones written without +country code, when the row "
                        "has no country (default: US)")
    rules = upload.add_argument_group("campaign rules")
    rules.add_argument("--invalid-email", choices=["reject", "blank"], default="reject",
                       help="an invalid email rejects the row, or is blanked and the row kept "
                       "(default: reject)")
    rules.add_argument("--required-columns", metavar="A,B",
                       help="columns that must not be blank; a blank one rejects the row "
                       "with missing_<column>")
    rules.add_argument("--allowed-countries", metavar="US,CA",
                       help="ISO codes of the countries this campaign may call (the row's "
                       "country, else the phone's)")
    rules.add_argument("--dnc", type=Path, metavar="FILE",
                       help="do-not-call file: one number per line, in any format")
    rules.add_argument("--dnc-group", type=_positive_int, action="append", default=[],
                       metavar="ID", help="a CXone DNC group (by id) whose numbers are not "
                       "called; repeatable, read-only")
    rules.add_argument("--dnc-group-name", action="append", default=[], metavar="NAME",
                       help="a CXone DNC group by name; repeatable")
    rules.add_argument("--dedup", choices=DEDUP_MODES, default="fuzzy",
                       help="duplicates: none, the same phone/email/external id, or also the "
                       "typos of the same person (default: fuzzy)")
    rules.add_argument("--fuzzy-email-edits", type=int, default=2, metavar="N",
                       help="typos allowed between two email local parts of one person "
                       "(0 to 3; default: 2, and one per 5 characters)")
    rules.add_argument("--fuzzy-phone-digits", type=int, default=1, metavar="N",
                       help="wrong digits allowed between two numbers of one person with the "
                       "same name (0 to 3; default: 1)")
    rules.add_argument("--fuzzy-max-namesakes", type=int, default=64, metavar="N",
                       help="kept contacts sharing a name that make it common: a common name "
                       "is matched by neither a number a digit off nor an address two typos "
                       "off (1 to 255; default: 64)")
    rules.add_argument("--max-record-chars", type=_positive_int, default=512, metavar="N",
                       help="longest record as uploaded, at most CXone's 512 (default: 512)")
    upload.add_argument("--batch-size", type=_positive_int, default=5_000, metavar="N",
                        help="records per uploaded file, at most 500,000 (default: 5000)")
    upload.add_argument("--concurrency", type=_positive_int, default=4, metavar="N",
                        help="uploads in flight at the start (default: 4); halved on each "
                        "wave of 429s, grown by one after a window of successes")
    upload.add_argument("--max-concurrency", type=_positive_int, metavar="N",
                        help="most uploads ever in flight (default: 4 x --concurrency)")
    upload.add_argument("--workers", type=_count, metavar="N",
                        help="processes that normalise rows and check the campaign rules "
                        "beside the main one (a single worker deduplicates too); 0 does it "
                        "in process (default: 1 for inputs of 16 MiB or more, 0 below)")
    upload.add_argument("--dry-run", action="store_true",
                        help="do everything but upload: the would-be upload files go to "
                        "OUT/batches/")
    upload.add_argument("--no-verify", action="store_true",
                        help="skip read-back reconciliation: rows count as uploaded when "
                        "their job completes")
    upload.add_argument("--restart", action="store_true",
                        help="discard an unfinished run's journal in --out and start over")
    upload.add_argument("--audit-pii", choices=["masked", "full"], default="masked",
                        help="personal data in audit.jsonl: phones to their last 4 digits and "
                        "emails to first letter and domain, or in full (default: masked)")
    upload.add_argument("--resend-rounds", type=int, default=2, metavar="N",
                        help="times rows missing from the list on read-back are re-sent "
                        "before they fail (default: 2)")
    upload.add_argument("--webhook", metavar="URL",
                        help="POST a JSON summary here when the run ends (signed with "
                        "STREAMER_WEBHOOK_SECRET when set)")
    cxone = upload.add_argument_group("CXone upload options")
    cxone.add_argument("--api-version", default="v30.0", metavar="vN.0",
                       help="CXone API version (default: v30.0)")
    cxone.add_argument("--skill-id", type=_positive_int, metavar="N",
                       help="skill the list's records are assigned to")
    cxone.add_argument("--default-time-zone", metavar="ZONE",
                       help="time zone for records without one, e.g. Eastern")
    cxone.add_argument("--job-timeout", type=float, default=600.0, metavar="S",
                       help="seconds to wait for one upload job to complete (default: 600)")
    cxone.add_argument("--expiration-days", type=_positive_int, default=30, metavar="N",
                       help="records expire this many days after upload (default: 30)")
    cxone.add_argument("--force-overwrite", action="store_true",
                       help="send forceOverwrite=true with each upload")
    cxone.add_argument("--start-skill", action="store_true",
                       help="send startSkill=true with each upload")
    cxone.add_argument("--send-email", action="store_true",
                       help="send sendEmail=true with each upload")
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
    for name in ("client-id", "client-secret", "access-key-id", "access-key-secret"):
        sandbox.add_argument(f"--{name}", default="sandbox",
                             help=f"the {name.replace('-', ' ')} it accepts (default: sandbox)")
    sandbox.add_argument("--token-ttl", type=float, default=3600.0, metavar="S",
                         help="access token lifetime in seconds (default: 3600)")
    sandbox.add_argument("--rate-limit", type=float, default=0.0, metavar="N",
                         help="API requests per second per token and endpoint before 429s; "
                         "0 = no limit")
    sandbox.add_argument("--throttle-rate", type=_share, default=0.0, metavar="P",
                         help="share of API requests answered 429 whatever the rate, half "
                         "with Retry-After (default: 0)")
    sandbox.add_argument("--error-rate", type=_share, default=0.0, metavar="P",
                         help="share of API requests answered 500 or 503 (default: 0)")
    sandbox.add_argument("--reset-rate", type=_share, default=0.0, metavar="P",
                         help="share of API requests whose connection is dropped (default: 0)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, metavar="MS",
                         help="added to each API answer, give or take half (default: 0)")
    sandbox.add_argument("--job-delay-ms", type=float, default=0.0, metavar="MS",
                         help="delay before an upload job completes (default: 0)")
    sandbox.add_argument("--cancel-rate", type=_share, default=0.0, metavar="P",
                         help="share of upload jobs that end cancelled (default: 0)")
    sandbox.add_argument("--lose-rate", type=_share, default=0.0, metavar="P",
                         help="share of records a completed job silently drops (default: 0)")
    sandbox.add_argument("--dnc-group-file", action="append", default=[], metavar="NAME=FILE",
                         help="serve a DNC group NAME with the numbers in FILE (one per line, "
                         "optionally ,YYYY-MM-DD expiry); repeatable")
    sandbox.add_argument("--seed", type=int, default=0, help="seed for the faults (default: 0)")
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


def _progress_line(progress: Progress) -> str:
    elapsed = max(time.monotonic() - progress.started, 1e-9)
    share = progress.bytes_read / progress.bytes_total if progress.bytes_total else 0.0
    return (
        f"\rread {progress.rows_read:,} rows ({share:.0%} of "
        f"{progress.bytes_total / 1e6:,.1f} MB) · {progress.rows_read / elapsed:,.0f} rows/s · "
        f"sent {progress.sent:,} · uploaded {progress.uploaded:,} · "
        f"duplicates {progress.duplicates:,} · "
        f"rejected {progress.rejected:,} · failed {progress.failed:,}  "
    )


async def _show_progress(progress: Progress) -> None:
    while True:
        await anyio.sleep(0.5)
        if progress.started:
            sys.stderr.write(_progress_line(progress))
            sys.stderr.flush()


def _summary(report: Report) -> str:
    counts = ", ".join(f"{kind} {count:,}" for kind, count in report.outcomes.items() if count)
    state = "balanced" if report.balanced else "NOT BALANCED"
    target = f"list {report.list_id}" if report.list_id is not None else "dry run"
    return (f"{report.rows_read:,} rows: {counts or 'none'} ({state}; {target}); "
            f"outputs in {report.out_dir}")


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
        sys.stderr.write(_progress_line(progress) + "\n")
    print(_summary(report))
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
    config = SandboxConfig(
        client_id=args.client_id, client_secret=args.client_secret,
        access_key_id=args.access_key_id, access_key_secret=args.access_key_secret,
        token_ttl=args.token_ttl, rate_limit=args.rate_limit,
        throttle_rate=args.throttle_rate, error_rate=args.error_rate,
        reset_rate=args.reset_rate, latency_ms=args.latency_ms, job_delay_ms=args.job_delay_ms,
        cancel_rate=args.cancel_rate, lose_rate=args.lose_rate, seed=args.seed,
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
    except* (InputError, ConfigError) as group:
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
