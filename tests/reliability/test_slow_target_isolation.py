"""A hanging billing endpoint delays only billing: Salesforce and Zendesk write-back latency (queued → delivered)
with billing hanging stays within 1.5× of what it is with billing healthy (each target has its own lane).

Both sandboxes run in their own processes; the worker runs its real loop in a thread. Run with ``-s`` to see the
figures.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.database import app_config
from support.servers import serve

from adapters.billing import BillingReceiver
from connector import create_app, delivery, operations, sync, worker
from connector.auth import create_token
from connector.config import reconfigure
from connector.db import db
from connector.models import Delivery, ExceptionRequest, Principal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from harness import SandboxProcess, connect  # noqa: E402

SECRET = "whsec_" + "aXNvbGF0aW9uLXRlc3Qtc2lnbmluZy1rZXk="
PER_SOURCE = 40
RECORDS = 3 * PER_SOURCE  # room for requests that land in needs_info


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


@pytest.fixture
def two_sources(database_url: str) -> Any:
    """An app with a Salesforce (``sf``) and a Zendesk (``zd``) connection, each to its own sandbox process."""
    sandboxes = [SandboxProcess("salesforce", RECORDS),
                 SandboxProcess("zendesk", RECORDS, ["--export-lag", "0", "--all-flagged"])]
    try:
        hosts = ",".join(s.info["base_url"].split("://", 1)[1] for s in sandboxes)
        app = create_app(app_config(database_url, CONNECTOR_ALLOWED_INSTANCE_HOSTS=hosts,
                                    CONNECTOR_BASE_URL="http://127.0.0.1:9", TESTING=False))
        with app.app_context():
            from connector.policy_store import ensure_default_policy

            ensure_default_policy()
            db.session.commit()
        sf, zd = sandboxes[0].info, sandboxes[1].info
        connect(app, "salesforce", "sf", {"login_url": sf["base_url"], "client_id": sf["client_id"],
                                          "client_secret": sf["client_secret"], "auth": "web_server"})
        connect(app, "zendesk", "zd", {"subdomain": "iso", "base_url": zd["base_url"], "client_id": zd["client_id"],
                                       "client_secret": zd["client_secret"], "auth": "oauth",
                                       "field_ids": zd["field_ids"], "export_requests_per_minute": 0})
        with app.app_context():
            for name in ("sf", "zd"):
                counts = sync.sync(name, actor="test")
                assert not counts.stopped, counts.stopped
            delivery.drain()  # intake's own write-backs: not measured
            create_token("iso-chair", "reviewer", ["licensing"], actor="test")
            db.session.commit()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        for sandbox in sandboxes:
            sandbox.stop()


def undecided(app: Any, connection: str, count: int) -> list[int]:
    from connector.models import Connection

    with app.app_context():
        pks = list(db.session.scalars(
            select(ExceptionRequest.pk).join(Connection, Connection.id == ExceptionRequest.connection_id)
            .where(Connection.name == connection, ExceptionRequest.state == "in_review")
            .order_by(ExceptionRequest.pk).limit(count)))
        db.session.remove()
        return pks


def decide_steadily(app: Any, pks: list[int]) -> None:
    """Decide ``pks`` a few at a time, as reviewers would, while the worker runs."""
    with app.app_context():
        chair = db.session.scalar(select(Principal).where(Principal.name == "iso-chair"))
        for start in range(0, len(pks), 4):
            for pk in pks[start:start + 4]:
                req = db.session.get(ExceptionRequest, pk)
                if req.track == "fast":  # approved (billing hears of it); a full review's request is denied
                    operations.decide(req, chair, "approved", "isolation test", {
                        "grants": (req.fields or {}).get("requested_terms") or {"other": "as requested"},
                        "expires_at": (date.today() + timedelta(days=90)).isoformat()})
                else:
                    operations.decide(req, chair, "denied", "isolation test", None)
            db.session.commit()
            time.sleep(0.25)
        db.session.remove()


def latencies(app: Any, pks: list[int], target: str) -> list[float]:
    with app.app_context():
        rows = db.session.scalars(select(Delivery).where(Delivery.request_pk.in_(pks), Delivery.target == target,
                                                         Delivery.change == "decided"))
        found = [((r.delivered_at or r.created_at) - r.created_at).total_seconds() if r.status == "delivered"
                 else float("inf") for r in rows]
        db.session.remove()
        return found


def run_phase(app: Any, receiver: BillingReceiver, per_source: int) -> dict[str, list[float]]:
    pks = {name: undecided(app, name, per_source) for name in ("sf", "zd")}
    stop = threading.Event()
    with serve(receiver) as url:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=url, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET,
                    CONNECTOR_HTTP_TIMEOUT="2", CONNECTOR_DELIVERY_LANE_SECONDS="10")
        loop = threading.Thread(target=worker.run_worker, args=(app,),
                                kwargs={"stop": stop, "poll": 0.1, "job_interval": 3600}, daemon=True)
        loop.start()
        try:
            deciders = [threading.Thread(target=decide_steadily, args=(app, pks[name])) for name in pks]
            for thread in deciders:
                thread.start()
            for thread in deciders:
                thread.join()
            end = time.monotonic() + 20
            while time.monotonic() < end and any(
                    float("inf") in latencies(app, pks[name], f"connection:{name}") for name in pks):
                time.sleep(0.2)
        finally:
            stop.set()
            loop.join(30)
    return {name: latencies(app, pks[name], f"connection:{name}") for name in pks}


def test_a_hanging_billing_endpoint_delays_only_billing(two_sources):
    app = two_sources
    healthy = run_phase(app, BillingReceiver(SECRET), PER_SOURCE // 2)
    hanging = BillingReceiver(SECRET, delay=30.0)  # never answers within the 2 s timeout
    slow = run_phase(app, hanging, PER_SOURCE // 2)
    print()
    for name, label in (("sf", "Salesforce"), ("zd", "Zendesk")):
        a, b = healthy[name], slow[name]
        print(f"{label} write-back latency, billing healthy: p50 {statistics.median(a):.2f} s p99 {p99(a):.2f} s "
              f"(n={len(a)}); billing hanging: p50 {statistics.median(b):.2f} s p99 {p99(b):.2f} s (n={len(b)})")
    print(f"billing calls while hanging: {hanging.arrivals} (each timed out after 2 s)")
    for name in ("sf", "zd"):
        assert float("inf") not in healthy[name] + slow[name], "a write-back was not delivered"
        # 1.5×, with 0.5 s of slack for scheduling noise on a shared machine at sub-second latencies
        assert p99(slow[name]) <= max(1.5 * p99(healthy[name]), p99(healthy[name]) + 0.5), (healthy, slow)
    assert hanging.arrivals >= 1
