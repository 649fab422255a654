"""A revocation scheduled for a later date survives amendments and renewals, and takes effect on that date."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from support.bodies import entitlement

from connector import operations
from connector.db import db
from connector.models import EntitlementBoundary


@pytest.fixture
def chair(token_for):
    return token_for("reviewer", "licensing", name="licensing-chair")


def approved(client, token_for, chair, small):
    req = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement(days=90)})
    assert r.status_code == 201, r.get_json()
    return req


def run_expiry(app, day: date) -> dict[str, int]:
    with app.app_context():
        counts = operations.run_expiry(datetime.combine(day, datetime.min.time()))
        db.session.commit()
        return counts


@pytest.mark.parametrize("change", ["amend", "renew"])
def test_a_scheduled_revocation_survives_an_amendment_or_renewal(app, client, token_for, chair, small, change):
    req = approved(client, token_for, chair, small)
    effective = date.today() + timedelta(days=10)
    r = client.post(f"/api/v1/requests/{req['id']}/revoke", headers=chair,
                    json={"reason": "Customer breached the conditions", "effective": effective.isoformat()})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["entitlement"]["revoke_effective"] == effective.isoformat()
    if change == "amend":
        body = {"rationale": "Two more seats", "entitlement": entitlement(days=90, grants={"seats": 107})}
    else:
        body = {"rationale": "Pilot extended", "expires_at": (date.today() + timedelta(days=200)).isoformat()}
    r = client.post(f"/api/v1/requests/{req['id']}/{change}", headers=chair, json=body)
    assert r.status_code == 201, r.get_json()
    changed = r.get_json()["entitlement"]
    assert changed["version"] == 2 and changed["revoke_effective"] == effective.isoformat()
    history = client.get(f"/api/v1/requests/{req['id']}/history", headers=chair).get_json()["items"]
    assert history[-1]["data"]["revocation_scheduled"] == effective.isoformat()

    assert run_expiry(app, effective - timedelta(days=1))["revoked"] == 0
    assert run_expiry(app, effective)["revoked"] == 1
    view = client.get(f"/api/v1/requests/{req['id']}", headers=chair).get_json()
    assert view["state"] == "revoked"
    assert view["entitlement"]["version"] == 3 and view["entitlement"]["status"] == "revoked"
    with app.app_context():
        final = db.session.scalar(select(EntitlementBoundary).where(EntitlementBoundary.version == 3))
        assert final is not None and final.rationale == "Customer breached the conditions"  # the scheduled reason
    if change == "amend":
        assert view["entitlement"]["grants"] == {"seats": 107}  # the boundaries in force when it ended


def test_the_reason_recorded_is_the_one_given_last_for_that_date(app, client, token_for, chair, small):
    req = approved(client, token_for, chair, small)
    effective = (date.today() + timedelta(days=10)).isoformat()
    client.post(f"/api/v1/requests/{req['id']}/revoke", headers=chair, json={"reason": "R1", "effective": effective})
    client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair, json={
        "rationale": "Two more seats", "entitlement": entitlement(days=90, grants={"seats": 107})})
    r = client.post(f"/api/v1/requests/{req['id']}/revoke", headers=chair,
                    json={"reason": "R2: the breach, reworded", "effective": effective})
    assert r.status_code == 201, r.get_json()
    assert run_expiry(app, date.fromisoformat(effective))["revoked"] == 1
    with app.app_context():
        final = db.session.scalar(select(EntitlementBoundary).where(EntitlementBoundary.status == "revoked"))
        assert final is not None and final.rationale == "R2: the breach, reworded"
