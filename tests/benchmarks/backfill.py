"""Backfill throughput through the real sync path: sandbox → adapter → mapping → intake → store → audit.

    python tests/benchmarks/backfill.py --source salesforce|zendesk --records N [--database-url URL]

The sandbox runs in its own process with rate limits off; the connector uses a fresh database (a temporary SQLite
file unless --database-url names an empty one). The last line printed is one JSON object with keys
source, records, wall_s, cpu_s, records_per_s, http_calls, min_http_calls, peak_rss_mb (and the calls by kind).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import HttpCounter, SandboxProcess, connect, emit, fresh_app, peak_rss_mb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("salesforce", "zendesk"), required=True)
    parser.add_argument("--records", type=int, default=40000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    extra = ["--export-lag", "0", "--all-flagged"] if args.source == "zendesk" else []
    sandbox = SandboxProcess(args.source, args.records, extra)
    try:
        base = sandbox.info["base_url"]
        host = base.split("://", 1)[1]
        app = fresh_app(args.database_url, CONNECTOR_ALLOWED_INSTANCE_HOSTS=host)
        if args.source == "salesforce":
            settings = {"login_url": base, "client_id": sandbox.info["client_id"],
                        "client_secret": sandbox.info["client_secret"], "auth": "web_server"}
            page = 2000
        else:
            settings = {"subdomain": "bench", "base_url": base, "client_id": sandbox.info["client_id"],
                        "client_secret": sandbox.info["client_secret"], "auth": "oauth",
                        "field_ids": sandbox.info["field_ids"], "export_requests_per_minute": 0}
            page = 1000
        connect(app, args.source, "bench", settings)
        from connector import sync

        with app.app_context(), HttpCounter() as counter:
            wall, cpu = time.perf_counter(), time.process_time()
            counts = sync.sync("bench", actor="bench")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if counts.stopped:
            raise SystemExit(f"sync stopped: {counts.stopped}")
        pages = math.ceil(args.records / page)
        emit({
            "source": args.source, "records": args.records, "created": counts.created,
            "needs_info": counts.needs_info, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "records_per_s": round(args.records / wall), "http_calls": counter.total,
            "min_http_calls": pages, "min_http_calls_named": {"query pages" if args.source == "salesforce"
                                                              else "export pages": pages},
            "calls": dict(counter.calls), "peak_rss_mb": peak_rss_mb(),
        })
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
