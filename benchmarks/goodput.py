"""Upload goodput against a rate-limited sandbox: how close the uploader gets to the limit.

    python -m benchmarks.goodput --rows 60000 --batch-size 100 --rate-limit 20 --latency-ms 200

The sandbox answers 429 (half the time with ``Retry-After``) once a token's upload
requests pass ``--rate-limit`` per second, so at most R x batch size rows/s can be
uploaded. Goodput is the rows/s actually uploaded, between the first upload request and
the last answer, divided by that; the 429 share is of all upload requests. The uploader
does not know R: it starts at ``--concurrency`` and adapts (halving on a wave of 429s,
growing by one after a window of successes), honouring Retry-After or backing off with
jitter otherwise. Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import anyio

import streamer
from examples.make_contacts import write_contacts


async def one_run(path: Path, args: argparse.Namespace) -> dict[str, float]:
    config = streamer.SandboxConfig(rate_limit=args.rate_limit, latency_ms=args.latency_ms,
                                    seed=args.seed)
    async with streamer.Sandbox(config) as sandbox:
        with tempfile.TemporaryDirectory() as out:
            settings = streamer.Settings(
                out_dir=Path(out), credentials=sandbox.credentials, list_name="goodput",
                batch_size=args.batch_size, concurrency=args.concurrency, verify=False)
            report = await streamer.run(path, settings)
        assert report.balanced and report.failed == 0, report.outcomes
        timeline = report.request_timeline
        upload_statuses = next(counts for route, counts in sandbox.requests.items()
                               if route.startswith("POST") and route.endswith("/upload"))
    first = min(start for start, *_ in timeline)
    last = max(start + latency / 1000 for start, latency, *_ in timeline)
    uploaded = report.outcomes.get("uploaded", 0)
    allowed = args.rate_limit * args.batch_size
    requests = sum(upload_statuses.values())
    return {
        "rows_per_s": uploaded / (last - first),
        "goodput": uploaded / (last - first) / allowed,
        "share_429": upload_statuses.get("429", 0) / requests,
        "requests": requests,
        "peak_concurrency": max(concurrency for *_, concurrency in timeline),
    }

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.goodput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rate-limit", type=float, default=20.0,
                        help="upload requests per second the sandbox allows")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=4, help="the uploader's start")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        write_contacts(path, args.rows, args.seed)
        runs = [anyio.run(one_run, path, args, backend="asyncio") for _ in range(args.repeat)]
    print(f"rate limit {args.rate_limit:g} uploads/s x {args.batch_size:,} rows = "
          f"{args.rate_limit * args.batch_size:,.0f} rows/s allowed; latency "
          f"{args.latency_ms:g} ms; {args.rows:,} rows; median of {args.repeat}")
    for key in ("rows_per_s", "goodput", "share_429", "requests", "peak_concurrency"):
        values = [run[key] for run in runs]
        print(f"  {key:<17} {statistics.median(values):>12,.3f}   "
              f"(runs: {', '.join(f'{v:,.3f}' for v in values)})")

if __name__ == "__main__":
    main()
