"""The API's unconfirmed shapes, each played by a sandbox switch: streamer copes with every
known variant, and stops in one line naming what it saw when a tenant says something
else."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import streamer
from streamer import Sandbox, SandboxConfig
from streamer.errors import UnreadableAnswer
from streamer.settings import ListFields, Settings
from tests.conftest import WriteCsv
from tests.support import assert_exact, settings_for


def contacts(write_csv: WriteCsv, count: int = 250) -> Path:
    return write_csv([["phone", "contact_id"], *[[f"(415) 555-{n:04d}", f"c{n}"]
                                                 for n in range(2000, 2000 + count)]])


async def assert_each_once(sandbox: Sandbox, out: Path) -> None:
    """Every row uploaded, the list exact, and no row sent twice."""
    report = await assert_exact(sandbox, out)
    assert report["outcomes"]["uploaded"] == report["rows_read"]
    assert sandbox.stats()["records_received"] == report["rows_read"]


@pytest.mark.parametrize("config", [
    SandboxConfig(record_keys="pascal"),  # ExternalId
    SandboxConfig(record_keys="snake"),  # external_id
    SandboxConfig(empty_204=True),  # an empty page is 204 No Content
], ids=["pascal", "snake", "204"])
async def test_read_back_copes_with_each_known_shape(
        tmp_path: Path, write_csv: WriteCsv, config: SandboxConfig) -> None:
    path = contacts(write_csv)
    async with Sandbox(config) as sandbox:
        report = await streamer.run(path, settings_for(sandbox, tmp_path / "out"))
        await assert_each_once(sandbox, tmp_path / "out")
    assert report.verification["verified"] == 250 and report.verification["resent"] == 0


async def test_an_access_key_token_without_an_id_token_finds_the_tenant_in_its_claims(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with Sandbox(SandboxConfig(id_token=False)) as sandbox:
        credentials = dataclasses.replace(sandbox.credentials, token_route="access-key")
        await streamer.run(contacts(write_csv, 20), settings_for(
            None, tmp_path / "out", credentials=credentials))
        await assert_each_once(sandbox, tmp_path / "out")
        assert sandbox.stats()["requests"]["GET /.well-known/cxone-configuration"] == {"200": 1}


@pytest.mark.parametrize("root", ["/incontactapi", "/incontactApi"])
async def test_an_api_base_written_in_another_case_is_taken_as_it_is(
        tmp_path: Path, write_csv: WriteCsv, root: str) -> None:
    async with Sandbox() as sandbox:
        credentials = dataclasses.replace(sandbox.credentials,
                                          api_base=f"{sandbox.url}{root}/services/v30.0")
        await streamer.run(contacts(write_csv, 20), settings_for(
            None, tmp_path / "out", credentials=credentials))
        await assert_each_once(sandbox, tmp_path / "out")


def dnc_sandbox(tmp_path: Path, phone_field: str) -> Sandbox:
    """A sandbox with one DNC group, "Internal", holding (415) 555-2001 under
    ``phone_field``."""
    group = tmp_path / "internal.txt"
    group.write_text("(415) 555-2001\n")
    return Sandbox(SandboxConfig(dnc_groups=(("Internal", group),), dnc_phone_field=phone_field))


def dnc_settings(sandbox: Sandbox, out: Path, **overrides: object) -> Settings:
    return settings_for(sandbox, out, dnc_group_names=("Internal",), **overrides)


async def test_dnc_numbers_are_read_under_another_field_name(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with dnc_sandbox(tmp_path, "formattedPhone") as sandbox:
        report = await streamer.run(contacts(write_csv, 3), dnc_settings(sandbox, tmp_path / "o"))
    assert report.reasons == {"do_not_call": 1}


async def test_a_dnc_group_whose_numbers_cannot_be_found_stops_the_run_naming_its_fields(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    async with dnc_sandbox(tmp_path, "msisdn") as sandbox:
        with pytest.raises(UnreadableAnswer) as raised:
            await streamer.run(contacts(write_csv, 3), dnc_settings(sandbox, tmp_path / "o"))
        message = str(raised.value)
        assert "none of the phone fields streamer reads (phoneNumber, formattedPhone)" \
            in message and "msisdn" in message
        fields = ListFields(dnc_phone_fields=("msisdn",))  # named: it works
        report = await streamer.run(contacts(write_csv, 3), dnc_settings(
            sandbox, tmp_path / "o2", list_fields=fields))
    assert report.reasons == {"do_not_call": 1}


async def test_a_server_that_echoes_credentials_in_its_errors_never_gets_them_written(
        tmp_path: Path, write_csv: WriteCsv) -> None:
    config = SandboxConfig(echo_credentials=True, error_rate=0.3, throttle_rate=0.2, seed=4,
                           client_secret="client-s3cret", access_key_secret="key-s3cret")
    async with Sandbox(config) as sandbox:
        report = await streamer.run(contacts(write_csv), settings_for(sandbox, tmp_path / "o"))
    assert report.upload["retries"] > 0  # errors were answered, and echoed...
    assert "Bearer [redacted]" in (tmp_path / "o" / "audit.jsonl").read_text()  # ...cut out
    for file in (tmp_path / "o").iterdir():
        text = file.read_text(errors="replace")
        assert "s3cret" not in text, file.name
        assert not re.search(r"(Bearer|Basic) (?!\[redacted\])\S", text), file.name
