"""Deliveries: retries, Retry-After, maximum age, 410, supersession, backoff, claims and drains (billing as the
target)."""

from __future__ import annotations

import json
import random
import threading

import pytest
import responses
import time_machine
from sqlalchemy import select, text
from support.billing import BILLING, BILLING_CONFIG, approve, deliveries, drain
from support.bodies import entitlement

from connector import delivery
from connector.config import reconfigure
from connector.db import db
from connector.models import Delivery, utcnow


@pytest.fixture
def app_overrides():
    return BILLING_CONFIG


@responses.activate
def test_retry_after_is_honoured_then_dead_after_max_age_then_admin_retry(app, client, token_for, small):
    responses.post(BILLING, status=503, headers={"Retry-After": "120"})
    chair = token_for("reviewer", "licensing")
    with time_machine.travel(utcnow(), tick=False) as clock:
        approve(client, token_for, small, chair)
        drain(app)
        assert len(responses.calls) == 1
        clock.shift(60)
        drain(app)
        clock.shift(59)
        drain(app)
        assert len(responses.calls) == 1  # not before 120 s
        clock.shift(2)
        drain(app)
        assert len(responses.calls) == 2
        for _ in range(40):  # keep failing until the maximum age (24 h) passes
            clock.shift(3600)
            drain(app)
        assert deliveries(app)[-1][1] == "dead"
        calls = len(responses.calls)
        clock.shift(7200)
        drain(app)
        assert len(responses.calls) == calls  # dead stays dead
        responses.replace(responses.POST, BILLING, status=200)
        dead = client.get("/api/v1/deliveries?status=dead", headers=token_for("admin")).get_json()["items"][0]
        assert "503" in dead["last_error"]
        assert client.post(f"/api/v1/deliveries/{dead['id']}/retry", headers=token_for("admin")).status_code == 200
        drain(app)
        assert deliveries(app)[-1][1] == "delivered"


@responses.activate
def test_410_disables_billing_visibly_until_retried(app, client, token_for, small):
    responses.post(BILLING, status=410)
    chair = token_for("reviewer", "licensing")
    approve(client, token_for, small, chair)
    approve(client, token_for, small, chair)
    drain(app)
    assert len(responses.calls) == 1  # the second one waits behind the disabled target
    admin = token_for("admin")
    listing = client.get("/api/v1/deliveries", headers=admin).get_json()
    assert listing["targets"][0]["target"] == "billing" and listing["targets"][0]["status"] == "disabled"
    assert all(item["status"] == "pending" for item in listing["items"])
    responses.replace(responses.POST, BILLING, status=204)
    client.post(f"/api/v1/deliveries/{listing['items'][-1]['id']}/retry", headers=admin)
    drain(app)
    assert [d[1] for d in deliveries(app)] == ["delivered", "delivered"]


@responses.activate
def test_rejected_4xx_is_dead_and_a_newer_version_supersedes_an_unsent_one(app, client, token_for, small):
    responses.post(BILLING, status=400, body="unknown customer")
    chair = token_for("reviewer", "licensing")
    req = approve(client, token_for, small, chair)
    client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair,
                json={"rationale": "more", "entitlement": entitlement(grants={"seats": 110})})
    assert [d[:2] for d in deliveries(app)] == [("decided", "superseded"), ("amended", "pending")]
    drain(app)
    assert len(responses.calls) == 1 and json.loads(responses.calls[0].request.body)["version"] == 2
    assert deliveries(app)[-1][1] == "dead"


def test_backoff_has_full_jitter_and_grows():
    rng = random.Random(7)
    samples = [delivery.backoff_seconds(5, rng) for _ in range(200)]
    assert 0 <= min(samples) < 10 and max(samples) <= 80
    assert max(delivery.backoff_seconds(30, rng) for _ in range(50)) <= delivery.BACKOFF_CAP_SECONDS


@responses.activate
def test_a_retry_due_during_a_drain_is_sent_once_and_left_claimable(app, client, token_for, small, monkeypatch):
    """A full-jitter backoff can be near zero: the drain must not send that row twice, nor keep it leased."""
    responses.post(BILLING, status=503)
    monkeypatch.setattr(delivery, "backoff_seconds", lambda attempts, rng=None: 0.0)
    approve(client, token_for, small, token_for("reviewer", "licensing"))
    assert drain(app)["retry"] == 1
    assert len(responses.calls) == 1
    with app.app_context():
        (row,) = db.session.scalars(select(Delivery))
        assert row.status == "pending" and row.lease_until is None and row.attempts == 1
    responses.replace(responses.POST, BILLING, status=204)
    assert drain(app)["delivered"] == 1
    assert len(responses.calls) == 2


@responses.activate
def test_billing_is_called_with_no_database_lock_held(app, client, token_for, small):
    """While a webhook is in flight the worker holds no transaction: on SQLite, others can still write."""
    wrote: list[bool] = []

    def receive(request):
        def write() -> None:
            with app.app_context(), db.engine.begin() as connection:
                connection.execute(text("UPDATE deliveries SET last_error = NULL WHERE id = -1"))
            wrote.append(True)

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(5)
        return 204, {}, ""

    responses.add_callback(responses.POST, BILLING, callback=receive)
    approve(client, token_for, small, token_for("reviewer", "licensing"))
    assert drain(app)["delivered"] == 1
    assert wrote == [True], "another connection could write while billing was being called"


@responses.activate
def test_one_claim_leases_up_to_the_configured_batch_size(app, client, token_for, small):
    responses.post(BILLING, status=204)
    chair = token_for("reviewer", "licensing")
    for _ in range(5):
        approve(client, token_for, small, chair)
    reconfigure(app, CONNECTOR_DELIVERY_BATCH_SIZE=2)
    with app.app_context():
        assert len(delivery.claim()) == 2
        db.session.rollback()
    reconfigure(app, CONNECTOR_DELIVERY_BATCH_SIZE=1000)
    with app.app_context():
        assert len(delivery.claim()) == 3, "the two already leased stay with their worker"
