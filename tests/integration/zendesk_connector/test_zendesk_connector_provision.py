"""``POST /connections/<name>/provision``: ticket fields, the webhook and its trigger, created once, then reused."""

from __future__ import annotations

import json

import responses
from integration.zendesk_connector.mock_account import BASE, NEW_SECRET, Account
from sqlalchemy import select

from connector.db import db
from connector.models import AuditEvent
from mappings import ZENDESK_PLACEHOLDER_FIELDS


def test_provisioning_creates_what_is_missing_stores_ids_and_secret_and_is_idempotent(zd, app):
    zd.create(field_ids=None, webhook_secret=None)
    zd.authorize()
    account = Account(zd.http)

    r = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["fields"]["requested_seats"] == {"id": 360011000001, "title": "requested seats", "action": "reused"}
    assert body["fields"]["category"]["id"] == 360011000002  # carries our option tags: Zendesk forbids twins
    created = [spec for kind, spec in account.posts if kind == "field"]
    assert len(created) == len(ZENDESK_PLACEHOLDER_FIELDS) - 2
    sensitivity = next(s for s in created if s["title"] == "Data sensitivity")
    assert sensitivity["type"] == "tagger"
    assert {o["value"] for o in sensitivity["custom_field_options"]} == {
        "lec_sensitivity_public", "lec_sensitivity_internal", "lec_sensitivity_confidential",
        "lec_sensitivity_regulated"}
    [(_, webhook)] = [p for p in account.posts if p[0] == "webhook"]
    assert webhook["endpoint"] == "http://connector.test/webhooks/zendesk/zd"
    assert webhook["request_format"] == "json" and webhook["http_method"] == "POST"
    [(_, trigger)] = [p for p in account.posts if p[0] == "trigger"]
    assert {"field": "current_tags", "operator": "includes", "value": "license_exception"} in \
        trigger["conditions"]["all"]
    assert trigger["actions"] == [{"field": "notification_webhook",
                                   "value": ["01HQ8ZK2V3XW9Y7R4M5N6P7Q8R", '{"ticket_id": "{{ticket.id}}"}']}]
    assert NEW_SECRET not in r.get_data(as_text=True)

    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert set(view["settings"]["field_ids"]) == set(ZENDESK_PLACEHOLDER_FIELDS)
    assert "webhook_secret" in view["secrets_set"] and NEW_SECRET not in json.dumps(view)
    mapping = zd.client.get("/api/v1/connections/zd/mapping", headers=zd.admin).get_json()
    assert mapping["version"] == 1  # placeholders resolve from field_ids; the admin's mapping is untouched
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "connection.provisioned")).one()
        assert event.data["secrets_changed"] == ["webhook_secret"] and NEW_SECRET not in json.dumps(event.data)

    signed = zd.webhook({"ticket_id": "1001"}, secret=NEW_SECRET)
    assert signed.status_code == 200  # the stored secret verifies Zendesk's signatures

    again = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert again.status_code == 200
    assert len(account.posts) == len(created) + 2  # nothing new
    summary = again.get_json()
    assert {f["action"] for f in summary["fields"].values()} == {"reused"}
    assert summary["webhook"]["action"] == "reused" and summary["triggers"][0]["action"] == "reused"
    assert summary["settings"]["field_ids"] == view["settings"]["field_ids"]


def test_provisioning_needs_an_authorized_connection_and_reports_zendesk_refusals(zd):
    zd.create(field_ids=None)
    refused = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_authorized"

    zd.authorize()
    zd.http.get(f"{BASE}/api/v2/ticket_fields.json", status=403,
                json={"error": "Forbidden", "description": "You do not have access to this page."})
    forbidden = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)
    assert forbidden.status_code == 409 and forbidden.get_json()["code"] == "provisioning_failed"
    assert "Forbidden" in forbidden.get_json()["message"]
    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert "field_ids" not in view["settings"]


def test_a_ticket_form_selects_tickets_too_and_gets_its_own_trigger(zd):
    zd.create(ticket_form_id=360000200077)
    zd.authorize()
    by_form = zd.ticket(1007, tags=("vip",))
    by_form["ticket_form_id"] = 360000200077
    zd.http.get(zd.EXPORT, json=zd.export_body([by_form, zd.ticket(1008, tags=("billing",))], "c1", True))
    assert zd.sync()["created"] == 1 and [r["external_id"] for r in zd.requests()] == ["1007"]
    account = Account(zd.http)

    assert zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin).status_code == 200

    triggers = [spec for kind, spec in account.posts if kind == "trigger"]
    assert [t["conditions"]["all"] for t in triggers] == [
        [{"field": "current_tags", "operator": "includes", "value": "license_exception"}],
        [{"field": "ticket_form_id", "operator": "is", "value": "360000200077"}]]
    assert all(t["actions"][0]["value"][1] == '{"ticket_id": "{{ticket.id}}"}' for t in triggers)


def test_a_next_link_to_another_host_is_not_followed_and_the_admin_is_told_which(zd):
    zd.create(field_ids=None)
    zd.authorize()
    Account(zd.http)
    zd.http.replace(responses.GET, f"{BASE}/api/v2/webhooks", json={
        "webhooks": [], "meta": {"has_more": True, "after_cursor": "x"},
        "links": {"next": "https://hooks.attacker.example/api/v2/webhooks?page[after]=x", "prev": None}})
    stolen = zd.http.get("https://hooks.attacker.example/api/v2/webhooks", json={"webhooks": []})

    r = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert r.status_code == 409 and r.get_json()["code"] == "provisioning_failed"
    assert "hooks.attacker.example" in r.get_json()["message"]
    assert not stolen.calls
    assert all(c.request.url.startswith(BASE) for c in zd.http.calls)
