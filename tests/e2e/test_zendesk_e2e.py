"""Zendesk end to end over real HTTP: the app on loopback, the Zendesk sandbox, OAuth, provisioning, a 5,000-ticket
export, a signed webhook for a new ticket, a decision, and the write-back the agent sees on the ticket."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from support.servers import serve

from adapters.zendesk.sandbox import ZendeskSandbox
from connector import sync, worker
from connector.config import reconfigure
from connector.db import db
from connector.models import AuditEvent, Delivery, ExceptionRequest, InboundEvent
from mappings import ZENDESK_PLACEHOLDER_FIELDS

pytestmark = pytest.mark.e2e
TICKETS = 5000
OUTBOUND = ("governance_key", "governance_status", "decision", "entitlement_expires")


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_ALLOWED_INSTANCE_HOSTS": "127.0.0.1"}


@pytest.fixture
def sandbox():
    account = ZendeskSandbox(tickets=TICKETS, export_lag=0, job_polls_before_complete=0)
    account.serve()
    yield account
    account.shutdown()


def test_zendesk_from_oauth_to_the_reply_on_the_ticket(app, token_for, sandbox):
    admin, chair = token_for("admin"), token_for("reviewer", "licensing")
    timings: dict[str, float] = {}
    with serve(app) as base:
        reconfigure(app, CONNECTOR_BASE_URL=base)
        http = requests.Session()
        api = f"{base}/api/v1"
        inbound_ids = {n: i for n, i in sandbox.field_ids.items() if n in ZENDESK_PLACEHOLDER_FIELDS
                       and n not in OUTBOUND}
        r = http.post(f"{api}/connections", headers=admin, json={"name": "zd", "kind": "zendesk", "settings": {
            "subdomain": "sandbox", "base_url": sandbox.base_url, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "field_ids": inbound_ids}})
        assert r.status_code == 201, r.text

        # OAuth: the connector → Zendesk's consent page → back to /oauth/callback, as a browser would go.
        to_zendesk = http.get(f"{api}/connections/zd/authorize", headers=admin, allow_redirects=False)
        assert to_zendesk.status_code == 302 and to_zendesk.headers["Location"].startswith(sandbox.base_url)
        back = http.get(to_zendesk.headers["Location"], allow_redirects=False)
        assert back.status_code == 302 and urlsplit(back.headers["Location"]).path == "/oauth/callback"
        done = http.get(back.headers["Location"])
        assert done.status_code == 200 and done.json()["status"] == "connected"

        provisioned = http.post(f"{api}/connections/zd/provision", headers=admin)
        assert provisioned.status_code == 200, provisioned.text
        report = provisioned.json()
        assert report["fields"]["category"] == {"id": sandbox.field_ids["category"],
                                                "title": "License exception category", "action": "reused"}
        assert {field["action"] for field in report["fields"].values()} == {"reused"}
        assert report["webhook"]["endpoint"] == f"{base}/webhooks/zendesk/zd"

        started = time.perf_counter()
        counts = http.post(f"{api}/connections/zd/sync", headers=admin).json()
        timings["sync"] = time.perf_counter() - started
        flagged = sum(1 for i in sandbox.ticket_ids() if "license_exception" in sandbox.ticket(i)["tags"])
        assert counts["stopped"] is None and counts["pages"] == TICKETS // 1000
        assert counts["created"] == flagged and counts["fetched"] == flagged
        assert counts["detail"]["skipped_not_flagged"] == TICKETS - flagged
        assert counts["detail"]["total"] == TICKETS  # the sandbox's tickets/count: the progress bar ends at 100%

        start = date.today() + timedelta(days=7)
        ticket_id = sandbox.create_ticket(
            "Globex Analytics needs 140 seats (licensed for 100)",
            "A new analytics team joins before the renewal; could we get an exception for 40 more seats?",
            custom_fields={"category": "lec_category_seat_expansion", "requested_seats": "140",
                           "baseline_seats": "100", "revenue_impact": "4800.00", "currency": "USD",
                           "data_sensitivity": "lec_sensitivity_internal", "user_base": "40",
                           "requested_start": start.isoformat(),
                           "requested_end": (start + timedelta(days=60)).isoformat()})
        sandbox.flush_webhooks()
        [hook] = [d for d in sandbox.webhook_deliveries if str(ticket_id) in d.body.decode()]
        assert hook.status == 200 and hook.url == f"{base}/webhooks/zendesk/zd"
        with app.app_context():
            event = db.session.scalars(select(InboundEvent).where(InboundEvent.external_id == str(ticket_id))).one()
            assert event.status == "pending"

        # The backfill's write-back touches every flagged ticket; its thousands of trigger echoes are not what this
        # test looks at (the decision's echo below is), so the webhook is off meanwhile, as an admin could do.
        sandbox.set_webhook_status(report["webhook"]["id"], "inactive")
        started = time.perf_counter()
        worker.run_worker(app, once=True)  # processes the event, then sends the backfill's write-backs
        timings["worker"] = time.perf_counter() - started
        sandbox.set_webhook_status(report["webhook"]["id"], "active")
        found = http.get(f"{api}/requests?source=zendesk&state=in_review&limit=200", headers=admin).json()
        [req] = [r for r in found["items"] if r["external_id"] == str(ticket_id)]
        assert req["customer"]["name"] and req["track"] == "fast"

        decided = http.post(f"{api}/requests/{req['id']}/decision", headers=chair, json={
            "outcome": "approved", "rationale": "Pilot team; renewal planned.",
            "entitlement": {"grants": {"seats": 140}, "effective_from": start.isoformat(),
                            "expires_at": (start + timedelta(days=60)).isoformat(),
                            "conditions": ["analytics team only"], "renewal": {"mode": "manual", "notice_days": 14},
                            "success_metrics": ["40 paid seats at renewal"]}})
        assert decided.status_code == 201, decided.text
        sandbox.agent_edit(ticket_id, add_tags=["vip"])  # the agent works the ticket meanwhile (a webhook too)
        sandbox.flush_webhooks()
        sent_before = len(sandbox.webhook_deliveries)
        worker.run_worker(app, once=True)

        # The trigger fires on our own write-back too: Zendesk echoes it as webhooks naming the ticket. Processing
        # an echo fetches the ticket, whose mapped content is what the request already holds (same content hash):
        # no new version of the request, no request.* audit event, no new delivery (no write-back loop).
        sandbox.flush_webhooks(timeout=30)
        echoes = [d for d in sandbox.webhook_deliveries[sent_before:]
                  if json.loads(d.body)["ticket_id"] == str(ticket_id)]
        assert len(echoes) >= 2 and {d.status for d in echoes} == {200}  # the reply and the note: two updates
        before = _request_state(app, http, api, admin, req["id"])
        with app.app_context():
            pending = db.session.scalars(select(InboundEvent).where(InboundEvent.status == "pending")).all()
            # echoes signed in the same second carry the same signature: one is stored, the others are replays
            assert {e.external_id for e in pending} == {str(ticket_id)} and 1 <= len(pending) <= len(echoes)
            db.session.commit()
            # the ticket was fetched for a push earlier in this test: its echoes would wait a sync interval
            reconfigure(app, CONNECTOR_PUSH_REFETCH_SECONDS=0)
            assert sync.process_events(limit=1000) == {"processed": len(pending), "failed": 0}
            events = db.session.scalars(select(InboundEvent).where(InboundEvent.external_id == str(ticket_id))).all()
            assert {e.status for e in events} == {"processed"}
        assert _request_state(app, http, api, admin, req["id"]) == before

    ticket = sandbox.ticket(ticket_id)
    comments = sandbox.ticket_comments(ticket_id)
    decision = decided.json()["decision"]
    assert any(c["public"] and c["body"] == decision["customer_summary"] for c in comments)
    assert any(not c["public"] and c["body"] == decision["internal_note"] for c in comments)
    assert {"license_exception", "vip", "license_exception_approved"} <= set(ticket["tags"])
    assert "license_exception_in_review" not in ticket["tags"]
    assert sandbox.custom_field_value(ticket_id, "governance_status") == "approved"
    assert sandbox.custom_field_value(ticket_id, "governance_key") == req["key"]
    expires = next(f["value"] for f in ticket["custom_fields"]
                   if f["id"] == report["fields"]["entitlement_expires"]["id"])
    assert expires == (start + timedelta(days=60)).isoformat()
    backfilled = next(i for i in sandbox.ticket_ids() if "license_exception" in sandbox.ticket(i)["tags"])
    assert sandbox.custom_field_value(backfilled, "governance_key")  # the backfill's write-backs went out too
    print(f"zendesk e2e timings: {timings}")


def _request_state(app, http, api, admin, request_id):
    """What a change to the request would touch: its representation (fields, state, hash-derived versions,
    ``updated_at``), its ``request.*`` audit events and its deliveries."""
    view = http.get(f"{api}/requests/{request_id}", headers=admin)
    assert view.status_code == 200, view.text
    with app.app_context():
        req = db.session.scalars(select(ExceptionRequest).where(ExceptionRequest.id == request_id)).one()
        audit_events = db.session.scalars(select(AuditEvent.seq).where(
            AuditEvent.subject == f"request:{request_id}", AuditEvent.action.startswith("request."))).all()
        deliveries = db.session.scalars(select(Delivery.id).where(Delivery.request_pk == req.pk)).all()
        return {"view": view.json(), "content_hash": req.content_hash, "pending_change": req.pending_change,
                "audit": sorted(audit_events), "deliveries": sorted(deliveries)}
