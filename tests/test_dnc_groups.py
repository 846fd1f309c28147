"""Suppression from the tenant's DNC groups, end to end over real HTTP on 127.0.0.1."""

from __future__ import annotations

import csv
from pathlib import Path

import aiohttp
import pytest

import streamer
from streamer import ConfigError, Sandbox, SandboxConfig
from streamer.cxone import CXoneClient
from tests.conftest import WriteCsv
from tests.support import read_outcomes, settings_for


async def test_rows_in_a_dnc_group_are_not_called_unless_the_entry_expired(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    group_file = tmp_path / "internal.txt"
    group_file.write_text("(415) 555-2671\n4155552672,2000-01-01\n+1 415 555 2673,2999-12-31\n")
    config = SandboxConfig(dnc_groups=(("Internal", group_file), ("Other", group_file)))
    path = write_csv([["phone"], ["415.555.2671"], ["+14155552672"], ["1-415-555-2673"],
                      ["(415) 555-2674"], ["(415) 555-2675"]])
    async with Sandbox(config) as sandbox:
        async with aiohttp.ClientSession() as session:
            client = CXoneClient(session, sandbox.credentials)
            await client.connect()
            [internal, _] = await client.dnc_groups()
            await client.request("POST", f"/dnc-groups/{internal.group_id}/records",
                                 json_body={"dncGroupRecords": [
                                     {"phoneNumber": "4155552675", "expiredDate": None}]})
        report = await streamer.run(path, settings_for(
            sandbox, tmp_path / "out", dnc_groups=(internal.group_id,)))
        stored = sorted(r["phoneNumber"] for r in
                        next(iter(sandbox._lists.values())).records.values())
    outcomes = {o["record"]: o["reason"] for o in read_outcomes(tmp_path / "out")}
    assert outcomes == {"1": "do_not_call", "2": "", "3": "do_not_call", "4": "",
                        "5": "do_not_call"}
    assert stored == ["+14155552672", "+14155552674"]
    assert report.reasons == {"do_not_call": 3}
    with open(tmp_path / "out" / "rejected.csv", encoding="utf-8", newline="") as file:
        details = {row["record"]: row["detail"] for row in csv.DictReader(file)}
    assert details["1"] == f"DNC group {internal.group_id} (Internal)"


async def test_groups_by_name_combine_with_a_dnc_file_and_unknown_groups_stop_the_run(
    tmp_path: Path, write_csv: WriteCsv
) -> None:
    group_file = tmp_path / "g.txt"
    group_file.write_text("(415) 555-2671\n")
    dnc_file = tmp_path / "dnc.txt"
    dnc_file.write_text("(415) 555-2672\n")
    path = write_csv([["phone"], ["(415) 555-2671"], ["(415) 555-2672"], ["(415) 555-2673"]])
    async with Sandbox(SandboxConfig(dnc_groups=(("Legal hold", group_file),))) as sandbox:
        await streamer.run(path, settings_for(sandbox, tmp_path / "out", dry_run=True,
                                              dnc_file=dnc_file,
                                              dnc_group_names=("Legal hold",)))
        with pytest.raises(ConfigError, match="no DNC group named 'Nope'; the tenant has: "
                                               "Legal hold"):
            await streamer.run(path, settings_for(sandbox, tmp_path / "o2", dry_run=True,
                                                  dnc_group_names=("Nope",)))
        with pytest.raises(ConfigError, match="no DNC group 99"):
            await streamer.run(path, settings_for(sandbox, tmp_path / "o3", dnc_groups=(99,)))
    assert [o["outcome"] for o in read_outcomes(tmp_path / "out")] == [
        "rejected", "rejected", "accepted"]
