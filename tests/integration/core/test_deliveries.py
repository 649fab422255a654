"""Deliveries to billing: signatures, the terms feed, retries, Retry-After, maximum age, 410, supersession."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import responses
import time_machine
from sqlalchemy import select, text
from standardwebhooks import Webhook
from support.bodies import entitlement

from connector import delivery
from connector.db import db
from connector.models import Delivery, utcnow

BILLING = "https://billing.example/hooks/license-terms"
SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_BILLING_WEBHOOK_URL": BILLING, "CONNECTOR_BILLING_WEBHOOK_SECRET": SECRET}


def approve(client, token_for, small, chair):
    req = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()})
    assert r.status_code == 201
    return r.get_json()


def drain(app):
    with app.app_context():
        return delivery.drain()


def deliveries(app):
    with app.app_context():
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id))
        return [(d.change, d.status, d.attempts, d.target) for d in rows]


@responses.activate
def test_approval_reaches_billing_signed_and_feed_shows_approval_then_revocation(app, client, token_for, small):
    responses.post(BILLING, status=204)
    chair = token_for("reviewer", "licensing")
    req = approve(client, token_for, small, chair)
    assert drain(app)["delivered"] == 1
    call = responses.calls[0].request
    payload = Webhook(SECRET).verify(call.body, dict(call.headers))
    assert payload["exception_id"] == req["id"] and payload["version"] == 1 and payload["status"] == "active"
    assert set(payload) >= {"exception_id", "key", "version", "status", "customer", "grants", "effective_from",
                            "expires_at", "conditions", "supersedes"}
    assert payload["grants"] == {"seats": 105} and payload["customer"]["name"] == "Acme GmbH"
    client.post(f"/api/v1/requests/{req['id']}/revoke", headers=chair, json={"reason": "breach"})
    drain(app)
    revoked = json.loads(responses.calls[1].request.body)
    assert revoked["status"] == "revoked" and revoked["version"] == 2 and revoked["supersedes"] == 1
    billing = token_for("billing")
    feed = client.get("/api/v1/billing/terms", headers=billing).get_json()
    assert [(i["key"], i["version"], i["status"]) for i in feed["items"]] == [(req["key"], 1, "active"),
                                                                          (req["key"], 2, "revoked")]
    assert client.get(f"/api/v1/billing/terms?after={feed['cursor']}", headers=billing).get_json()["items"] == []
    assert client.get("/api/v1/billing/terms", headers=chair).status_code == 403
    listed = client.get("/api/v1/deliveries?status=delivered", headers=token_for("admin")).get_json()["items"]
    assert len(listed) == 2 and listed[0]["change"] == "revoked"


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
    import random

    rng = random.Random(7)
    samples = [delivery.backoff_seconds(5, rng) for _ in range(200)]
    assert 0 <= min(samples) < 10 and max(samples) <= 80
    assert max(delivery.backoff_seconds(30, rng) for _ in range(50)) <= delivery.BACKOFF_CAP_SECONDS


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
        from connector import operations

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
    app.config["CONNECTOR_DELIVERY_BATCH_SIZE"] = 2
    with app.app_context():
        assert len(delivery.claim()) == 2
        db.session.rollback()
    app.config["CONNECTOR_DELIVERY_BATCH_SIZE"] = 1000
    with app.app_context():
        assert len(delivery.claim()) == 3, "the two already leased stay with their worker"
