"""The campaign file (``upload --config campaign.toml``): the same settings as the same
flags, the command line over the file, and every mistake in one line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import tomllib
from pathlib import Path

import anyio
import pytest

import streamer
from streamer import Interrupted, Sandbox, SandboxConfig, Settings
from streamer._cli_config import (
    CAMPAIGN_TABLES,
    _subcommand,
    campaign_argv,
    campaign_keys,
    with_campaign_file,
)
from streamer.cli import build_parser, main, settings_from_args
from tests.cli_runs import cli_env, one_line, upload
from tests.conftest import WriteCsv
from tests.support import read_outcomes

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "examples" / "contacts.csv"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("CXONE_")]:
        monkeypatch.delenv(name)


def campaign(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def args_of(*argv: str, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """What the command line hands its upload handler, the campaign file applied."""
    parser = parser or build_parser()
    return with_campaign_file(parser, argv, parser.parse_args(argv))


def settings_of(*argv: str) -> Settings:
    return settings_from_args(args_of(*argv))


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(["upload", *argv])  # refused: exit 2 and one line, returned
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("streamer: "), err
    return err.strip()


def flag_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's message for a bad flag on the command line, without its prefix."""
    with pytest.raises(SystemExit):
        main(["upload", "x.csv", *argv])
    return capsys.readouterr().err.splitlines()[-1].removeprefix("streamer upload: error: ")


# -- the same settings as the flags ------------------------------------------------------


def test_a_campaign_file_gives_the_same_settings_as_the_same_flags(tmp_path: Path) -> None:
    path = campaign(tmp_path, """
        list = "Spring renewals"
        default-region = "GB"
        allowed-countries = ["GB", "IE"]
        dnc-group-name = ["Internal DNC", "Legal hold"]
        dnc-group = [12, 14]
        dnc = "dnc.txt"
        dedup = "exact"
        batch-size = 2000
        concurrency = "3"
        retry-for = 90.5
        required-columns = "Email, Account No."
        invalid-email = "blank"
        no-verify = true
        restart = false
        audit-pii = "full"
        fuzzy-email-edits = 1
        record-id-field = "ExternalID"
        expiration-days = 7
        send-email = true
        """)
    flags = ["--list", "Spring renewals", "--default-region", "GB",
             "--allowed-countries", "GB,IE", "--dnc-group-name", "Internal DNC",
             "--dnc-group-name", "Legal hold", "--dnc-group", "12", "--dnc-group", "14",
             "--dnc", "dnc.txt", "--dedup", "exact", "--batch-size", "2000",
             "--concurrency", "3", "--retry-for", "90.5",
             "--required-columns", "Email, Account No.", "--invalid-email", "blank",
             "--no-verify", "--audit-pii", "full", "--fuzzy-email-edits", "1",
             "--record-id-field", "ExternalID", "--expiration-days", "7", "--send-email"]
    from_file = settings_of("upload", "c.csv", "--config", str(path))
    from_flags = settings_of("upload", "c.csv", *flags)
    assert from_file == from_flags
    assert from_file.outcome_key() == from_flags.outcome_key()
    assert from_file != settings_of("upload", "c.csv")
    assert from_file.dnc_group_names == ("Internal DNC", "Legal hold")


def test_the_command_line_overrides_the_file_and_the_rest_keeps_its_default(
    tmp_path: Path,
) -> None:
    path = campaign(tmp_path, """
        list = "from the file"
        default-region = "GB"
        batch-size = 200
        dnc-group-name = ["A", "B"]
        record-id-field = ["one", "two"]
        """)
    settings = settings_of("upload", "c.csv", "--batch-size", "5000", "--config", str(path),
                           "--dnc-group-name", "C", "--list-id", "7")
    assert settings.batch_size == 5000  # given, though it is the default
    assert settings.dnc_group_names == ("C",)  # the command line's values replace the file's
    assert (settings.list_id, settings.list_name) == (7, None)  # --list-id sets `list` aside
    assert settings.default_region == "GB"
    assert settings.list_fields.record_id_fields == ("one", "two")
    assert settings.concurrency == Settings().concurrency
    assert settings_of("upload", "c.csv", "--config", str(path), "--list", "cli").list_name \
        == "cli"


def test_keys_are_the_parsers_long_flag_names_so_a_new_flag_needs_no_code(
    tmp_path: Path,
) -> None:
    parser = build_parser()
    command = _subcommand(parser, "upload")
    keys = campaign_keys(command)
    flags = {option[2:] for action in command._actions for option in action.option_strings
             if option.startswith("--")}
    assert set(keys) == flags - {"help", "config"}
    command.add_argument("--brand-new", type=int, help="a flag added later")
    path = campaign(tmp_path, "brand-new = 5\n")
    assert args_of("upload", "c.csv", "--config", str(path), parser=parser).brand_new == 5


@pytest.mark.parametrize(("text", "tokens"), [
    ('batch-size = 300', ["--batch-size=300"]),
    ('batch-size = "300"', ["--batch-size=300"]),
    ('retry-for = 2.5', ["--retry-for=2.5"]),
    ('dry-run = true', ["--dry-run"]),
    ('dry-run = false', []),
    ('allowed-countries = ["GB", "IE"]', ["--allowed-countries=GB,IE"]),
    ('allowed-countries = "GB,IE"', ["--allowed-countries=GB,IE"]),
    ('columns = ["phone", "first"]', ["--columns=phone,first"]),
    ('dnc-group-name = ["A", "B"]', ["--dnc-group-name=A", "--dnc-group-name=B"]),
    ('dnc-group = 3', ["--dnc-group=3"]),
    ('out = "-odd"', ["--out=-odd"]),
])
def test_values_become_the_flags_tokens(text: str, tokens: list[str]) -> None:
    command = _subcommand(build_parser(), "upload")
    assert campaign_argv(command, tomllib.loads(text), Path("c.toml")) == tokens


def test_tables_become_their_repeatable_flag_and_the_command_line_replaces_them(
    tmp_path: Path,
) -> None:
    path = campaign(tmp_path, """
        default-region = "GB"
        [map]
        PhoneNumber = ["Mobile", "Home Phone"]
        Email = "E-mail"
        "custom:Balance" = "Amount Owed"
        "custom:ClientId" = "Client ID"  # a list field, not a credential
        [time-zones]
        Eastern = ["America/New_York", "America/Detroit"]
        """)
    command = _subcommand(build_parser(), "upload")
    assert campaign_argv(command, tomllib.loads(path.read_text()), path) == [
        "--default-region=GB", "--map=PhoneNumber=Mobile,Home Phone", "--map=Email=E-mail",
        "--map=custom:Balance=Amount Owed", "--map=custom:ClientId=Client ID",
        "--time-zone=Eastern=America/New_York,America/Detroit"]
    args = args_of("upload", "c.csv", "--config", str(path), parser=build_parser())
    assert args.map == [("PhoneNumber", ("Mobile", "Home Phone")), ("Email", ("E-mail",)),
                        ("custom:Balance", ("Amount Owed",)),
                        ("custom:ClientId", ("Client ID",))]
    eastern = [("Eastern", ("America/New_York", "America/Detroit"))]
    assert args.time_zone == eastern
    args = args_of("upload", "c.csv", "--config", str(path), "--map", "Email=Mail",
                   parser=build_parser())
    assert args.map == [("Email", ("Mail",))]
    assert args.time_zone == eastern


def test_a_table_whose_flag_the_parser_lacks_is_unknown(tmp_path: Path) -> None:
    parser = build_parser()
    command = _subcommand(parser, "upload")
    command._remove_action(command._option_string_actions["--time-zone"])
    del command._option_string_actions["--time-zone"]
    text = '[time-zones]\nEastern = "America/New_York"\n'
    with pytest.raises(streamer.ConfigError, match=r"\[time-zones\] is not a table streamer "
                                                   r"reads \(the tables are: \[map\]\)"):
        campaign_argv(command, tomllib.loads(text), Path("c.toml"))


def test_the_readme_example_is_a_campaign_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Campaign file", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert example, "README's Campaign file section has no TOML example"
    table = tomllib.loads(example.group(1))
    for key in ("default-region", "allowed-countries", "dnc-group-name", "dedup", "batch-size"):
        assert key in table
    assert table["map"]["PhoneNumber"] == ["Mobile", "Home Phone"]
    assert {"Email", "Zip", "custom:Balance"} <= table["map"].keys()
    assert set(CAMPAIGN_TABLES) <= table.keys()
    command = _subcommand(build_parser(), "upload")
    assert campaign_argv(command, table, Path("campaign.toml"))


def test_help_still_shows_the_settings_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["upload", "--help"])
    assert done.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "--config FILE" in shown
    assert "(default: 5000)" in shown and "(default: US)" in shown


# -- one line for every mistake ----------------------------------------------------------


@pytest.mark.parametrize(("text", "flag"), [
    ('batch-size = "many"', ["--batch-size", "many"]),
    ('delimiter = "pipe"', ["--delimiter", "pipe"]),
    ('dnc-group = [3, 0]', ["--dnc-group", "0"]),
    ('retry-for = "soon"', ["--retry-for", "soon"]),
])
def test_a_wrong_value_is_refused_in_the_flags_own_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, flag: list[str],
) -> None:
    words = flag_error(capsys, *flag)
    assert words.startswith(f"{flag[0]}: ")
    line = refusal(capsys, "x.csv", "--config", str(campaign(tmp_path, text)))
    assert line == f"streamer: campaign file {tmp_path / 'c.toml'}: {words}"


@pytest.mark.parametrize(("text", "expected"), [
    ("batchsize = 3", "unknown key 'batchsize': did you mean batch-size?"),
    ("batch_size = 3", "unknown key 'batch_size': did you mean batch-size?"),
    ("dnc-groups = [1]", "unknown key 'dnc-groups': did you mean dnc-group"),
    ("zzzz = 1", "unknown key 'zzzz': the keys are upload's flags by their long names: "
                 "out, list, list-id, "),
    ('config = "other.toml"', "config: not a key: a campaign file does not name another"),
    ('file = "c.csv"', "file: not a key: the contacts file is named on the command line"),
    ("[cleaning]\ndedup = 'off'", "[cleaning] is not a table streamer reads"),
    ('dry-run = "yes"', "dry-run is on or off: write dry-run = true (or false)"),
    ("batch-size = true", "batch-size: true or false, where --batch-size takes N"),
    ("batch-size = 2024-05-01", "batch-size: a date or time, where --batch-size takes N"),
    ("default-region = ['GB', 'IE']", "default-region: an array, where --default-region "
                                      "takes CC"),
    ('dedup = ["exact"]', "dedup: an array, where --dedup takes one of off, exact, fuzzy"),
    ("list = 'a'\nlist-id = 3", "--list-id: not allowed with argument --list"),
])
def test_a_mistake_in_the_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str,
) -> None:
    line = refusal(capsys, "x.csv", "--config", str(campaign(tmp_path, text)))
    assert line.startswith(f"streamer: campaign file {tmp_path / 'c.toml'}: {expected}"), line


def test_a_file_that_is_not_toml_or_cannot_be_read_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = campaign(tmp_path, 'default-region = "GB"\nbatch-size = = 5\n')
    assert refusal(capsys, "x.csv", "--config", str(bad)) == (
        f"streamer: campaign file {bad} is not valid TOML: Invalid value "
        f"(at line 2, column 14)")
    missing = tmp_path / "missing.toml"
    assert refusal(capsys, "x.csv", "--config", str(missing)) == (
        f"streamer: cannot read campaign file {missing}: No such file or directory")
    assert refusal(capsys, "x.csv", "--config", str(tmp_path)).endswith(": Is a directory")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('list = "Café"\n'.encode("latin-1"))
    assert "is not UTF-8 text" in refusal(capsys, "x.csv", "--config", str(latin))


SECRET = "s3cr3t-do-not-echo"


@pytest.mark.parametrize(("text", "variable"), [
    (f'client-secret = "{SECRET}"', "set CXONE_CLIENT_SECRET"),
    (f'CXONE_ACCESS_KEY_SECRET = "{SECRET}"', "set CXONE_ACCESS_KEY_SECRET"),
    (f'access_key_id = "{SECRET}"', "set CXONE_ACCESS_KEY_ID"),
    (f'client-id = "{SECRET}"', "set CXONE_CLIENT_ID"),
    (f'webhook-secret = "{SECRET}"', "set STREAMER_WEBHOOK_SECRET"),
    (f'issuer = "https://{SECRET}.example"', "set CXONE_ISSUER"),
    (f'password = "{SECRET}"', "CXONE_ACCESS_KEY_ID and CXONE_ACCESS_KEY_SECRET (and take"),
    (f'api-token = "{SECRET}"', "set CXONE_CLIENT_ID, CXONE_CLIENT_SECRET"),
    (f'[cxone]\nclient_secret = "{SECRET}"', "cxone: credentials come only from the environment"),
    (f'[auth]\naccessKeySecret = "{SECRET}"', "auth.accessKeySecret: credentials"),
    (f'batch-size = 100\n\n[[extra]]\ntoken = "{SECRET}"', "extra.token: credentials"),
])
def test_credentials_are_refused_in_the_file_without_echoing_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, variable: str,
) -> None:
    line = refusal(capsys, "x.csv", "--config", str(campaign(tmp_path, text)))
    assert "credentials come only from the environment" in line
    assert variable in line
    assert SECRET not in line


# -- end to end ---------------------------------------------------------------------------


async def test_a_dry_run_with_a_campaign_file_checks_the_campaign_against_the_sandbox(
    tmp_path: Path, write_csv: WriteCsv,
) -> None:
    group = tmp_path / "internal.txt"
    group.write_text("+44 7400 123458\n")
    source = write_csv([
        ["Mobile", "E-mail", "Country"],
        ["07400 123456", "ann@example.com", ""],
        ["07400 123457", "bob@example.com", "GB"],
        ["+353 85 012 3456", "cat@example.com", "IE"],
        ["(415) 555-2671", "dan@example.com", "US"],
        ["07400 123456", "ann.other@example.com", ""],
        ["07400 123458", "eve@example.com", ""],
        ["07400 123459", "", ""],
    ])
    config = campaign(tmp_path, """
        default-region = "GB"
        allowed-countries = ["GB", "IE"]
        dnc-group-name = ["Internal DNC"]
        dedup = "exact"
        batch-size = 500
        phone-column = "Mobile"
        email-column = "E-mail"
        required-columns = ["E-mail"]
        """)
    out = tmp_path / "out"
    async with Sandbox(SandboxConfig(dnc_groups=(("Internal DNC", group),))) as sandbox:
        done = await upload(cli_env(sandbox), source, out, "--config", str(config),
                            "--dry-run", "--batch-size", "2")
        received = sandbox.stats()["records_received"]
    assert done.returncode == 0, done.stderr.decode()
    assert received == 0
    outcomes = [(o["outcome"], o["reason"]) for o in read_outcomes(out)]
    assert outcomes == [
        ("accepted", ""), ("accepted", ""), ("accepted", ""),
        ("rejected", "country_not_allowed"), ("duplicate", "same_phone"),
        ("rejected", "do_not_call"), ("rejected", "missing_email"),
    ]
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"] and report["settings"]["default_region"] == "GB"
    # --batch-size 2 on the command line won over the file's 500.
    assert len(list((out / "batches").iterdir())) == 2
    assert (out / "report.html").exists()


async def test_a_resume_with_a_changed_campaign_file_is_refused_like_a_changed_flag(
    tmp_path: Path,
) -> None:
    config = campaign(tmp_path, 'dry-run = true\ndefault-region = "US"\ndedup = "exact"\n')
    out = tmp_path / "out"
    argv = ("upload", str(SAMPLE), "--out", str(out), "--config", str(config))
    settings = dataclasses.replace(settings_of(*argv), chunk_rows=100)
    stop = anyio.Event()
    stop.set()
    with pytest.raises(Interrupted):
        await streamer.run(SAMPLE, settings, stop=stop)
    assert (out / "journal.sqlite3").exists()

    env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
    config.write_text('dry-run = true\ndefault-region = "CA"\ndedup = "exact"\n')
    changed_file = one_line(await upload(env, SAMPLE, out, "--config", str(config)))
    config.write_text('dry-run = true\ndefault-region = "US"\ndedup = "exact"\n')
    changed_flag = one_line(await upload(env, SAMPLE, out, "--config", str(config),
                                         "--default-region", "CA"))
    assert "unfinished run with other settings" in changed_file
    assert changed_file == changed_flag
    # A setting that decides no outcome may change; the same file resumes.
    config.write_text('dry-run = true\ndefault-region = "US"\ndedup = "exact"\n'
                      'concurrency = 2\n')
    done = await upload(env, SAMPLE, out, "--config", str(config))
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads((out / "report.json").read_text())["resumed"] is True
