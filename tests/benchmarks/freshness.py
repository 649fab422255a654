"""Freshness: how long a pushed change takes to reach the review queue, and a decision the CRM and billing.

    python tests/benchmarks/freshness.py --pushes-per-s R --decisions-per-s D --seconds T [--database-url URL]

Everything runs as in production, on PostgreSQL: the connector under gunicorn (the shipped ``gunicorn.conf.py``),
two worker processes (``flask connector worker``, default settings), a Salesforce org pushing Outbound Messages
and a Zendesk account firing signed webhooks (the sandboxes, in this process), and a billing receiver. For ``T``
seconds the sandboxes push ``R`` record changes a second between them (each about a record the connector has not
seen: it fetches the record and creates its request), and a chair decides ``D`` requests a second through the
API (fast-track ones approved, the others denied). The scheduled sync is kept out of the way (it ran just before,
its interval is a day), so pushes are the only way in.

Measured: ``push_to_queue`` from the push being sent to the request being visible (committed; this process polls
the database every 20 ms, as cheap as the API's read of the same row); ``decision_to_source`` from the decision's
answer (it is committed before it answers) to the Salesforce record or Zendesk ticket showing the outcome;
``decision_to_billing`` to the billing receiver's first copy of an approval. ``lost``: pushes that never became
a request, decisions that never reached the source or (approvals) billing within the settling time; ``doubled``:
requests created twice for one record, and billing messages received twice. The last line printed is one JSON
object with those keys (p50 and p99 in milliseconds) and the counts, and the CPU each part used while it ran
(``cpu_s``: gunicorn, the workers, this database's PostgreSQL backends, this process with the sandboxes and the
clients), the connector's CPU per change (a push or a decision; gunicorn, workers and PostgreSQL) and the
changes a second the machine's cores would allow at that cost.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    ROOT,
    connect,
    database_backends_cpu_s,
    drop_postgres,
    emit,
    free_port,
    fresh_app,
    fresh_postgres,
    gunicorn,
    percentile,
    pid_cpu_s,
    process_tree_cpu_s,
)

ZENDESK_SECRET = "bench-freshness-webhook-secret"
BILLING_SECRET = "whsec_" + "ZnJlc2huZXNzLWJlbmNobWFyay1rZXktMDE="
#: seconds allowed after the last push and decision for everything to arrive before it counts as lost
SETTLE_SECONDS = 30.0


class TimedBilling:
    """The billing receiver, noting when each exception's first message arrived."""

    def __init__(self, receiver: Any) -> None:
        self.receiver = receiver
        self.first: dict[str, float] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        before = len(self.receiver.received)
        answer = self.receiver(environ, start_response)
        now = time.monotonic()
        with self.lock:
            for entry in self.receiver.received[before:]:
                self.first.setdefault(str(entry["payload"].get("exception_id")), now)
        return answer


@contextmanager
def workers(env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "connector", "worker"], cwd=ROOT,
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for_workers(url: str, count: int, timeout: float = 180.0) -> None:
    """Until every worker has beaten once (imported, connected, listening), plus a second for its first round."""
    engine = create_engine(url)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM worker_heartbeats")).scalar_one() >= count:
                    time.sleep(1.0)
                    return
            time.sleep(0.2)
        raise SystemExit(f"the {count} workers did not start within {timeout:.0f} s")
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes-per-s", type=float, default=20.0)
    parser.add_argument("--decisions-per-s", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: a new one)")
    args = parser.parse_args(argv)

    from adapters.billing import BillingReceiver
    from adapters.loopback import LoopbackServer
    from adapters.salesforce.sandbox import SalesforceSandbox
    from adapters.zendesk.sandbox import ZendeskSandbox
    from adapters.zendesk.webhook import sign

    pushes = int(args.pushes_per_s * args.seconds)
    per_source = pushes // 2 + 1
    salesforce = SalesforceSandbox(records=per_source, seed=11)
    zendesk = ZendeskSandbox(tickets=per_source, seed=11, export_lag=0, flagged_share=1.0,
                             job_polls_before_complete=0, job_seconds=0.0)
    sf_url, zd_url = salesforce.serve(), zendesk.serve()
    billing = TimedBilling(BillingReceiver(BILLING_SECRET))
    billing_server = LoopbackServer(billing, "bench-billing")
    billing_url = billing_server.start()
    url = fresh_postgres(args.database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    hosts = ",".join(u.split("://", 1)[1] for u in (sf_url, zd_url))
    config = {"CONNECTOR_BASE_URL": base, "CONNECTOR_ENCRYPTION_KEYS": key, "CONNECTOR_ALLOWED_INSTANCE_HOSTS": hosts,
              "CONNECTOR_BILLING_WEBHOOK_URL": billing_url, "CONNECTOR_BILLING_WEBHOOK_SECRET": BILLING_SECRET,
              "CONNECTOR_SYNC_INTERVAL_SECONDS": "86400",
              # pushes are what is measured: the per-connection push rate (a guard against floods) is off
              "CONNECTOR_PUSH_RATE_LIMIT": "0"}
    try:
        app = fresh_app(url, **config)
        connect(app, "salesforce", "sf", {"login_url": sf_url, "client_id": salesforce.client_id,
                                          "client_secret": salesforce.client_secret, "auth": "web_server"})
        connect(app, "zendesk", "zd", {"subdomain": "bench", "base_url": zd_url, "client_id": zendesk.client_id,
                                       "client_secret": zendesk.client_secret, "auth": "oauth",
                                       "field_ids": zendesk.field_ids, "webhook_secret": ZENDESK_SECRET,
                                       "export_requests_per_minute": 0})
        from connector.auth import create_token
        from connector.db import db
        from connector.models import Connection, utcnow

        with app.app_context():  # the schedule has nothing to do: pushes are the only way in
            for conn in db.session.query(Connection):
                conn.last_sync_at = utcnow()
            chair = create_token("bench-chair", "reviewer", ["licensing"], actor="bench")
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        env = {"CONNECTOR_DATABASE_URL": url, "CONNECTOR_SECRET_KEY": "bench", **config}
        with gunicorn(env, port) as server, workers(env, args.workers) as procs:
            wait_for_workers(url, args.workers)
            meters = {"web": lambda: process_tree_cpu_s(server.pid),
                      "workers": lambda: sum(pid_cpu_s(proc.pid) for proc in procs),
                      "postgres": lambda: database_backends_cpu_s(url),
                      "sandboxes_and_clients": lambda: pid_cpu_s(os.getpid())}
            before = {name: meter() for name, meter in meters.items()}
            result = measure(args, base, chair, url, salesforce, zendesk, billing, sign)
            spent = {name: meter() - before[name] for name, meter in meters.items()}
        connector_cpu = spent["web"] + spent["workers"] + spent["postgres"]
        changes = max(1, result["pushes"] + result["decisions"])
        result["cpu_s"] = {name: round(value, 2) for name, value in spent.items()}
        result["connector_cpu_ms_per_change"] = round(connector_cpu * 1000 / changes, 1)
        result["cores"] = os.cpu_count()
        result["connector_ceiling_changes_per_s"] = round((os.cpu_count() or 1) / (connector_cpu / changes)) \
            if connector_cpu else None
        result["billing_received"] = len(billing.receiver.received)
        emit(result)
    finally:
        salesforce.shutdown()
        zendesk.shutdown()
        billing_server.stop()
        if not args.database_url:
            drop_postgres(url)


def measure(args: argparse.Namespace, base: str, chair: str, url: str, salesforce: Any, zendesk: Any,
            billing: TimedBilling, sign: Any) -> dict[str, Any]:
    """Push, watch, decide and wait; the figures."""
    pushes = int(args.pushes_per_s * args.seconds)
    records = [("sf", rid) for rid in salesforce.record_ids()]
    tickets = [("zd", str(tid)) for tid in zendesk.ticket_ids()]
    order = [item for pair in zip(records, tickets, strict=False) for item in pair][:pushes]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    decided: dict[str, tuple[float, str, str, str, str]] = {}  # request id -> (at, source, record, outcome, exception)
    in_source: dict[str, float] = {}
    candidates: queue.Queue[tuple[str, str, str, str]] = queue.Queue()
    lock = threading.Lock()
    done = threading.Event()
    push_errors = decide_errors = 0
    engine = create_engine(url)

    def push(item: tuple[str, str], session: requests.Session) -> bool:
        kind, ref = item
        if kind == "sf":
            return bool(salesforce.send_outbound_message(f"{base}/webhooks/salesforce/sf", [ref]).acked)
        body = f'{{"ticket_id": "{ref}"}}'.encode()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                   "X-Zendesk-Webhook-Signature": sign(ZENDESK_SECRET, stamp, body),
                   "X-Zendesk-Webhook-Invocation-Id": f"inv-{ref}"}
        return session.post(f"{base}/webhooks/zendesk/zd", data=body, headers=headers, timeout=30).ok

    work: queue.Queue[tuple[float, tuple[str, str]] | None] = queue.Queue()

    def pusher() -> None:
        nonlocal push_errors
        session = requests.Session()
        while (job := work.get()) is not None:
            due, item = job
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            with lock:
                sent[item[1]] = time.monotonic()
            try:
                ok = push(item, session)
            except requests.RequestException:
                ok = False
            if not ok:
                with lock:
                    push_errors += 1

    def watch_queue() -> None:
        last = 0
        while not done.is_set():
            with engine.connect() as conn:  # keys are drawn before commits land, so a window behind the last
                rows = conn.execute(text("SELECT pk, id, external_id, track, state FROM exception_requests "
                                         "WHERE pk > :after ORDER BY pk"), {"after": last - 1000}).all()
            now = time.monotonic()
            for pk, request_id, external_id, track, state in rows:
                last = max(last, pk)
                with lock:
                    if str(external_id) in seen:
                        continue
                    seen[str(external_id)] = now
                if state == "in_review":
                    source = "sf" if str(external_id).startswith("a0X") else "zd"
                    candidates.put((request_id, source, str(external_id), "approved" if track == "fast" else "denied"))
            time.sleep(0.02)

    def decide(session: requests.Session) -> None:
        nonlocal decide_errors
        request_id, source, external_id, outcome = candidates.get(timeout=0.5)
        today = date.today()
        body: dict[str, Any] = {"outcome": outcome, "rationale": "freshness benchmark"}
        if outcome == "approved":
            body["entitlement"] = {"grants": {"other": "as requested"},
                                   "expires_at": (today + timedelta(days=60)).isoformat()}
        response = session.post(f"{base}/api/v1/requests/{request_id}/decision", json=body, timeout=30,
                                headers={"Authorization": f"Bearer {chair}"})
        at = time.monotonic()
        if response.status_code != 201:
            with lock:
                decide_errors += 1
            return
        with lock:
            decided[request_id] = (at, source, external_id, outcome, request_id)

    def decider(rate: float, end: float) -> None:
        session = requests.Session()
        n = 0
        start = time.monotonic()
        while time.monotonic() < end:
            if (delay := start + n / rate - time.monotonic()) > 0:
                time.sleep(delay)
            n += 1
            try:
                decide(session)
            except queue.Empty:
                continue

    def watch_sources() -> None:
        while not done.is_set():
            with lock:
                waiting = [(rid, item) for rid, item in decided.items() if rid not in in_source]
            for request_id, (_at, source, external_id, outcome, _id) in waiting:
                if source == "sf":
                    record = salesforce.get_record(external_id) or {}
                    status = record.get("Governance_Status__c")
                else:
                    status = zendesk.custom_field_value(int(external_id), "governance_status")
                if status == outcome:
                    with lock:
                        in_source.setdefault(request_id, time.monotonic())
            time.sleep(0.02)

    watchers = [threading.Thread(target=watch_queue, daemon=True), threading.Thread(target=watch_sources, daemon=True)]
    for thread in watchers:
        thread.start()
    senders = [threading.Thread(target=pusher, daemon=True) for _ in range(6)]
    for thread in senders:
        thread.start()
    start = time.monotonic() + 0.5
    for n, item in enumerate(order):
        work.put((start + n / args.pushes_per_s, item))
    for _ in senders:
        work.put(None)
    end = start + args.seconds
    deciders = [threading.Thread(target=decider, args=(args.decisions_per_s / 2, end), daemon=True)
                for _ in range(2)]
    for thread in deciders:
        thread.start()
    for thread in [*senders, *deciders]:
        thread.join()
    settle_until = time.monotonic() + SETTLE_SECONDS

    def settled() -> bool:
        with lock:
            approvals = [d[4] for d in decided.values() if d[3] == "approved"]
            return (all(ref in seen for ref in sent) and all(rid in in_source for rid in decided)
                    and all(rid in billing.first for rid in approvals))

    while time.monotonic() < settle_until and not settled():
        time.sleep(0.1)
    done.set()
    for thread in watchers:
        thread.join(5)
    with engine.connect() as conn:
        duplicates = conn.execute(text("SELECT count(*) - count(DISTINCT dedupe_key) FROM exception_requests "
                                       "WHERE dedupe_key IS NOT NULL")).scalar_one()
    engine.dispose()
    with lock:
        to_queue = [seen[ref] - at for ref, at in sent.items() if ref in seen]
        to_source = [in_source[rid] - d[0] for rid, d in decided.items() if rid in in_source]
        approvals = [d for d in decided.values() if d[3] == "approved"]
        to_billing = [billing.first[d[4]] - d[0] for d in approvals if d[4] in billing.first]
        lost_pushes = sum(1 for ref in sent if ref not in seen)
        lost_source = sum(1 for rid in decided if rid not in in_source)
        lost_billing = len(approvals) - len(to_billing)
    billing_twice = len(billing.receiver.received) - len(billing.receiver.by_id)
    return {
        "pushes": len(sent), "pushes_per_s": args.pushes_per_s, "decisions": len(decided),
        "decisions_per_s": args.decisions_per_s, "seconds": args.seconds, "workers": args.workers,
        "push_to_queue_p50_ms": percentile(to_queue, 0.5), "push_to_queue_p99_ms": percentile(to_queue, 0.99),
        "decision_to_source_p50_ms": percentile(to_source, 0.5),
        "decision_to_source_p99_ms": percentile(to_source, 0.99),
        "decision_to_billing_p50_ms": percentile(to_billing, 0.5),
        "decision_to_billing_p99_ms": percentile(to_billing, 0.99),
        "lost": lost_pushes + lost_source + lost_billing,
        "lost_detail": {"pushes": lost_pushes, "decisions_at_source": lost_source,
                        "approvals_at_billing": lost_billing},
        "doubled": int(duplicates) + billing_twice,
        "doubled_detail": {"requests": int(duplicates), "billing_messages": billing_twice},
        "push_errors": push_errors, "decision_errors": decide_errors, "approvals": len(approvals),
    }


if __name__ == "__main__":
    main()
