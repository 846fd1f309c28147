"""The do-not-call set: numbers from a file and from the tenant's DNC groups, compact.

Each number costs 8 bytes, its E.164 digits and the index of where it came from packed
in one integer of a sorted array, instead of ~100 bytes for a string in a set; a list
of millions loads into tens of megabytes and is searched by bisection.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, Protocol

import anyio.to_thread
from structlog.typing import FilteringBoundLogger

from streamer.cleaning._normalize import normalize_phone
from streamer.errors import ConfigError, InputError
from streamer.settings import Settings

_SOURCE_BITS = 8  # E.164 has at most 15 digits (< 2**50): 8 bits to spare in an int64
_MAX_SOURCES = 1 << _SOURCE_BITS


class DoNotCall:
    """E.164 numbers never to call, each with where it came from."""

    def __init__(self, keys: array[int], sources: list[str], unreadable: int) -> None:
        self._keys = keys
        self.sources = sources
        self.unreadable = unreadable

    def __len__(self) -> int:
        return len(self._keys)

    def source_of(self, e164: str) -> str | None:
        """Where ``e164`` is listed (e.g. ``DNC group 12 (Internal)``), or ``None``."""
        if not e164.startswith("+"):
            return None
        number = int(e164[1:])
        index = bisect_left(self._keys, number << _SOURCE_BITS)
        if index < len(self._keys) and self._keys[index] >> _SOURCE_BITS == number:
            return self.sources[self._keys[index] & (_MAX_SOURCES - 1)]
        return None

    def __contains__(self, e164: object) -> bool:
        return isinstance(e164, str) and self.source_of(e164) is not None


class DoNotCallBuilder:
    """Gathers numbers from every source, then sorts them once into a :class:`DoNotCall`."""

    def __init__(self, default_region: str) -> None:
        self._region = default_region
        self._keys = array("q")
        self._sources: list[str] = []
        self.unreadable = 0

    def _source(self, label: str) -> int:
        if len(self._sources) >= _MAX_SOURCES:
            raise ConfigError(f"at most {_MAX_SOURCES} do-not-call sources")
        self._sources.append(label)
        return len(self._sources) - 1

    def _add(self, raw: str, source: int) -> None:
        e164 = normalize_phone(raw, self._region)
        if e164 is None:
            self.unreadable += 1
        else:
            self._keys.append(int(e164[1:]) << _SOURCE_BITS | source)

    def add_file(self, path: Path) -> None:
        """One number per line in any format; blank lines and ``#`` comments skipped;
        lines that are not valid numbers counted in ``unreadable``."""
        source = self._source(f"file {path.name}")
        try:
            with open(path, encoding="utf-8-sig", errors="replace") as file:
                for line in file:
                    text = line.strip()
                    if text and not text.startswith("#"):
                        self._add(text.split(",")[0], source)
        except OSError as error:
            raise InputError(f"do-not-call file {path}: {error.strerror}") from None

    async def add_group(
        self, label: str, entries: AsyncIterable[DncEntry], *, today: str | None = None
    ) -> int:
        """A DNC group's entries; those whose expiry date has passed do not count.
        Returns how many were skipped as expired."""
        source = self._source(label)
        today = today or datetime.now(UTC).date().isoformat()
        expired = 0
        async for entry in entries:
            if entry.expired_date and entry.expired_date[:10] < today:
                expired += 1
                continue
            self._add(entry.phone, source)
        return expired

    def build(self) -> DoNotCall:
        return DoNotCall(array("q", sorted(self._keys)), self._sources, self.unreadable)

    @classmethod
    def from_file(cls, path: Path, default_region: str) -> DoNotCall:
        builder = cls(default_region)
        builder.add_file(path)
        return builder.build()


class DncGroup(NamedTuple):
    group_id: int
    name: str


class DncEntry(NamedTuple):
    """A number on a DNC group, and until when (``""``: for good)."""

    phone: str
    expired_date: str = ""


class DncGroups(Protocol):
    """Where the tenant's DNC groups are read from (the CXone client)."""

    async def dnc_groups(self) -> list[DncGroup]: ...

    def dnc_records(self, group_id: int) -> AsyncIterator[DncEntry]: ...


async def load_do_not_call(
    settings: Settings, groups: DncGroups | None, log: FilteringBoundLogger
) -> DoNotCall | None:
    """The do-not-call set from ``--dnc`` and the tenant's DNC groups; ``None`` if neither
    is asked for. A group that is not the tenant's stops the run, naming those it has."""
    if settings.dnc_file is None and not settings.wants_dnc_groups:
        return None
    builder = DoNotCallBuilder(settings.default_region)
    if (dnc_path := settings.dnc_path) is not None:
        await anyio.to_thread.run_sync(builder.add_file, dnc_path)
    if settings.wants_dnc_groups:
        assert groups is not None, "connected because the groups are wanted"
        await _add_groups(builder, settings, groups, log)
    dnc = await anyio.to_thread.run_sync(builder.build)
    log.info("streamer.dnc_loaded", numbers=len(dnc), sources=dnc.sources,
             unreadable=dnc.unreadable)
    return dnc


async def _add_groups(builder: DoNotCallBuilder, settings: Settings, source: DncGroups,
                      log: FilteringBoundLogger) -> None:
    groups = {group.group_id: group.name for group in await source.dnc_groups()}
    wanted = list(settings.dnc_groups)
    by_name = {name: group_id for group_id, name in groups.items()}
    for name in settings.dnc_group_names:
        if name not in by_name:
            raise ConfigError(f"no DNC group named {name!r}; the tenant has: "
                              f"{', '.join(sorted(by_name)) or 'none'}")
        wanted.append(by_name[name])
    for group_id in dict.fromkeys(wanted):
        if group_id not in groups:
            raise ConfigError(f"no DNC group {group_id}; the tenant has: "
                              f"{', '.join(map(str, sorted(groups))) or 'none'}")
        label = f"DNC group {group_id} ({groups[group_id]})"
        expired = await builder.add_group(label, source.dnc_records(group_id))
        log.info("streamer.dnc_group_read", group_id=group_id, expired=expired)
