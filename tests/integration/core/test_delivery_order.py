"""Order per (request, target) with several workers: a delivery in flight is neither superseded under its sender
nor overtaken by a newer one, and an admin's retry never re-sends an old version after a newer one."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
import time_machine
from sqlalchemy import select
from support.billing import BILLING, BILLING_CONFIG, approve, deliveries, drain
from support.bodies import entitlement

from connector import delivery
from connector.db import db
from connector.models import AuditEvent, Delivery, utcnow


@pytest.fixture
def app_overrides():
    return BILLING_CONFIG


def amend(client, chair, req, seats=110):
    r = client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair,
                    json={"rationale": "more", "entitlement": entitlement(grants={"seats": seats})})
    assert r.status_code in (200, 201), r.get_json()


def claim(app):
    """What one worker leases (ids), committed as ``delivery.claim`` does; the rows stay leased to it."""
    with app.app_context():
        return [row.id for row in delivery.claim()]


def send(app, ids):
    """The worker that claimed ``ids`` sends them now and records the outcomes."""
    with app.app_context():
        rows = list(db.session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)))
        return delivery.send_claimed(rows)


def rows(app):
    with app.app_context():
        return {d.id: d for d in db.session.scalars(select(Delivery).order_by(Delivery.id)).all()}


def versions():
    return [json.loads(call.request.body)["version"] for call in responses.calls]


def amended_while_in_flight(app, client, token_for, small, billing_status):
    """Worker A claims the approval's billing delivery; the chair amends while A is still sending it."""
    responses.post(BILLING, status=billing_status)
    chair = token_for("reviewer", "licensing")
    req = approve(client, token_for, small, chair)
    worker_a = claim(app)
    assert len(worker_a) == 1
    amend(client, chair, req)
    return worker_a


@responses.activate
def test_a_newer_delivery_waits_for_the_one_in_flight_whose_outcome_is_recorded(app, client, token_for, small):
    worker_a = amended_while_in_flight(app, client, token_for, small, 204)

    assert [d[:2] for d in deliveries(app)] == [("decided", "pending"), ("amended", "pending")]
    assert claim(app) == [], "worker B claimed version 2 while version 1 was in flight"
    assert send(app, worker_a)["delivered"] == 1
    assert [d[:2] for d in deliveries(app)] == [("decided", "delivered"), ("amended", "pending")]
    assert drain(app)["delivered"] == 1
    assert versions() == [1, 2]


@responses.activate
def test_a_delivery_that_fails_in_flight_is_recorded_then_superseded_by_the_newer_one(app, client, token_for, small):
    worker_a = amended_while_in_flight(app, client, token_for, small, 503)
    assert claim(app) == []

    assert send(app, worker_a)["retry"] == 1

    first, second = rows(app).values()
    assert (first.status, first.last_status_code, first.lease_until) == ("superseded", 503, None)
    assert "superseded by a newer change" in (first.last_error or "")
    with app.app_context():
        attempts = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery.attempted")).all()
        assert [(e.data["delivery_id"], e.data["result"], e.data["status"]) for e in attempts] == [
            (first.id, "retry", "superseded")]
    responses.replace(responses.POST, BILLING, status=204)
    assert drain(app)["delivered"] == 1
    assert versions() == [1, 2]
    assert rows(app)[second.id].status == "delivered"


@responses.activate
def test_a_lapsed_lease_is_superseded_as_any_unsent_delivery(app, client, token_for, small):
    """A worker killed mid-send leaves its lease to lapse: the row is no longer in flight."""
    responses.post(BILLING, status=204)
    chair = token_for("reviewer", "licensing")
    req = approve(client, token_for, small, chair)
    assert len(claim(app)) == 1
    with app.app_context():
        lapsed = utcnow() + delivery.lease() + timedelta(seconds=5)
    with time_machine.travel(lapsed):
        amend(client, chair, req)
        assert [d[:2] for d in deliveries(app)] == [("decided", "superseded"), ("amended", "pending")]
        assert drain(app)["delivered"] == 1
    assert versions() == [2]


def retry(client, admin, delivery_id):
    return client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=admin)


def retry_events(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery.retry_requested")).all()


def unchanged(app, before):
    after = rows(app)
    return [(d.status, d.next_attempt_at, d.deadline, d.lease_until) for d in after.values()] == [
        (d.status, d.next_attempt_at, d.deadline, d.lease_until) for d in before.values()]


@responses.activate
def test_a_delivered_or_superseded_delivery_cannot_be_retried(app, client, token_for, small):
    responses.post(BILLING, status=204)
    chair, admin = token_for("reviewer", "licensing"), token_for("admin")
    first = approve(client, token_for, small, chair)
    drain(app)
    second = approve(client, token_for, small, chair)
    amend(client, chair, second)
    delivered, superseded, _ = rows(app)
    assert (rows(app)[delivered].status, rows(app)[superseded].status) == ("delivered", "superseded")
    before = rows(app)

    for delivery_id, code in ((delivered, "delivery_delivered"), (superseded, "delivery_superseded")):
        r = retry(client, admin, delivery_id)
        assert r.status_code == 409, r.get_json()
        assert r.get_json()["code"] == code
        assert "Only dead or pending deliveries can be retried" in r.get_json()["message"]

    assert unchanged(app, before) and retry_events(app) == []
    drain(app)
    assert versions() == [1, 2], f"{first['key']} v1 once, then only the newest version of {second['key']}"


@responses.activate
def test_a_delivery_in_flight_cannot_be_retried(app, client, token_for, small):
    responses.post(BILLING, status=204)
    approve(client, token_for, small, token_for("reviewer", "licensing"))
    (leased,) = claim(app)
    before = rows(app)

    r = retry(client, token_for("admin"), leased)

    assert r.status_code == 409 and r.get_json()["code"] == "delivery_in_flight"
    assert "being sent right now" in r.get_json()["message"]
    assert unchanged(app, before) and retry_events(app) == []


@responses.activate
def test_a_dead_delivery_overtaken_by_a_newer_one_cannot_be_retried_but_the_newest_dead_one_can(
        app, client, token_for, small):
    responses.post(BILLING, status=400, body="unknown customer")
    chair, admin = token_for("reviewer", "licensing"), token_for("admin")
    req = approve(client, token_for, small, chair)
    drain(app)
    amend(client, chair, req)
    dead, newer = rows(app)
    before = rows(app)

    r = retry(client, admin, dead)

    assert r.status_code == 409, r.get_json()
    body = r.get_json()
    assert body["code"] == "delivery_overtaken" and f"newer delivery {newer}" in body["message"]
    assert body["details"]["newer_delivery_id"] == newer
    assert unchanged(app, before) and retry_events(app) == []
    drain(app)  # version 2 is rejected too: the newest dead one is the one to retry
    assert [d[1] for d in deliveries(app)] == ["dead", "dead"]
    responses.replace(responses.POST, BILLING, status=204)
    assert retry(client, admin, newer).status_code == 200
    drain(app)
    assert versions() == [1, 2, 2] and [d[1] for d in deliveries(app)] == ["dead", "delivered"]
