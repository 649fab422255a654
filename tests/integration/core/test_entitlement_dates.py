"""An approval or amendment must grant something still in force: boundaries that ended are refused."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from support.bodies import entitlement

from connector.db import db
from connector.models import Delivery, EntitlementBoundary


def test_an_approval_that_has_already_expired_is_refused_and_nothing_is_sent(app, client, token_for, small):
    req = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    chair = token_for("reviewer", "licensing")
    today = date.today()
    for effective_from, expires_at in ((today - timedelta(days=60), today - timedelta(days=1)),
                                       (today - timedelta(days=30), today)):
        r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json={
            "outcome": "approved", "rationale": "ok",
            "entitlement": entitlement(effective_from=effective_from.isoformat(), expires_at=expires_at.isoformat())})
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["code"] == "already_expired"
        assert list(r.get_json()["details"]["fields"]) == ["entitlement.expires_at"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EntitlementBoundary)) == 0
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.change == "decided")) == 0
    backdated = entitlement(effective_from=(today - timedelta(days=5)).isoformat(),
                            expires_at=(today + timedelta(days=30)).isoformat())
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": backdated})
    assert r.status_code == 201, r.get_json()  # starting in the past is fine while it is still in force
    r = client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair, json={
        "rationale": "end it", "entitlement": entitlement(effective_from=(today - timedelta(days=5)).isoformat(),
                                                          expires_at=today.isoformat())})
    assert r.status_code == 422 and r.get_json()["code"] == "already_expired"
