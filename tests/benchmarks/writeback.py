"""Write-back throughput: N decisions pushed to the source through the deliveries worker and batch endpoints.

    python tests/benchmarks/writeback.py --target salesforce|zendesk --decisions N [--database-url URL]

A sandbox (own process) holds the source records; they are synced and decided (fast-track approvals and
denials), then the clock starts and the worker drains the write-backs. The last line printed is one JSON object:
decisions, wall_s, decisions_per_s, http_calls, min_http_calls (Salesforce: Collections calls of 200; Zendesk:
update_many calls of 100 tickets, twice — a ticket update holds one comment and a decision writes a public reply
and an internal note — whose per-ticket results come from polling the jobs of each round together, one
``job_statuses/show_many`` call per poll: as many polls a round as the client's schedule, 0.25 s then doubling,
needs to find a job of the sandbox's ``--job-seconds`` finished), and the calls by kind.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import HttpCounter, emit, sandbox_connection

from adapters.zendesk.client import FIRST_JOB_POLL_SECONDS, job_poll_waits
from adapters.zendesk.sandbox import DEFAULT_JOB_SECONDS
from connector.sources.zendesk.writeback import JOB_POLL_INTERVAL


def polls_to_see(job_seconds: float) -> int:
    """How many ``job_statuses`` polls the client's schedule makes before a job of ``job_seconds`` shows done."""
    elapsed = 0.0
    for polls, wait in enumerate(job_poll_waits(FIRST_JOB_POLL_SECONDS, JOB_POLL_INTERVAL), start=1):
        elapsed += wait
        if elapsed >= job_seconds:
            return polls
    raise AssertionError("unreachable: the schedule never ends")


def decide_all(app, limit: int) -> int:
    from sqlalchemy import select

    from connector import operations
    from connector.auth import create_token
    from connector.db import db
    from connector.models import ExceptionRequest, Principal

    with app.app_context():
        create_token("bench-chair", "reviewer", ["licensing"], actor="bench")
        chair = db.session.scalar(select(Principal).where(Principal.name == "bench-chair"))
        rows = db.session.scalars(select(ExceptionRequest).where(ExceptionRequest.state == "in_review")
                                  .order_by(ExceptionRequest.pk).limit(limit)).all()
        today = date.today()
        for req in rows:
            if req.track == "fast":
                operations.decide(req, chair, "approved", "bench approval", {
                    "grants": (req.fields or {}).get("requested_terms") or {"other": "as requested"},
                    "expires_at": (today + timedelta(days=90)).isoformat()})
            else:
                operations.decide(req, chair, "denied", "bench denial", None)
        db.session.commit()
        return len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("salesforce", "zendesk"), required=True)
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    records = args.decisions * 3  # room for requests that land in needs_info
    batch, endpoint = (200, "Collections") if args.target == "salesforce" else (100, "update_many")
    with sandbox_connection(args.target, records, args.database_url) as (app, _sandbox):
        from connector import delivery, sync

        with app.app_context():
            counts = sync.sync("bench", actor="bench")
            if counts.stopped:
                raise SystemExit(f"sync stopped: {counts.stopped}")
            delivery.drain()  # the write-backs of intake itself (status, missing fields): not measured
        decided = decide_all(app, args.decisions)
        if args.target == "salesforce":
            minimum = {f"{endpoint} calls": math.ceil(decided / batch)}
        else:  # a ticket update holds one comment: a round of replies, then a round of internal notes
            polls = polls_to_see(DEFAULT_JOB_SECONDS)
            minimum = {f"{endpoint} calls (reply round)": math.ceil(decided / batch),
                       f"{endpoint} calls (note round)": math.ceil(decided / batch),
                       "job_statuses/show_many polls (reply round)": polls,
                       "job_statuses/show_many polls (note round)": polls}
        with app.app_context(), HttpCounter() as counter:
            wall = time.perf_counter()
            totals = delivery.drain()
            wall = time.perf_counter() - wall
        emit({
            "target": args.target, "decisions": decided, "delivered": totals.get("delivered", 0),
            "wall_s": round(wall, 3), "decisions_per_s": round(decided / wall) if wall else None,
            "http_calls": counter.total, "min_http_calls": sum(minimum.values()), "min_http_calls_named": minimum,
            "calls": dict(counter.calls),
        })


if __name__ == "__main__":
    main()
