"""Votes, decisions, entitlement boundaries and the lifecycle through the HTTP API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from support.bodies import entitlement

ROLES = ("licensing", "legal", "product", "sales", "security")


@pytest.fixture
def committee(token_for):
    return {role: token_for("reviewer", role, name=f"{role}-reviewer") for role in ROLES}


def create(client, token_for, body):
    r = client.post("/api/v1/requests", json=body, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def vote(client, headers, req, role, choice="approve", rationale="ok"):
    return client.post(f"/api/v1/requests/{req['id']}/votes", headers=headers,
                       json={"role": role, "vote": choice, "rationale": rationale})


def decide(client, headers, req, outcome="approved", ent=None, rationale="Fits our policy"):
    body = {"outcome": outcome, "rationale": rationale}
    if ent is not None:
        body["entitlement"] = ent
    return client.post(f"/api/v1/requests/{req['id']}/decision", headers=headers, json=body)


def test_chair_alone_decides_fast_track_with_summary_and_note(client, token_for, committee, small):
    req = create(client, token_for, small)
    ent = entitlement(days=90)
    r = decide(client, committee["licensing"], req, ent=ent)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["state"] == "approved"
    assert body["entitlement"]["version"] == 1
    assert body["entitlement"]["expires_at"] == ent["expires_at"]
    summary = body["decision"]["customer_summary"]
    assert ent["expires_at"] in summary
    assert "Acme GmbH" in summary and "seats: 105" in summary
    note = body["decision"]["internal_note"]
    assert req["key"] in note and "APPROVED" in note and "license-governance@example.com" in note


def test_only_the_chair_decides(client, token_for, committee, small):
    req = create(client, token_for, small)
    r = decide(client, committee["legal"], req, ent=entitlement())
    assert r.status_code == 403
    assert r.get_json()["code"] == "chair_only"


def test_standard_track_needs_every_required_roles_latest_approve(client, token_for, committee, large):
    req = create(client, token_for, large)
    ent = {"grants": {"usage_rights": ["oem"], "regions": ["EMEA"]}, "expires_at": (
        date.today() + timedelta(days=365)).isoformat(), "conditions": ["Quarterly usage report"]}
    for role in ("licensing", "legal", "product", "sales"):
        assert vote(client, committee[role], req, role).status_code == 201
    r = decide(client, committee["licensing"], req, "approved_with_conditions", ent)
    assert r.status_code == 409
    assert r.get_json()["details"]["missing_roles"] == ["security"]
    # a later reject replaces an earlier approve
    vote(client, committee["security"], req, "security")
    vote(client, committee["legal"], req, "legal", "reject", "Indemnity not acceptable")
    r = decide(client, committee["licensing"], req, "approved_with_conditions", ent)
    assert r.status_code == 409 and r.get_json()["details"]["missing_roles"] == ["legal"]
    vote(client, committee["legal"], req, "legal", "approve", "Indemnity capped")
    r = decide(client, committee["licensing"], req, "approved_with_conditions", ent)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["state"] == "approved"


def test_vote_rules(client, token_for, committee, small):
    req = create(client, token_for, small)
    assert vote(client, committee["legal"], req, "security").status_code == 403
    r = vote(client, committee["legal"], req, "legal", "reject", "")
    assert r.status_code == 422 and "rationale" in r.get_json()["details"]["fields"]
    assert vote(client, token_for("intake"), req, "legal").status_code == 403
    bad = client.post(f"/api/v1/requests/{req['id']}/votes", headers=committee["legal"], json={"role": "legal"})
    assert bad.status_code == 422 and "vote" in bad.get_json()["details"]["fields"]


def test_request_info_sets_needs_info_until_the_record_changes(client, token_for, committee, small):
    small["external_id"] = "CRM-9"
    req = create(client, token_for, small)
    r = vote(client, committee["legal"], req, "legal", "request_info", "Which regions exactly?")
    body = r.get_json()
    assert body["state"] == "needs_info"
    assert body["info_request"]["question"] == "Which regions exactly?"
    assert decide(client, committee["licensing"], req, ent=entitlement()).status_code == 409
    small["requested_terms"]["regions"] = ["EMEA"]
    again = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    assert again["state"] == "in_review" and again["info_request"] is None


def test_expiry_is_mandatory_and_within_policy_maximum(client, token_for, committee, small):
    req = create(client, token_for, small)
    ent = entitlement()
    del ent["expires_at"]
    r = decide(client, committee["licensing"], req, ent=ent)
    assert r.status_code == 422
    assert "entitlement.expires_at" in r.get_json()["details"]["fields"]
    r = decide(client, committee["licensing"], req, ent=entitlement(days=731))
    assert r.status_code == 422
    assert r.get_json()["code"] == "exceeds_max_duration"
    r = decide(client, committee["licensing"], req)
    assert r.status_code == 422 and r.get_json()["code"] == "entitlement_required"
    r = decide(client, committee["licensing"], req, "approved_with_conditions", entitlement())
    assert r.status_code == 422 and r.get_json()["code"] == "conditions_required"
    assert client.get(f"/api/v1/requests/{req['id']}", headers=committee["legal"]).get_json()["state"] == "in_review"


def test_denial_needs_no_boundaries(client, token_for, committee, small):
    req = create(client, token_for, small)
    r = decide(client, committee["licensing"], req, "denied", {"grants": {"seats": "x"}}, rationale="No")
    assert r.status_code == 422 and r.get_json()["code"] == "entitlement_on_denial"
    assert "entitlement" in r.get_json()["details"]["fields"]
    r = decide(client, committee["licensing"], req, "denied", rationale="Seats must be bought")
    assert r.status_code == 201
    body = r.get_json()
    assert body["state"] == "denied" and body["entitlement"] is None
    assert "declined" in body["decision"]["customer_summary"]


def test_amend_renew_revoke(client, token_for, committee, small):
    req = create(client, token_for, small)
    chair = committee["licensing"]
    decide(client, chair, req, ent=entitlement(days=90))
    amended = client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair, json={
        "rationale": "Two more seats", "entitlement": entitlement(days=90, grants={"seats": 107})}).get_json()
    assert amended["entitlement"]["version"] == 2
    assert amended["entitlement"]["supersedes"] == 1
    assert amended["entitlement"]["grants"] == {"seats": 107}
    new_expiry = (date.today() + timedelta(days=200)).isoformat()
    renewed = client.post(f"/api/v1/requests/{req['id']}/renew", headers=chair,
                          json={"rationale": "Pilot extended", "expires_at": new_expiry}).get_json()
    assert renewed["entitlement"]["version"] == 3 and renewed["entitlement"]["expires_at"] == new_expiry
    assert renewed["entitlement"]["grants"] == {"seats": 107}
    too_long = client.post(f"/api/v1/requests/{req['id']}/renew", headers=chair, json={
        "rationale": "x", "expires_at": (date.today() + timedelta(days=900)).isoformat()})
    assert too_long.status_code == 422
    revoked = client.post(f"/api/v1/requests/{req['id']}/revoke", headers=chair,
                          json={"reason": "Customer breached the conditions"}).get_json()
    assert revoked["state"] == "revoked"
    assert revoked["entitlement"]["status"] == "revoked" and revoked["entitlement"]["version"] == 4
    again = client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair,
                        json={"rationale": "x", "entitlement": entitlement()})
    assert again.status_code == 409 and again.get_json()["code"] == "cannot_amend"


def test_dispute_reopens_review_and_counts(client, token_for, committee, small):
    req = create(client, token_for, small)
    chair = committee["licensing"]
    decide(client, chair, req, "denied", rationale="No")
    r = client.post(f"/api/v1/requests/{req['id']}/disputes", headers=token_for("intake"),
                    json={"reason": "The customer already paid for the seats"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["state"] == "in_review" and body["disputes"] == 1 and body["review_round"] == 2
    assert decide(client, chair, req, ent=entitlement()).status_code == 201
    metrics = client.get("/api/v1/metrics/governance", headers=token_for("auditor")).get_json()
    assert metrics["dispute_rate"] == 1.0
    history = client.get(f"/api/v1/requests/{req['id']}/history", headers=chair).get_json()["items"]
    assert [e["action"] for e in history] == ["request.created", "decision.recorded", "request.disputed",
                                              "decision.recorded"]


def test_withdraw(client, token_for, small):
    req = create(client, token_for, small)
    r = client.post(f"/api/v1/requests/{req['id']}/withdraw", headers=token_for("intake"),
                    json={"reason": "Customer changed plans"})
    assert r.get_json()["state"] == "withdrawn"
    assert client.post(f"/api/v1/requests/{req['id']}/withdraw", headers=token_for("intake"),
                       json={"reason": "again"}).status_code == 409


def test_risk_override_is_explained(client, token_for, committee, small):
    req = create(client, token_for, small)
    r = client.post(f"/api/v1/requests/{req['id']}/risk-overrides", headers=committee["security"],
                    json={"dimension": "technical", "value": 5, "rationale": "Runs in air-gapped plants"})
    body = r.get_json()
    assert body["risk"]["dimensions"]["technical"] == 5
    assert any("air-gapped" in line["because"] for line in body["risk"]["explanation"])


def test_precedents_most_similar_first(client, token_for, committee, small, large):
    chair = committee["licensing"]
    near = create(client, token_for, small)
    decide(client, chair, near, ent=entitlement())
    other = dict(small, category="feature_access", requested_terms={"features": ["beta"]},
                 customer={"name": "Other", "segment": "SMB"}, revenue_impact={"amount": "90000", "currency": "USD"})
    far = create(client, token_for, other)
    decide(client, chair, far, "denied", rationale="Beta is closed")
    undecided = create(client, token_for, large)
    target = create(client, token_for, small)
    items = client.get(f"/api/v1/requests/{target['id']}/precedents", headers=chair).get_json()["items"]
    ids = [p["id"] for p in items]
    assert ids[0] == near["id"]
    assert undecided["id"] not in ids and target["id"] not in ids
    assert items[0]["outcome"] == "approved" and "same category" in items[0]["reasons"]


def test_metrics_and_summary(client, token_for, committee, small, large):
    chair = committee["licensing"]
    a = create(client, token_for, small)
    decide(client, chair, a, ent=entitlement())
    b = create(client, token_for, small)
    decide(client, chair, b, "denied", rationale="No")
    create(client, token_for, large)
    create(client, token_for, {"title": "incomplete"})
    reader = token_for("auditor")
    m = client.get("/api/v1/metrics/governance", headers=reader).get_json()
    assert m["time_to_decide"]["by_track"]["fast"]["count"] == 2
    assert m["time_to_decide"]["overall"]["mean_hours"] is not None
    assert m["time_to_decide"]["overall"]["median_hours"] is not None
    assert m["approval_rate"] == 0.5
    assert m["sla"]["compliance"] == 1.0
    assert m["backlog"] == {"open": 2, "needs_info": 1, "in_review": 1}
    assert m["overdue"] == 0
    s = client.get("/api/v1/reports/summary", headers=reader)
    assert s.status_code == 200
    assert "Acme" not in s.get_data(as_text=True)
    assert client.get("/api/v1/metrics/governance", headers=token_for("billing")).status_code == 403
