"""Kill streamer with SIGKILL at random moments, resume it, and check the list each time.

    python examples/kill_and_resume.py --rows 50000 --kills 10 --seed 1

For each kill point: a fresh output directory and list; `streamer upload` runs as a
subprocess against a sandbox process and is killed (SIGKILL, no chance to clean up)
after a random delay (spread over how long a whole run takes on this machine), with its
worker process, which must not outlive it (only the victim's own children are looked
at, never other processes on the machine); then the same command runs again to
completion. The list read back through the sandbox must then hold exactly the rows whose
outcome is `uploaded`, each once, and `outcomes.csv` must give every record exactly one
outcome.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from examples.make_contacts import write_contacts


@dataclass
class KillPoint:
    delay_s: float
    killed: bool  # False: the run finished before the kill came
    workers_ended: bool  # the killed run's worker process did not outlive it
    decided_at_kill: int
    sending_at_kill: int
    records: int
    uploaded: int
    in_list: int
    list_equals_uploaded: bool
    each_record_once: bool
    phones_unique: bool

    @property
    def ok(self) -> bool:
        return (self.list_equals_uploaded and self.each_record_once and self.phones_unique
                and self.workers_ended)


def _journal_counts(out: Path) -> tuple[int, int]:
    path = out / "journal.sqlite3"
    if not path.exists():
        return 0, 0
    try:
        with sqlite3.connect(path) as db:
            # Records 1..N have their line in outcomes.csv; entries past N are decided too.
            row = db.execute("SELECT value FROM meta WHERE key = 'outcomes_written'").fetchone()
            written = int(row[0]) if row else 0
            decided = written + db.execute("SELECT count(*) FROM outcomes WHERE record > ?",
                                           (written,)).fetchone()[0]
            sending = db.execute("SELECT count(*) FROM sent").fetchone()[0]
        return int(decided), int(sending)
    except sqlite3.Error:
        return 0, 0


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux's /proc; elsewhere, none are known)."""
    children: list[int] = []
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in tasks.read_text().split()]
        except (OSError, ValueError):
            continue
    return children


def _gone_within(pids: list[int], seconds: float) -> bool:
    """Whether every one of ``pids`` (our own victim's workers) has ended within
    ``seconds``. A killed run's worker sees its stdin end, and exits."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [pid for pid in pids if _is_worker(pid)]
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _is_worker(pid: int) -> bool:
    """``pid`` is still a streamer worker (not a number reused by another process)."""
    try:
        return b"streamer.cleaning._worker_process" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def check(out: Path, issuer: str) -> tuple[int, int, int, bool, bool, bool]:
    with open(out / "outcomes.csv", encoding="utf-8", newline="") as file:
        outcomes = list(csv.DictReader(file))
    report = json.loads((out / "report.json").read_text())
    records = [int(o["record"]) for o in outcomes]
    each_once = records == list(range(1, report["rows_read"] + 1)) and report["balanced"]
    uploaded = sorted(o["external_id"] for o in outcomes if o["outcome"] == "uploaded")
    with urllib.request.urlopen(f"{issuer}/sandbox/lists/{report['list_id']}/records") as r:
        stored = json.load(r)["records"]
    ids = sorted(record["externalId"] for record in stored)
    phones = [record["phoneNumber"] for record in stored]
    return (len(records), len(uploaded), len(ids), ids == uploaded, each_once,
            len(set(phones)) == len(phones))


def run_scenario(rows: int, kills: int, seed: int, workdir: Path) -> list[KillPoint]:
    rng = random.Random(seed)
    source = workdir / "contacts.csv"
    write_contacts(source, rows, seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXONE_")}
    with subprocess.Popen(
        [sys.executable, "-m", "streamer", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    ) as sandbox:
        try:
            assert sandbox.stdout is not None
            found = re.search(r"issuer (http://\S+)", sandbox.stdout.readline())
            assert found, "the sandbox did not start"
            issuer = found.group(1)
            env |= {"CXONE_ISSUER": issuer, "CXONE_CLIENT_ID": "sandbox",
                    "CXONE_CLIENT_SECRET": "sandbox", "CXONE_ACCESS_KEY_ID": "sandbox",
                    "CXONE_ACCESS_KEY_SECRET": "sandbox"}

            def command(name: str) -> list[str]:
                # With a worker process too: a kill must not leave it running.
                return [sys.executable, "-m", "streamer", "upload", str(source),
                        "--out", str(workdir / name), "--list", name, "--batch-size", "500",
                        "--workers", "1"]

            # Kill points are spread over how long a whole run takes on this machine.
            started = time.monotonic()
            subprocess.run(command("timing"), env=env, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=600)
            whole_run_s = time.monotonic() - started
            points = []
            for point in range(kills):
                out = workdir / f"kill-{point}"
                delay = rng.uniform(0.05, 0.9) * whole_run_s
                with subprocess.Popen(command(out.name), env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) as victim:
                    time.sleep(delay)
                    killed = victim.poll() is None
                    workers = _children(victim.pid) if killed else []
                    if killed:
                        victim.send_signal(signal.SIGKILL)
                    victim.wait()
                workers_ended = _gone_within(workers, 10.0)
                decided, sending = _journal_counts(out)
                subprocess.run(command(out.name), env=env, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=600)
                points.append(KillPoint(delay, killed, workers_ended, decided, sending,
                                        *check(out, issuer)))
            return points
        finally:
            sandbox.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        points = run_scenario(args.rows, args.kills, args.seed, Path(tmp))
    print(f"{'kill':>4} {'after s':>8} {'killed':>6} {'decided':>8} {'in flight':>9} "
          f"{'records':>8} {'uploaded':>9} {'in list':>8} {'ok':>3}")
    for number, p in enumerate(points, start=1):
        print(f"{number:>4} {p.delay_s:>8.2f} {'yes' if p.killed else 'no':>6} "
              f"{p.decided_at_kill:>8,} {p.sending_at_kill:>9,} {p.records:>8,} "
              f"{p.uploaded:>9,} {p.in_list:>8,} {'yes' if p.ok else 'NO':>3}")
    print("all kill points end with the list equal to the uploaded rows, each once"
          if all(p.ok for p in points) else "FAILED")
    sys.exit(0 if all(p.ok for p in points) else 1)


if __name__ == "__main__":
    main()
