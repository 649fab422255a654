"""Zendesk webhooks: verified (constant time, ±5 min), stored before the 200, de-duplicated, then fetched."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from connector import sync
from connector.config import reconfigure
from connector.db import db
from connector.models import AuditEvent, InboundEvent


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(InboundEvent)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


def process(app):
    with app.app_context():
        return sync.process_events()


def test_a_forged_or_stale_webhook_is_refused_and_nothing_is_stored(connected, app):
    zd = connected
    before, calls = counts(app), len(zd.http.calls)
    body = json.dumps({"ticket_id": "1001"}).encode()

    forged = zd.webhook(body, secret="not-the-signing-secret")
    stale = zd.webhook(body, at=time.time() - 6 * 60)
    future = zd.webhook(body, at=time.time() + 6 * 60, invocation="8350000002")
    unsigned = zd.client.post("/webhooks/zendesk/zd", data=body, headers={"Content-Type": "application/json"})
    tampered_headers = zd.signed_headers(body)
    tampered = zd.client.post("/webhooks/zendesk/zd", data=json.dumps({"ticket_id": "1002"}),
                              headers=tampered_headers)

    assert [r.status_code for r in (forged, stale, future, unsigned, tampered)] == [401] * 5
    assert forged.get_json()["code"] == "bad_signature" and stale.get_json()["code"] == "stale_timestamp"
    assert unsigned.get_json()["code"] == "missing_signature"
    assert counts(app) == before
    assert len(zd.http.calls) == calls


def test_a_signed_trigger_webhook_is_stored_answered_then_processed_into_a_request(connected, app):
    zd = connected
    zd.http.get(f"{zd.BASE}/api/v2/tickets/1001.json",
                json={"ticket": zd.ticket(1001), "users": [zd.REQUESTER], "organizations": [zd.ORGANIZATION]})

    calls = len(zd.http.calls)
    r = zd.webhook({"ticket_id": "1001"})

    assert r.status_code == 200 and r.get_json() == {"status": "stored", "ticket_id": "1001"}
    assert len(zd.http.calls) == calls  # acknowledged once stored; the ticket is fetched by the worker
    with app.app_context():
        assert db.session.scalar(select(InboundEvent.status)) == "pending"
    assert process(app) == {"processed": 1, "failed": 0}
    with app.app_context():  # the push is audited as the worker processes it, not on the acknowledging path
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(2)).all()
        assert [e.action for e in reversed(last)] == ["request.created", "webhook.processed"]
        assert last[0].subject == "connection:zd"
        assert last[0].data["external_id"] == "1001" and last[0].data["records"] == 1
        assert last[0].data["event_key"] and last[0].data["received_at"]
    [req] = zd.requests()
    assert req["external_id"] == "1001" and req["state"] == "in_review"
    assert req["customer"]["name"] == "Northwind Analytics"
    assert req["external_url"] == f"{zd.BASE}/agent/tickets/1001"
    assert zd.http.calls[-1].request.params == {"include": "users,organizations"}


def test_a_duplicate_delivery_is_acknowledged_and_ignored(connected, app):
    zd = connected
    body = json.dumps({"ticket_id": "1001"}).encode()
    now = time.time()
    first = zd.webhook(body, invocation="8350000077", at=now - 20)
    retried = zd.webhook(body, invocation="8350000077", at=now - 10)  # Zendesk's retry, signed anew
    replayed = zd.webhook(body, invocation="8350000078", at=now - 20)  # the first request with a new invocation id
    headers = zd.signed_headers(body, invocation=None, at=now)
    plain = [zd.client.post("/webhooks/zendesk/zd", data=body, headers=headers) for _ in range(2)]

    assert [r.get_json()["status"] for r in (first, retried, replayed, *plain)] == [
        "stored", "duplicate", "duplicate", "stored", "duplicate"]
    assert all(r.status_code == 200 for r in (first, retried, replayed, *plain))
    assert counts(app)[0] == 2


def test_event_subscriptions_are_accepted_and_an_unflagged_ticket_is_skipped(connected, app):
    zd = connected
    zd.http.get(f"{zd.BASE}/api/v2/tickets/2001.json",
                json={"ticket": zd.ticket(2001, tags=("billing",)), "users": [zd.REQUESTER],
                      "organizations": [zd.ORGANIZATION]})
    event = {"type": "zen:event-type:ticket.tags_changed", "account_id": 12345678,
             "id": "01HQ9A7B1C2D3E4F5G6H7J8K9M", "time": "2026-11-20T10:30:00Z", "zendesk_event_version": "2022-11-06",
             "subject": "zen:ticket:2001", "detail": {"id": "2001", "status": "OPEN"},
             "event": {"tags": {"added": ["billing"], "removed": []}}}

    assert zd.webhook(event).status_code == 200
    assert zd.webhook({"type": "zen:event-type:user.created", "detail": {"id": "5"}}).status_code == 400
    assert process(app) == {"processed": 1, "failed": 0}
    assert zd.requests() == []


def test_a_ticket_deleted_before_the_event_is_processed_withdraws_its_request(connected, app):
    zd = connected
    reconfigure(app, CONNECTOR_PUSH_REFETCH_SECONDS=0)  # a ticket fetched lately is fetched again at once
    zd.http.get(f"{zd.BASE}/api/v2/tickets/1001.json",
                json={"ticket": zd.ticket(1001), "users": [zd.REQUESTER], "organizations": [zd.ORGANIZATION]})
    zd.webhook({"ticket_id": "1001"}, invocation="1")
    process(app)
    zd.http.replace("GET", f"{zd.BASE}/api/v2/tickets/1001.json", status=404,
                    json={"error": "RecordNotFound", "description": "Not found"})

    zd.webhook({"ticket_id": "1001"}, invocation="2", at=time.time() - 30)  # signed at another moment
    assert process(app) == {"processed": 1, "failed": 0}

    [req] = zd.requests()
    assert req["state"] == "withdrawn"


def test_a_connection_without_a_signing_secret_refuses_webhooks(zd, app):
    zd.create("zd-new", webhook_secret=None)
    r = zd.webhook({"ticket_id": "1"}, name="zd-new")
    assert r.status_code == 401 and r.get_json()["code"] == "webhook_not_configured"
    assert counts(app)[0] == 0


def test_an_event_the_worker_gives_up_on_is_audited(connected, app):
    zd = connected
    assert zd.webhook({"ticket_id": "1001"}, invocation="8350000099").status_code == 200
    with app.app_context():
        event_id = db.session.scalar(select(InboundEvent.id))
        sync._event_failed(event_id, "ticket fetch failed: 503", max_attempts=1)
        event = db.session.get(InboundEvent, event_id)
        assert event.status == "failed"
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (last.action, last.subject) == ("webhook.failed", "connection:zd")
        assert last.data["event_key"] and last.data["error"] == "ticket fetch failed: 503"


def test_pending_webhooks_about_several_tickets_are_fetched_with_one_show_many(connected, app):
    zd = connected
    many = zd.http.get(f"{zd.BASE}/api/v2/tickets/show_many.json",
                       json={"tickets": [zd.ticket(1001), zd.ticket(1003, tags=("billing",))],
                             "users": [zd.REQUESTER], "organizations": [zd.ORGANIZATION]})
    now = time.time()
    for n, ticket_id in enumerate(("1001", "1002", "1003", "1001")):  # 1002 is gone; 1001 twice
        assert zd.webhook({"ticket_id": ticket_id}, invocation=f"83500010{n}", at=now - n).status_code == 200

    assert process(app) == {"processed": 4, "failed": 0}

    [call] = many.calls
    assert call.request.params == {"ids": "1001,1002,1003", "include": "users,organizations"}
    assert [r["external_id"] for r in zd.requests()] == ["1001"]  # 1003 is not flagged, 1002 no longer exists
    with app.app_context():
        processed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.processed")).all()
        assert sorted((e.data["external_id"], e.data["events"]) for e in processed) == [
            ("1001", 2), ("1002", 1), ("1003", 1)]
