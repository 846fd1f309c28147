"""Which list a run fills: by id, or found by name, or created; a resumed run keeps its own."""

from __future__ import annotations

from pathlib import Path

from structlog.typing import FilteringBoundLogger

from streamer.delivery._target import ListTarget
from streamer.errors import RemoteError
from streamer.fields import ColumnMap, ListMapping
from streamer.run import Journal
from streamer.settings import Settings


async def resolve_list(
    target: ListTarget, settings: Settings, journal: Journal, input_path: Path,
    log: FilteringBoundLogger, columns: ColumnMap,
) -> tuple[int, str | None]:
    """The list's id and (unless given by id) name; remembered in the journal, so a
    resumed run never creates a second list."""
    remembered = journal.get("list_id")
    created = False
    name: str | None = None
    if settings.list_id is not None:
        list_id = settings.list_id
    elif remembered is not None:
        list_id = int(remembered)
        name = settings.target_list_name(input_path)
    else:
        name = settings.target_list_name(input_path)
        found = await target.find_list(name)
        if found is None:
            found, created = await _create(target, columns.list_mapping, name, log)
        list_id = found
    journal.put("list_id", str(list_id))
    log.info("streamer.list_resolved", list_id=list_id, list_name=name, created=created)
    return list_id, name


async def _create(target: ListTarget, mapping: ListMapping, name: str,
                  log: FilteringBoundLogger) -> tuple[int, bool]:
    """A new list named ``name``; or, when another run created one at the same moment,
    that one. Both runs look again after creating: the oldest list of the name wins, and
    the loser removes its own (still empty), so every contact is dialled once."""
    created = await target.create_list(name, mapping=mapping)
    winner = await target.find_list(name)
    if winner is None or winner == created:
        return created, True
    log.warning("streamer.list_race_lost", list_name=name, created=created, adopted=winner)
    try:
        await target.delete_list(created)
    except RemoteError as error:  # an empty list left behind is untidy, not wrong
        log.warning("streamer.list_not_removed", list_id=created, error=str(error))
    return winner, False
