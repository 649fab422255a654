"""Practice cases through the API: anonymised past decisions, a practice decision compared with the committee's,
the consistency score on a seeded case, and nothing real written (every table's rows compared)."""

from __future__ import annotations

import copy

from sqlalchemy import select
from support.bodies import SMALL, entitlement

from connector.db import db
from connector.models import AuditEvent


def decided(client, token_for, chair, outcome="approved", **changes):
    body = {**copy.deepcopy(SMALL), **changes}
    req = client.post("/api/v1/requests", json=body, headers=token_for("intake")).get_json()
    decision = {"outcome": outcome, "rationale": "Acme GmbH pilot fits the renewal, said Rita Rep."}
    if outcome != "denied":
        decision["entitlement"] = entitlement(90)
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json=decision)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def snapshot(app) -> dict[str, object]:
    """Every row of every table but the practice table, and the audit events outside ``practice.*``."""
    with app.app_context():
        out: dict[str, object] = {}
        for table in db.metadata.sorted_tables:
            if table.name == "practice_attempts":
                continue
            query = select(table)
            if table.name == "audit_events":
                query = query.where(~AuditEvent.action.startswith("practice."))
            out[table.name] = sorted(map(repr, db.session.execute(query).all()))
        return out


def test_practice_writes_nothing_real_and_scores_by_hand(app, client, token_for):
    chair = token_for("reviewer", "licensing", name="real-chair")
    first = decided(client, token_for, chair)  # approved: seats 105 for 90 days
    decided(client, token_for, chair, "denied", title="Acme GmbH wants more")
    trainee, newcomer = token_for("reviewer", "legal", name="trainee"), token_for("reviewer", name="t2")
    for headers in (trainee, newcomer):  # a token's first use stamps it: done before the snapshot
        assert client.get("/api/v1/practice/score", headers=headers).get_json()["attempts"] == 0
    before = snapshot(app)

    queue = client.get("/api/v1/practice/cases", headers=trainee).get_json()
    assert [item["case"] for item in queue["items"]] == [2, 1]  # newest decision first
    assert queue["score"]["attempts"] == 0 and queue["score"]["score"] is None
    case = client.get("/api/v1/practice/cases/1", headers=trainee).get_json()
    text = str(case)
    for real in ("Acme GmbH", "Rita Rep", "rita@vendor.example", "001A", first["key"], first["id"]):
        assert real not in text, real
    assert case["case"]["customer"]["name"].startswith("Customer ") and case["reveal"] is None
    other = client.get("/api/v1/practice/cases/2", headers=trainee).get_json()
    assert other["case"]["customer"]["name"] == case["case"]["customer"]["name"]  # the same placeholder
    assert other["case"]["title"] == f"{case['case']['customer']['name']} wants more"

    r = client.post("/api/v1/practice/cases/1/attempts", headers=trainee, json={
        "vote": "approve", "outcome": "approved", "rationale": "Within the seat ratio",
        "grants": {"seats": 110, "regions": ["EMEA"]}, "duration_days": 60})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    near = round(((1 - 5 / 110) + 0 + (1 - 30 / 90)) / 3, 4)
    assert body["attempt"]["outcome_match"] is True and body["attempt"]["closeness"] == near == 0.5404
    assert body["attempt"]["score"] == 0.7702
    assert body["reveal"]["outcome"] == "approved" and body["reveal"]["grants"] == {"seats": 105}
    assert body["reveal"]["duration_days"] == 90 and "Acme" not in body["reveal"]["rationale"]
    r = client.post("/api/v1/practice/cases/2/attempts", headers=trainee, json={
        "vote": "approve", "outcome": "approved_with_conditions", "rationale": "With a usage report",
        "grants": {"seats": 105}})
    assert r.status_code == 201 and r.get_json()["attempt"]["score"] == 0
    score = client.get("/api/v1/practice/score", headers=trainee).get_json()
    assert (score["attempts"], score["outcome_matches"], score["outcome_agreement"]) == (2, 1, 0.5)
    assert score["boundary_closeness"] == 0.5404 and score["score"] == round((0.7702 + 0) / 2, 4) == 0.3851

    again = client.post("/api/v1/practice/cases/1/attempts", headers=trainee, json={
        "vote": "reject", "outcome": "denied", "rationale": "No"})
    assert again.status_code == 409 and again.get_json()["code"] == "already_practised"
    bad = client.post("/api/v1/practice/cases/2/attempts", headers=newcomer, json={
        "vote": "approve", "outcome": "denied", "rationale": "No", "grants": {"seats": 1}})
    assert bad.status_code == 422 and "grants" in bad.get_json()["details"]["fields"]

    assert snapshot(app) == before  # no real row changed, added or removed; no delivery; no request event
    with app.app_context():
        practice_events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("practice."))
                                             ).all()
        assert [(e.action, e.subject.split(":")[0]) for e in practice_events] == [("practice.attempted",
                                                                                  "practice")] * 2
        assert "Acme" not in str([e.data for e in practice_events])


def test_the_queue_leaves_out_requests_the_reviewer_took_part_in(client, token_for):
    chair = token_for("reviewer", "licensing", name="chair-who-decided")
    decided(client, token_for, chair)
    assert client.get("/api/v1/practice/cases", headers=chair).get_json()["items"] == []
    assert client.get("/api/v1/practice/cases/1", headers=chair).status_code == 404
    assert client.get("/api/v1/practice/cases", headers=token_for("admin")).status_code == 403
