"""What a batch costs to cross between the main process and a row worker, per row: bytes
pickled each way, and the time each side spends making and reading them.

    python -m benchmarks.worker_frames --rows 200000 [--twelve-fields]

Two shapes of the same batches: ``rows`` as the workers first sent them (a list of
records and a list of each row's fields out, a 12-tuple per row back) and ``columns``
(:mod:`streamer.cleaning._batch_columns`). The file is the messy generator's; the stages
are the pipeline's (normalise, the campaign rules, dedup), run once per batch, untimed, so
both shapes carry the very same results. Per side and direction, the time covers packing
and pickling (the sender) or unpickling and unpacking into rows (the receiver).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

import streamer
from benchmarks.__main__ import write_messy
from benchmarks.cases import TWELVE_FIELDS, write_wider
from streamer.cleaning import CampaignRules, DedupRules, NormalizeRules, rarer_collections
from streamer.cleaning._batch_columns import (
    apply_results,
    pack_results,
    pack_rows,
    unpack_rows,
)
from streamer.cleaning._workers import RowStages, RowWork
from streamer.input import CsvSource
from streamer.records import Row, RowBatch


def _rows_request(batch: RowBatch) -> object:
    return [row.record for row in batch], [row.fields for row in batch]


def _rows_unpack(request: object) -> list[Row]:
    records, fields = request  # type: ignore[misc]
    return [Row(record, values) for record, values in zip(records, fields, strict=True)]


def _rows_results(rows: list[Row]) -> object:
    return [(row.reason, row.detail, row.phone, row.region, row.email, row.first_name,
             row.last_name, row.country, row.external_id, row.upload, row.duplicate_of,
             row.extra) for row in rows]


def _rows_apply(batch: RowBatch, results: object) -> None:
    for row, result in zip(batch, results, strict=True):  # type: ignore[call-overload]
        (row.reason, row.detail, row.phone, row.region, row.email, row.first_name,
         row.last_name, row.country, row.external_id, row.upload,
         row.duplicate_of, row.extra) = result


#: Per shape: make the request, read it into rows, make the results, apply them.
SHAPES: dict[str, tuple[Callable[[RowBatch], object], Callable[[object], list[Row]],
                        Callable[[list[Row]], object], Callable[[RowBatch, object], object]]] = {
    "rows": (_rows_request, _rows_unpack, _rows_results, _rows_apply),
    "columns": (pack_rows, unpack_rows, pack_results,  # type: ignore[dict-item]
                apply_results),
}


def measure(path: Path, settings: streamer.Settings) -> dict[str, dict[str, float]]:
    """Per shape: bytes and microseconds per row, over the whole file a batch at a time
    (so that, as in a run, only one batch is held), collections paced as in a run."""
    totals = {shape: dict.fromkeys(("out_bytes", "back_bytes", "main_s", "worker_s"), 0.0)
              for shape in SHAPES}

    async def read() -> int:
        async with CsvSource(path, settings) as source:
            columns = source.columns
            assert columns is not None
            stages = RowWork((
                NormalizeRules.of(columns, settings),
                CampaignRules(columns, max_record_chars=settings.max_record_chars),
                DedupRules(fuzzy=settings.fuzzy, other_phones=columns.other_phones))).start()
            async for batch in source.batches():
                _measure_batch(batch, stages, totals)
            return source.rows_read

    with rarer_collections():
        rows = anyio.run(read, backend="asyncio")
    return {shape: {key: value / rows * (1e6 if key.endswith("_s") else 1)
                    for key, value in total.items()} for shape, total in totals.items()}


def _measure_batch(batch: RowBatch, stages: RowStages,
                   totals: dict[str, dict[str, float]]) -> None:
    worked = stages.apply([Row(row.record, row.fields) for row in batch])
    clock = time.thread_time  # CPU time: other processes on the machine do not count
    for shape, (request, unpack, results, apply) in SHAPES.items():
        fresh = [Row(row.record, row.fields) for row in batch]
        started = clock()
        out = pickle.dumps(request(batch), protocol=pickle.HIGHEST_PROTOCOL)
        sent = clock()
        unpack(pickle.loads(out))
        received = clock()
        back = pickle.dumps(results(worked), protocol=pickle.HIGHEST_PROTOCOL)
        answered = clock()
        apply(fresh, pickle.loads(back))
        applied = clock()
        total = totals[shape]
        total["out_bytes"] += len(out)
        total["back_bytes"] += len(back)
        total["main_s"] += (sent - started) + (applied - answered)
        total["worker_s"] += (received - sent) + (answered - received)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_frames",
                                     description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--twelve-fields", action="store_true",
                        help="the file widened to the twelve mapped list fields")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "messy.csv"
        write_messy(path, args.rows, args.seed)
        options: dict[str, object] = {}
        if args.twelve_fields:
            write_wider(path, wider := Path(tmp) / "wider.csv")
            path, options = wider, {"field_map": TWELVE_FIELDS}
        settings = streamer.Settings(dry_run=True, **options)  # type: ignore[arg-type]
        results = measure(path, settings)
    print(f"{'shape':8} {'out B/row':>10} {'back B/row':>11} {'main us/row':>12} "
          f"{'worker us/row':>14}")
    for shape, result in results.items():
        print(f"{shape:8} {result['out_bytes']:10.1f} {result['back_bytes']:11.1f} "
              f"{result['main_s']:12.3f} {result['worker_s']:14.3f}")


if __name__ == "__main__":
    main()
