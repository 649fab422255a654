"""The Zendesk app end to end over real HTTP: the connector on loopback and the Zendesk sandbox; ``provision``
installs the ticket sidebar app (uploaded, built, installed with the connector's URL and a fresh token in its secure
setting); an agent flags a ticket the way the app's form does (fields and tag through a ticket update), the trigger's
webhook makes it a request, the chair decides, and the ticket's fields show the decision. All along, the app's status
calls go through the sandbox's secure-request proxy (``/proxy/apps/secure``, which substitutes the secure setting
``{{setting.token}}``, as ZAF's proxy does) and answer with the request's state; provisioning again rotates the token
the installation holds, and the app keeps reading."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from support.servers import serve

from adapters.zendesk.sandbox import ZendeskSandbox
from connector import worker
from connector.config import reconfigure
from mappings import ZENDESK_PLACEHOLDER_FIELDS

pytestmark = pytest.mark.e2e
OUTBOUND = ("governance_key", "governance_status", "decision", "entitlement_expires")


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_ALLOWED_INSTANCE_HOSTS": "127.0.0.1"}


@pytest.fixture
def sandbox():
    account = ZendeskSandbox(tickets=3, export_lag=0, job_polls_before_complete=1)
    account.serve()
    yield account
    account.shutdown()


def through_the_app(sandbox: ZendeskSandbox, installation_id: int, url: str) -> dict:
    """What the sidebar's ``client.request({secure: true, headers: {Authorization: 'Bearer {{setting.token}}'}})``
    gets back through Zendesk's proxy."""
    proxied = requests.post(f"{sandbox.base_url}/proxy/apps/secure", timeout=10, json={
        "installation_id": installation_id, "url": url, "type": "GET",
        "headers": {"Authorization": "Bearer {{setting.token}}"}})
    assert proxied.status_code == 200, proxied.text
    return proxied.json()


def test_provision_installs_the_app_and_its_status_follows_the_ticket_through_zendesks_proxy(app, token_for, sandbox):
    admin, chair = token_for("admin"), token_for("reviewer", "licensing")
    with serve(app) as base:
        reconfigure(app, CONNECTOR_BASE_URL=base)
        http = requests.Session()
        api = f"{base}/api/v1"
        inbound_ids = {n: i for n, i in sandbox.field_ids.items() if n in ZENDESK_PLACEHOLDER_FIELDS
                       and n not in OUTBOUND}
        created = http.post(f"{api}/connections", headers=admin, json={"name": "zd", "kind": "zendesk", "settings": {
            "subdomain": "sandbox", "base_url": sandbox.base_url, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "field_ids": inbound_ids, "export_requests_per_minute": 0}})
        assert created.status_code == 201, created.text
        to_zendesk = http.get(f"{api}/connections/zd/authorize", headers=admin, allow_redirects=False)
        back = http.get(to_zendesk.headers["Location"], allow_redirects=False)
        assert urlsplit(back.headers["Location"]).path == "/oauth/callback"
        assert http.get(back.headers["Location"]).json()["status"] == "connected"

        provisioned = http.post(f"{api}/connections/zd/provision", headers=admin)

        assert provisioned.status_code == 200, provisioned.text
        report = provisioned.json()
        assert report["app"]["action"] == "created" and report["installation"]["action"] == "created"
        [installation] = sandbox.apps.installations.values()
        app_id = report["app"]["id"]
        assert installation["id"] == report["installation"]["id"] and installation["app_id"] == app_id
        token = installation["settings"]["token"]
        assert installation["settings"]["connector_url"] == base and token.startswith("lec_")
        assert token not in provisioned.text
        assert sandbox.apps.apps[app_id].manifest["domainWhitelist"] == ["127.0.0.1"]
        listed = http.get(f"{api}/connections/zd", headers=admin).json()
        assert listed["settings"]["app_installation_id"] == installation["id"]

        start = date.today() + timedelta(days=7)
        ticket_id = sandbox.create_ticket("Initech needs 130 seats (licensed for 100)",
                                          "Could we get 30 more seats for a pilot team?", tags=())
        status_url = f"{base}/api/v1/sources/zendesk/zd/tickets/{ticket_id}/status"
        unflagged = through_the_app(sandbox, installation["id"], status_url)
        assert unflagged["status"] == 200 and unflagged["body"]["flagged"] is False
        assert unflagged["body"]["tag"] == "license_exception" and unflagged["body"]["form"]
        assert sandbox.apps.proxied[-1]["headers"] == {"Authorization": "***"}

        # The app's flag form: the custom fields and the tag, through a ticket update (which fires the trigger).
        sandbox.agent_edit(ticket_id, add_tags=["license_exception"], custom_fields={
            "category": "lec_category_seat_expansion", "requested_seats": "130", "baseline_seats": "100",
            "revenue_impact": "3600.00", "currency": "USD", "data_sensitivity": "lec_sensitivity_internal",
            "user_base": "30", "requested_start": start.isoformat(),
            "requested_end": (start + timedelta(days=60)).isoformat(),
            "justification": "Pilot before the renewal."})
        sandbox.flush_webhooks()
        assert [d.status for d in sandbox.webhook_deliveries if str(ticket_id) in d.body.decode()] == [200]
        worker.run_worker(app, once=True)
        found = http.get(f"{api}/requests?source=zendesk&limit=200", headers=admin).json()
        [req] = [r for r in found["items"] if r["external_id"] == str(ticket_id)]
        in_review = through_the_app(sandbox, installation["id"], status_url)["body"]
        assert in_review["flagged"] is True and in_review["key"] == req["key"]
        assert in_review["state"] == req["state"] == "in_review"

        decided = http.post(f"{api}/requests/{req['id']}/decision", headers=chair, json={
            "outcome": "approved", "rationale": "Pilot team; renewal planned.",
            "entitlement": {"grants": {"seats": 130}, "effective_from": start.isoformat(),
                            "expires_at": (start + timedelta(days=60)).isoformat(),
                            "conditions": ["pilot team only"], "renewal": {"mode": "manual", "notice_days": 14},
                            "success_metrics": ["30 paid seats at renewal"]}})
        assert decided.status_code == 201, decided.text
        worker.run_worker(app, once=True)

        assert sandbox.custom_field_value(ticket_id, "governance_status") == "approved"
        assert sandbox.custom_field_value(ticket_id, "governance_key") == req["key"]
        assert "license_exception_approved" in sandbox.ticket(ticket_id)["tags"]
        approved = through_the_app(sandbox, installation["id"], status_url)["body"]
        assert approved["state"] == "approved" and approved["decision"]["outcome"] == "approved"
        assert approved["boundaries"] and approved["expires_at"][:10] == (start + timedelta(days=60)).isoformat()

        again = http.post(f"{api}/connections/zd/provision", headers=admin)

        assert again.status_code == 200, again.text
        assert again.json()["app"]["action"] == "updated" and again.json()["installation"]["action"] == "updated"
        assert list(sandbox.apps.installations) == [installation["id"]] and list(sandbox.apps.apps) == [app_id]
        rotated = sandbox.apps.installations[installation["id"]]["settings"]["token"]
        assert rotated != token
        old = http.get(status_url, headers={"Authorization": f"Bearer {token}"})
        assert old.status_code == 401
        assert through_the_app(sandbox, installation["id"], status_url)["body"]["state"] == "approved"
