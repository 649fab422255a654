"""The billing sender: approved terms reach billing as signed Standard Webhooks, and the terms feed shows them."""

from __future__ import annotations

import json

import pytest
import responses
from standardwebhooks import Webhook
from support.billing import BILLING, BILLING_CONFIG, SECRET, approve, drain


@pytest.fixture
def app_overrides():
    return BILLING_CONFIG


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
