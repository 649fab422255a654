"""A Salesforce record is set to the request's current state: the newest unsent write-back replaces older ones,
decisions included (Zendesk, told each decision in words, keeps them: tests/integration/zendesk_connector)."""

from __future__ import annotations

from datetime import date, timedelta

from integration.salesforce_connector.mock_org import MockOrg, record_id, requests_of, sf_record, sync
from sqlalchemy import select

from connector import delivery
from connector.db import db
from connector.models import Delivery

ROLES = ("licensing", "legal", "product", "sales", "security")


def test_unsent_decision_write_backs_are_superseded_by_the_newest(client, admin, org: MockOrg, connected, app,
                                                                   token_for) -> None:
    org.add(sf_record(1))
    sync(client, admin)
    committee = {role: token_for("reviewer", role, name=f"sf-{role}") for role in ROLES}
    chair = committee["licensing"]
    target = requests_of(client, admin)[0]
    for role in ROLES:
        client.post(f"/api/v1/requests/{target['id']}/votes", headers=committee[role],
                    json={"role": role, "vote": "approve", "rationale": "fine"})
    boundaries = {"grants": {"seats": 105}, "expires_at": (date.today() + timedelta(days=90)).isoformat()}
    assert client.post(f"/api/v1/requests/{target['id']}/decision", headers=chair, json={
        "outcome": "approved", "rationale": "ok", "entitlement": boundaries}).status_code == 201
    for seats in (106, 107):
        assert client.post(f"/api/v1/requests/{target['id']}/amend", headers=chair, json={
            "rationale": "more", "entitlement": {**boundaries, "grants": {"seats": seats}}}).status_code == 201
    renewed = (date.today() + timedelta(days=200)).isoformat()
    assert client.post(f"/api/v1/requests/{target['id']}/renew", headers=chair,
                       json={"rationale": "longer", "expires_at": renewed}).status_code == 201
    with app.app_context():
        statuses = [(d.change, d.status) for d in db.session.scalars(
            select(Delivery).where(Delivery.target.like("connection:%")).order_by(Delivery.id))]
    assert statuses == [("created", "superseded"), ("decided", "superseded"), ("amended", "superseded"),
                        ("amended", "superseded"), ("renewed", "pending")]
    with app.app_context():
        assert delivery.drain()["delivered"] == 1
    assert org.calls["collections"] == 1
    written = org.records[record_id(1)]
    assert written["Entitlement_Expires__c"] == renewed and "107" in written["Granted_Boundaries__c"]
