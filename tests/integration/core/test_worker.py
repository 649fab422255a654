"""The worker loop: ``worker --once``, its periodic jobs, and its heartbeat."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
import responses
import time_machine
from sqlalchemy import select
from support.billing import BILLING, BILLING_CONFIG, approve

from connector import operations, worker
from connector.db import db
from connector.models import Delivery, WorkerHeartbeat, utcnow


@pytest.fixture
def app_overrides():
    return BILLING_CONFIG


def test_worker_once_command(app, client, token_for, small):
    with responses.RequestsMock() as mock:
        mock.post(BILLING, status=204)
        approve(client, token_for, small, token_for("reviewer", "licensing"))
        result = app.test_cli_runner().invoke(args=["connector", "worker", "--once"])
        assert result.exit_code == 0, result.output
        assert "delivered 1" in result.output
    with app.app_context():
        assert db.session.scalar(select(Delivery.status)) == "delivered"


def test_sla_escalation_and_expiry_jobs(app, client, token_for, small, large):
    chair = token_for("reviewer", "licensing")
    req = client.post("/api/v1/requests", json=large, headers=token_for("intake")).get_json()
    fast = approve(client, token_for, small, chair)
    with app.app_context():
        later = utcnow() + timedelta(days=30)
        counts = operations.run_sla(later)
        again = operations.run_sla(later)
        expired = operations.run_expiry(utcnow() + timedelta(days=400))
        db.session.commit()
    assert counts["escalations"] == 1 and again == {"reminders": 0, "escalations": 0}
    assert expired["expired"] == 1
    auditor = token_for("auditor")
    assert client.get(f"/api/v1/requests/{fast['id']}", headers=auditor).get_json()["state"] == "expired"
    assert client.get("/api/v1/requests?overdue=true", headers=auditor).get_json()["items"] == []
    with time_machine.travel(utcnow() + timedelta(days=30)):
        overdue = client.get("/api/v1/requests?overdue=true", headers=auditor).get_json()["items"]
        assert [i["id"] for i in overdue] == [req["id"]] and overdue[0]["sla"]["overdue"] is True
        metrics = client.get("/api/v1/metrics/governance", headers=auditor).get_json()
        assert metrics["overdue"] == 1
    actions = [e["action"] for e in client.get(f"/api/v1/requests/{req['id']}/history", headers=auditor)
               .get_json()["items"]]
    assert "sla.escalated" in actions


def test_a_worker_round_records_its_heartbeat_and_what_it_delivered(app, client, token_for, small):
    with responses.RequestsMock() as mock:
        mock.post(BILLING, status=204)
        approve(client, token_for, small, token_for("reviewer", "licensing"))
        assert worker.run_worker(app, once=True)["delivered"] == 1
    with app.app_context():
        beat = db.session.get(WorkerHeartbeat, f"{socket.gethostname()}:{os.getpid()}")
        assert beat is not None and beat.delivered == 1 and beat.seen_at >= beat.started_at


def test_a_failing_job_is_reported_and_the_others_still_run(app, monkeypatch):
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the job broke")

    monkeypatch.setattr(worker, "periodic_jobs", lambda: {"sla": broken, "expiry": lambda: ran.append("expiry")})
    failed: list[str] = []
    worker.run_worker(app, once=True, failed_jobs=failed)
    assert failed == ["sla"] and ran == ["expiry"]
