"""Worker processes give the rows what the in-process stages give them, in order."""

from __future__ import annotations

import csv
import os
import random
import select
import signal
import subprocess
from pathlib import Path

import anyio
import pytest

import streamer
from examples.make_contacts import write_contacts
from streamer.cleaning import CampaignRules
from streamer.cleaning._batch_columns import pack_rows
from streamer.cleaning._frames import frame
from streamer.cleaning._normalize import NormalizeRules
from streamer.cleaning._workers import (
    IN_PROCESS_BELOW_BYTES,
    WORKER_COMMAND,
    RowStage,
    RowWork,
    RowWorkers,
    worker_count,
    worker_environment,
)
from streamer.cleaning.dedup import DedupRules
from streamer.errors import StreamerError
from streamer.input import map_columns
from streamer.records import Row, RowBatch
from streamer.settings import Columns
from tests.support import read_outcomes, settings_for


def test_workers_are_for_big_inputs_unless_asked() -> None:
    assert worker_count(None, IN_PROCESS_BELOW_BYTES - 1) == 0
    assert worker_count(None, IN_PROCESS_BELOW_BYTES) == 1  # one, whatever the cores
    assert worker_count(3, 10) == 3
    assert worker_count(0, 1 << 40) == 0


async def test_a_run_with_workers_decides_every_row_as_one_without(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    write_contacts(path, 12_000, seed=5)
    reports, outcomes = [], []
    for workers in (0, 1, 2):  # dedup in process, in the one worker, on the main process
        out = tmp_path / f"out-{workers}"
        settings = settings_for(None, out, dry_run=True, workers=workers, chunk_rows=500)
        reports.append(await streamer.run(path, settings))
        outcomes.append(read_outcomes(out))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert reports[0].outcomes == reports[1].outcomes == reports[2].outcomes
    assert reports[1].balanced and reports[1].outcomes["duplicate"] > 0


#: A campaign mapping list fields beyond the base four: two phones a contact (numbers
#: left out, notes), an email, a typed score, free text.
_HOSTILE_MAP = (("ExternalId", ("id",)), ("FirstName", ("first",)), ("LastName", ("last",)),
                ("PhoneNumber", ("mobile", "home")), ("Email", ("email",)),
                ("Score", ("score",)), ("custom:Segment", ("segment",)))
#: What the reader lets through into a field (every character but NUL, which it drops).
_ODD = ["", " ", "\x01", "\x1e\x1f", '"quoted, "" twice"', "tab\there", "two\r\nlines",
        "Zoë 😀 東京 עברית", "\u2028", "=SUM(A1)", "nul\x00dropped", "x" * 600]


def _hostile_rows(count: int) -> list[list[str]]:
    """Rows of every fate, each field now and then something odd: kept, duplicate (same
    phone, similar email), rejected for each reason a row can earn here, malformed."""
    rng = random.Random(18)
    rows = [["id", "first", "last", "mobile", "home", "email", "score", "segment"]]
    for number in range(count):
        def odd(usual: str) -> str:
            return rng.choice(_ODD) if rng.random() < 0.15 else usual
        person = rng.randrange(count * 3 // 4)  # a quarter repeat someone
        row = [odd(f"id{number}") if rng.random() < 0.97 else "",
               odd(f"Ann{person}"), odd("Lee"), odd(f"(415) 555-{2000 + person % 8000:04d}"),
               odd(f"212 555 {rng.randrange(100, 200):04d}"),
               odd(f"ann{person}@example.com" if rng.random() < 0.9 else f"an{person}@x.com"),
               odd(str(rng.randrange(100)) if rng.random() < 0.95 else "many"),
               odd(rng.choice(["Gold", "Café", ""]))]
        if rng.random() < 0.02:
            row = row[: rng.randrange(1, len(row))]  # malformed: too few fields
        rows.append(row)
    return rows


async def test_workers_change_no_byte_of_any_output_whatever_the_fields(
        tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(_hostile_rows(3_000))
    dnc = tmp_path / "dnc.txt"
    dnc.write_text("(415) 555-2007\n212 555 0142\n")
    outputs = []
    for workers in (0, 1, 2):  # dedup in process, in the one worker, on the main process
        out = tmp_path / f"out-{workers}"
        report = await streamer.run(path, settings_for(
            None, out, dry_run=True, workers=workers, chunk_rows=97, dnc_file=dnc,
            field_map=_HOSTILE_MAP, batch_size=250))
        files = sorted(p for p in out.rglob("*.csv"))
        outputs.append(({p.relative_to(out): p.read_bytes() for p in files},
                        report.outcomes, report.reasons, report.fields))
    assert outputs[0] == outputs[1] == outputs[2]
    files, outcomes, reasons, _ = outputs[0]
    assert {"accepted", "duplicate", "rejected"} <= {k for k, n in outcomes.items() if n}
    assert {"do_not_call", "malformed_row", "invalid_score", "missing_external_id",
            "same_phone", "record_too_long"} <= set(reasons)
    assert b"left out" in files[Path("notes.csv")]
    assert len([name for name in files if name.parts[0] == "batches"]) > 3


async def _worked_on(pool: RowWorkers, batches: list[RowBatch]) -> list[RowBatch]:
    send, receive = anyio.create_memory_object_stream[RowBatch](len(batches))
    out_send, out_receive = anyio.create_memory_object_stream[RowBatch](len(batches))
    async with send:
        for batch in batches:
            await send.send(batch)
    async with out_receive:
        await pool.stage(receive, out_send)
        return [batch async for batch in out_receive]


def _batches() -> tuple[list[RowStage], list[RowBatch]]:
    columns = map_columns(("phone", "email", "first name"), Columns())
    work: list[RowStage] = [NormalizeRules(columns, "US"),
                            CampaignRules(columns, max_record_chars=59)]
    batches = [[Row(b * 10 + i, [f"(415) 555-{b:02d}{i:02d}", f"a{i}@x.com", f" Ann{'n' * i} "])
                for i in range(10)] for b in range(7)]
    return work, batches


async def test_batches_come_back_in_order_from_several_workers() -> None:
    work, batches = _batches()
    _, expected = _batches()
    stages = RowWork(tuple(work)).start()
    for batch in expected:
        stages.apply(batch)
    async with RowWorkers(work, workers=3) as pool:
        got = await _worked_on(pool, batches)
    assert [[row.record for row in batch] for batch in got] == [
        [row.record for row in batch] for batch in expected]
    seen = [(r.phone, r.email, r.first_name, r.external_id, r.upload, r.reason)
            for batch in got for r in batch]
    assert seen == [(r.phone, r.email, r.first_name, r.external_id, r.upload, r.reason)
                    for batch in expected for r in batch]
    assert {reason for *_, reason in seen} == {None, "record_too_long"}


async def test_a_dead_worker_is_a_clear_error_not_a_hang() -> None:
    work, batches = _batches()
    async with RowWorkers(work, workers=1) as pool:
        pool._pool[0].process.kill()
        with pytest.raises(BaseExceptionGroup) as raised, anyio.fail_after(10):
            await _worked_on(pool, batches)
    assert raised.group_contains(StreamerError, match="worker process ended", depth=None)


def test_dedup_is_never_split_across_workers() -> None:
    work, _ = _batches()
    stages = [*work, DedupRules()]
    one = RowWorkers(stages, workers=1)
    assert one.work.stages == tuple(stages) and not one.after.stages
    several = RowWorkers(stages, workers=2)  # dedup, and what follows it, stay here
    assert several.work.stages == tuple(work)
    assert [type(stage) for stage in several.after.stages] == [DedupRules]


def test_a_worker_stopped_mid_answer_still_sends_all_of_it() -> None:
    """Stopped and continued (Ctrl-Z then ``fg``, a profiler's ptrace stops) while its
    answer fills the pipe, a worker whose stdout is unbuffered (``PYTHONUNBUFFERED``) sees
    its write(2) return short: the rest of the frame must still follow, not be dropped."""
    work, _ = _batches()
    batch = [Row(i, [f"(415) 555-{i % 10_000:04d}", f"a{i}@x.com", "Ann" * 60])
             for i in range(1_000)]
    expected = frame(RowWork(tuple(work)).start().results(pack_rows(batch)))
    assert len(expected) > 4 * 65_536  # far more than a pipe holds
    env = {**worker_environment(), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(WORKER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          env=env) as worker:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(frame(RowWork(tuple(work))) + frame(pack_rows(batch)))
        worker.stdin.close()  # it ends after this one answer
        # Its answer has begun, so it is in the write(2) of it, blocked on the full pipe.
        assert select.select([worker.stdout], [], [], 10)[0]
        os.kill(worker.pid, signal.SIGSTOP)
        _, status = os.waitpid(worker.pid, os.WUNTRACED)  # stopped: the write returned
        assert os.WIFSTOPPED(status)
        os.kill(worker.pid, signal.SIGCONT)
        answer = worker.stdout.read()
    assert worker.returncode == 0
    assert len(answer) == len(expected) and answer == expected
