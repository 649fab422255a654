"""Signed Zendesk webhooks against the connector under gunicorn (2 workers) on PostgreSQL.

    python tests/benchmarks/webhooks.py --requests N --concurrency C [--rate R] [--database-url URL]

Sends N signed webhooks (distinct tickets) at R requests/s (open loop) from C threads to
``POST /webhooks/zendesk/<name>``; then the worker processes the stored events. The last line printed is one
JSON object: requests, rps, p50_ms, p99_ms, errors, processed_exactly_once.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, connect, drop_postgres, emit, free_port, fresh_app, fresh_postgres

SECRET = "bench-webhook-signing-secret"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second to offer (open loop)")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: a new one)")
    args = parser.parse_args(argv)

    from adapters.zendesk.sandbox import ZendeskSandbox
    from adapters.zendesk.webhook import sign

    sandbox = ZendeskSandbox(tickets=args.requests, seed=3, export_lag=0, flagged_share=1.0)
    sandbox_url = sandbox.serve()
    database_url = fresh_postgres(args.database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    hosts = sandbox_url.split("://", 1)[1]
    app = fresh_app(database_url, CONNECTOR_BASE_URL=base, CONNECTOR_ENCRYPTION_KEYS=key,
                    CONNECTOR_ALLOWED_INSTANCE_HOSTS=hosts)
    connect(app, "zendesk", "bench", {
        "subdomain": "bench", "base_url": sandbox_url, "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret, "auth": "oauth", "field_ids": sandbox.field_ids,
        "webhook_secret": SECRET})
    env = {**os.environ, "CONNECTOR_DATABASE_URL": database_url, "CONNECTOR_BASE_URL": base,
           "CONNECTOR_SECRET_KEY": "bench", "CONNECTOR_ENCRYPTION_KEYS": key,
           "CONNECTOR_ALLOWED_INSTANCE_HOSTS": hosts,
           "CONNECTOR_PUSH_RATE_LIMIT": "0"}  # throughput is measured here, not the per-connection push rate
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                if requests.get(base + "/api/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        ids = sandbox.ticket_ids()[: args.requests]
        work: queue.Queue[tuple[float, int] | None] = queue.Queue()
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()

        def sender() -> None:
            nonlocal errors
            session = requests.Session()
            while (item := work.get()) is not None:
                due, ticket_id = item
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                body = f'{{"ticket_id": "{ticket_id}"}}'.encode()
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                headers = {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                           "X-Zendesk-Webhook-Signature": sign(SECRET, stamp, body),
                           "X-Zendesk-Webhook-Invocation-Id": f"inv-{ticket_id}"}
                started = time.perf_counter()
                try:
                    ok = session.post(f"{base}/webhooks/zendesk/bench", data=body, headers=headers, timeout=10).ok
                except requests.RequestException:
                    ok = False
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += 0 if ok else 1

        threads = [threading.Thread(target=sender) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        start = time.perf_counter() + 0.2
        for n, ticket_id in enumerate(ids):
            work.put((start + n / args.rate, ticket_id))
        for _ in threads:
            work.put(None)
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        from connector import sync
        from connector.db import db

        with app.app_context():
            while sync.process_events(limit=500)["processed"]:
                pass
            row = db.session.execute(text(
                "SELECT count(*), count(*) FILTER (WHERE status = 'processed'), count(DISTINCT event_key) "
                "FROM inbound_events")).one()
            requests_made = db.session.execute(text(
                "SELECT count(*), count(DISTINCT external_id) FROM exception_requests")).one()
        ordered = sorted(latencies)
        emit({
            "requests": len(ids), "rps": round(len(ids) / wall, 1), "offered_rps": args.rate,
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1), "errors": errors,
            "processed_exactly_once": bool(row[0] == row[1] == row[2] == len(ids)
                                           and requests_made[0] == requests_made[1] == len(ids)),
            "events": {"stored": row[0], "processed": row[1], "requests": requests_made[0]},
        })
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        sandbox.shutdown()
        if not args.database_url:  # the database this run created
            drop_postgres(database_url)


if __name__ == "__main__":
    main()
