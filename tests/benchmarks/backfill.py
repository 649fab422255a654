"""Backfill throughput through the real sync path: sandbox → adapter → mapping → intake → store → audit.

    python tests/benchmarks/backfill.py --source salesforce|zendesk --records N [--database-url URL]

The sandbox runs in its own process with rate limits off; the connector uses a fresh database (a temporary SQLite
file unless --database-url names an empty one). The last line printed is one JSON object with keys
source, records, wall_s, cpu_s, records_per_s, http_calls, min_http_calls, peak_rss_mb (and the calls by kind);
on Linux also the sandbox's CPU, connector + sandbox CPU per record, and the rate this machine's cores could
sustain at that CPU per record if the work were spread over all of them perfectly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PAGE_SIZE, HttpCounter, emit, peak_rss_mb, sandbox_connection


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("salesforce", "zendesk"), required=True)
    parser.add_argument("--records", type=int, default=40000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    with sandbox_connection(args.source, args.records, args.database_url) as (app, sandbox):
        from connector import sync

        with app.app_context(), HttpCounter() as counter:
            served = sandbox.cpu_s()
            wall, cpu = time.perf_counter(), time.process_time()
            counts = sync.sync("bench", actor="bench")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            after = sandbox.cpu_s()
    if counts.stopped:
        raise SystemExit(f"sync stopped: {counts.stopped}")
    pages = math.ceil(args.records / PAGE_SIZE[args.source])
    # Zendesk: one ticket count gives the backfill's progress bar its end (Salesforce's pages carry totalSize)
    minimum = {"query pages": pages} if args.source == "salesforce" else {"export pages": pages, "ticket count": 1}
    emit({
        "source": args.source, "records": args.records, "created": counts.created,
        "needs_info": counts.needs_info, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "records_per_s": round(args.records / wall), "http_calls": counter.total,
        "min_http_calls": sum(minimum.values()), "min_http_calls_named": minimum,
        "calls": dict(counter.calls), "peak_rss_mb": peak_rss_mb(),
        **_ceiling(args.records, cpu, served, after),
    })


def _ceiling(records: int, cpu: float, served: float | None, after: float | None) -> dict[str, Any]:
    """The sandbox's CPU in the run and what the machine's cores could sustain for connector + sandbox
    together at this CPU per record, if the work were spread over every core perfectly."""
    if served is None or after is None:
        return {}
    sandbox_cpu = after - served
    cores = os.cpu_count() or 1
    return {"sandbox_cpu_s": round(sandbox_cpu, 3), "cores": cores,
            "cpu_us_per_record": round((cpu + sandbox_cpu) / records * 1e6, 1),
            "all_cores_ceiling_records_per_s": round(cores * records / (cpu + sandbox_cpu))}


if __name__ == "__main__":
    main()
