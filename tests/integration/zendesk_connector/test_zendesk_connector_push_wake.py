"""A pushed ticket reaches the review queue as it arrives: the worker wakes on the push (PostgreSQL's
notification; SQLite's short poll) instead of waiting for the events job's timer."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from support.database import is_postgres

from connector import worker
from connector.db import db
from connector.models import InboundEvent


def test_a_pushed_ticket_is_in_the_queue_within_a_second_or_two_not_at_the_next_job(connected, app, monkeypatch):
    zd = connected
    zd.http.get(f"{zd.BASE}/api/v2/tickets/1001.json",
                json={"ticket": zd.ticket(1001), "users": [zd.REQUESTER], "organizations": [zd.ORGANIZATION]})
    monkeypatch.setattr(worker, "periodic_jobs", dict)  # no job (no sync, no events job) may do the work
    stop = threading.Event()
    # on PostgreSQL the safety-net timer is made far longer than the test: only the notification can wake it
    poll = 60.0 if is_postgres() else None
    loop = threading.Thread(target=worker.run_worker, args=(app,),
                            kwargs={"stop": stop, "poll": poll, "job_interval": 3600}, daemon=True)
    loop.start()
    try:
        time.sleep(1.5)  # the first round (and the listener) are done: what follows is woken by the push
        sent = time.monotonic()
        assert zd.webhook({"ticket_id": "1001"}).status_code == 200
        while time.monotonic() - sent < 10 and not zd.requests():
            time.sleep(0.05)
        waited = time.monotonic() - sent
    finally:
        stop.set()
        loop.join(30)
    [req] = zd.requests()
    assert req["external_id"] == "1001" and req["state"] == "in_review"
    assert waited < 3, f"the push waited {waited:.1f} s"
    with app.app_context():
        assert list(db.session.scalars(select(InboundEvent.status))) == ["processed"]
    assert not loop.is_alive()
