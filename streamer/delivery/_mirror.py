"""``--mirror``: once every row has its outcome, make the list hold exactly the file's
uploaded contacts, by removing (``removeProspects``) each record whose external id is not
among the rows ``uploaded`` (a resumed run's earlier rows included).

The list is read whole (paged, paced and resumable like read-back, through the same
reader) and the plan, what to remove of how many, is journaled before anything is
removed; every later try works from that plan. Read-back's own ids are not reused: it
forgets them as it matches them, and ``--no-verify`` or a resumed run may not read the
list at all, so the mirror reads it itself.

Guarded: nothing runs when any row failed (the file is not all in the list, and its
missing contacts' old records must not go); nothing is removed when the plan would take
more than ``--mirror-max-remove`` of the list, or when the list's name is not its own
(``removeProspects`` names a list by name). A dry run plans, and removes nothing.

Exactly once across kills: each request's records are journaled before it goes out and
its per-record answer as it comes back. A "removed" is believed; anything else is
settled by reading the list again (gone: removed), because it may be the echo of an
earlier try that did the work: a request killed in flight, an answer that names no
result for a record, and a "failed" (a request repeated after its answer was lost finds
nothing left to remove; HTTP clients even repeat a DELETE on a dropped keep-alive
connection by themselves, unseen). A service that keeps failing stops the run with one
line, its journal kept: the same command goes on from there.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from random import Random

import anyio
from anyio.abc import ObjectReceiveStream
from structlog.typing import FilteringBoundLogger

from streamer._plural import counted
from streamer.counters import Mirroring, Phase, Progress, Verification
from streamer.delivery._pacing import AdaptiveLimiter
from streamer.delivery._reconcile import Reconciler
from streamer.delivery._target import ListTarget, Removal
from streamer.errors import ConfigError, HTTPStatusError, Interrupted, RemoteError
from streamer.records import OutcomeKind
from streamer.retry import retry_call
from streamer.run import Journal
from streamer.settings import Settings

#: External ids per ``removeProspects`` request. CXone documents no limit for its body;
#: 100 is the most its collections page (the one size its list API is known to keep to),
#: small enough that a 429 or a kill costs little to repeat, and a fifth of a
#: million-record list still goes in 2,000 requests, ``--concurrency`` at a time.
REMOVE_CHUNK = 100
#: The detail of a record settled by reading the list rather than by CXone's answer.
_GONE = "not in the list when read back"
_NOT_NAMED = "CXone's answer did not name it"


async def mirror_list(
    target: ListTarget | None, settings: Settings, journal: Journal,
    log: FilteringBoundLogger, list_id: int | None, input_path: Path, stop: anyio.Event,
    rng: Random, progress: Progress | None = None,
) -> Mirroring:
    """Mirror the file at ``input_path`` into list ``list_id`` (a dry run, which resolves
    no list: the list it would fill), as ``settings`` say; what was done, for the report.

    A refusal is not raised here: it is in the result (``refused``), for the outputs to
    be written first. Raises :class:`ConfigError` for a mirror under way resumed without
    ``--mirror``, :class:`Interrupted` when ``stop`` is set while removing, and a
    :class:`RemoteError` saying how to resume when the service fails it.
    """
    state = Mirroring(enabled=settings.mirror, dry_run=settings.dry_run,
                      max_remove=settings.mirror_max_remove)
    if not settings.mirror:
        if journal.mirror_planned():
            raise ConfigError(f"{journal.path.parent} holds a --mirror run under way: run the "
                              "same command with --mirror to finish it, or use --restart")
        return state
    failed = journal.counts().by_kind.get(OutcomeKind.FAILED, 0)
    if failed:
        return _skip(state, log, f"{counted(failed, 'row')} failed: the list is not mirrored while "
                                 "any row of the file is missing from it")
    assert target is not None, "a mirror connects to the tenant, even in a dry run"
    if progress is not None:
        progress.enter(Phase.MIRRORING)
    try:
        if list_id is None and settings.list_id is not None:
            list_id = settings.list_id
        elif list_id is None:  # a dry run: the list is looked for, never created
            name = settings.target_list_name(input_path)
            list_id = await target.find_list(name)
            if list_id is None:
                return _skip(state, log, f"no list is named {name!r} yet: nothing to remove")
        mirror = _Mirror(target, list_id, settings, journal, log, state, stop=stop, rng=rng)
        await mirror.run()
    except RemoteError as error:
        raise RemoteError(f"--mirror could not finish with list {list_id} ({error}); the "
                          f"journal in {journal.path.parent} keeps what it did: run the same "
                          "command again to resume") from error
    return state


def _skip(state: Mirroring, log: FilteringBoundLogger, reason: str) -> Mirroring:
    state.skipped = reason
    log.warning("streamer.mirror_skipped", reason=reason)
    return state


class _Mirror:
    """One list's mirror: read, plan, guard, remove, settle."""

    def __init__(self, target: ListTarget, list_id: int, settings: Settings, journal: Journal,
                 log: FilteringBoundLogger, state: Mirroring, *, stop: anyio.Event,
                 rng: Random) -> None:
        self._target, self._list_id, self._settings = target, list_id, settings
        self._journal, self._log, self.state = journal, log, state
        self._stop, self._rng = stop, rng
        self._name = ""
        # Read-back's reader, reading only: it sends nothing, so needs no upload header.
        self._reader = Reconciler(target, list_id, journal, settings, Verification(), log,
                                  rng=rng, upload_header=())
        self._pace = AdaptiveLimiter(settings.concurrency, settings.max_concurrency, log,
                                     calls="removals")
        self._failure: RemoteError | None = None

    async def run(self) -> None:
        journal, state, settings = self._journal, self.state, self._settings
        self._name = state.list_name = await self._target.list_name(self._list_id)
        if len(named := await self._target.lists_named(self._name)) > 1:
            self._refuse(
                f"{len(named)} lists are named {self._name!r}, and removeProspects names a "
                f"list by name, so it cannot be sure to remove from list {self._list_id} "
                "alone (give that list a name of its own)")
            return
        if not journal.mirror_planned():
            await self._reader.read_back()
            journal.plan_mirror(OutcomeKind.ACCEPTED if settings.dry_run
                                else OutcomeKind.UPLOADED)
        self._count()
        self._log.info("streamer.mirror_planned", list_id=self._list_id, list_name=self._name,
                       list_size=state.list_size, to_remove=state.would_remove,
                       done=state.removed + state.failed, max_remove=state.max_remove)
        if state.would_remove > state.max_remove * state.list_size:
            share = state.would_remove / state.list_size
            self._refuse(
                f"it would remove {state.would_remove:,} of the "
                f"{counted(state.list_size, 'record')} "
                f"in list {self._name!r} ({share:.0%}), more than --mirror-max-remove "
                f"{state.max_remove:g} allows (a larger share allows it)")
            return
        if settings.dry_run:
            return
        await self._settle()  # a resumed run's requests that were out when it stopped
        await self._remove_all()
        if self._stop.is_set() and journal.mirror_counts()[1].get("planned"):
            raise Interrupted(f"stopped while --mirror removed records from list "
                              f"{self._name!r}; the journal in {journal.path.parent} keeps "
                              "each removal: run the same command again to resume")
        await self._settle()
        self._count()
        self._log.info("streamer.mirror_finished", list_id=self._list_id,
                       list_size=state.list_size, removed=state.removed, failed=state.failed,
                       requests=state.requests, retries=state.retries)

    def _refuse(self, reason: str) -> None:
        self.state.refused = reason
        self._log.warning("streamer.mirror_refused", list_id=self._list_id, reason=reason)

    def _count(self) -> None:
        state = self.state
        state.list_size, counts = self._journal.mirror_counts()
        state.would_remove = sum(counts.values())
        state.removed, state.failed = counts.get("removed", 0), counts.get("failed", 0)

    async def _settle(self) -> None:
        """Records whose removal only the list can tell: read it, and settle them."""
        if uncertain := self._journal.uncertain_removals():
            await self._reader.read_back()
            self._journal.settle_removals(_GONE)
            self._log.info("streamer.mirror_checked", list_id=self._list_id,
                           records=uncertain)

    async def _remove_all(self) -> None:
        """Every planned record, ``REMOVE_CHUNK`` a request, ``--concurrency`` requests
        side by side (paced: a 429 slows the ones that follow)."""
        send, receive = anyio.create_memory_object_stream[list[str]](0)

        async def remover(receive: ObjectReceiveStream[list[str]]) -> None:
            async with receive:
                async for external_ids in receive:
                    try:
                        await self._remove(external_ids)
                    except RemoteError as error:
                        self._failure = self._failure or error

        async with anyio.create_task_group() as removers:
            with receive:
                for _ in range(self._settings.concurrency):
                    removers.start_soon(remover, receive.clone())
            async with send:
                for external_ids in self._journal.mirror_pending(REMOVE_CHUNK):
                    if self._failure is not None or self._stop.is_set():
                        break
                    await send.send(external_ids)
        if self._failure is not None:
            raise self._failure

    async def _remove(self, external_ids: list[str]) -> None:
        """One request: its records journaled before it goes, each answer as it comes."""
        journal, state, retry = self._journal, self.state, self._settings.retry
        journal.mark_removing(external_ids)
        attempts = 0

        async def attempt() -> list[Removal]:
            nonlocal attempts
            attempts += 1
            state.requests += 1
            return await self._pace.run(
                partial(self._target.remove_prospects, self._name, external_ids))

        def note(attempt_number: int, error: RemoteError, wait: float) -> None:
            state.retries += 1
            self._log.warning("streamer.mirror_retry", list_id=self._list_id,
                              attempt=attempt_number, error=str(error), wait_s=round(wait, 3))

        started = time.perf_counter()
        try:
            said = await retry_call(attempt, retry, self._rng, on_retry=note,
                                    within=retry.give_up_after)
        except HTTPStatusError as error:
            if error.retryable:
                raise
            # Refused outright (a 4xx): failed, unless an earlier try did the work.
            said = [Removal(i, False, str(error)) for i in external_ids]
            self._log.error("streamer.mirror_batch_refused", list_id=self._list_id,
                            records=len(external_ids), status=error.status, error=str(error))
        answers = [_answer(removal) for removal in said]
        journal.record_removals(answers)
        removed = sum(answer[1] == "done" for answer in answers)
        self._log.info("streamer.mirror_batch", list_id=self._list_id,
                       records=len(external_ids), removed=removed,
                       unsure=len(answers) - removed, attempts=attempts,
                       latency_ms=round((time.perf_counter() - started) * 1000, 1))


def _answer(removal: Removal) -> tuple[str, str, str, str]:
    """A record's answer as the journal keeps it: (external id, state, result, detail).
    Only "removed" is final; the rest is ``check``ed against the list before the end."""
    if removal.removed:
        return removal.external_id, "done", "removed", removal.result
    return (removal.external_id, "check", "failed",
            _NOT_NAMED if removal.removed is None else removal.result)
