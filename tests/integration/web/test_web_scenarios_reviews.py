"""The scenario and policy review pages: write, run and keep a scenario, open a suggestion's amendment as the chair,
see the scenarios on a request page; read a review's report, record a finding and close it as an owner."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from support.estate import COMMITTEE, create, decide, request_body

from connector import policy_reviews
from connector.db import db
from connector.models import AuditEvent, EntitlementBoundary, Scenario

EFFECTIVE = (date.today() + timedelta(days=30)).isoformat()
SSO_YAML = f"name: SSO removed in 5.0\nkind: feature_removed\nfeature: sso\nversion: \"5.0\"\neffective: {EFFECTIVE}\n"


@pytest.fixture
def granted(client, token_for):
    board = token_for("reviewer", *COMMITTEE, name="board")
    intake = token_for("intake")
    asked = create(client, intake, request_body(title="sso", requested_terms={"features": ["sso"]}))
    sso = decide(client, board, asked, grants={"features": ["sso", "audit_log"]})
    other = decide(client, board, create(client, intake, request_body(title="other")), grants={"seats": 105})
    return sso["key"], other["key"]


def test_a_reviewer_runs_keeps_a_scenario_and_the_chair_amends_from_it(app, signed_in, csrf, granted):
    sso_key, other_key = granted
    reviewer = signed_in("reviewer", "legal")
    page = reviewer.get("/scenarios").get_data(as_text=True)
    assert "Scenario (YAML)" in page and 'aria-current="page">Scenarios' in page
    ran = reviewer.post("/scenarios", data={"csrf_token": csrf(page), "document": SSO_YAML, "run": "Run"})
    body = ran.get_data(as_text=True)
    assert ran.status_code == 200 and "(not kept)" in body and sso_key in body and other_key not in body
    with app.app_context():
        assert db.session.scalar(select(Scenario)) is None
    kept = reviewer.post("/scenarios", data={"csrf_token": csrf(page), "document": SSO_YAML, "save": "Keep"})
    assert kept.status_code == 303
    shown = reviewer.get(kept.headers["Location"]).get_data(as_text=True)
    assert "SSO removed in 5.0" in shown and "granted features" in shown and "Open amendment" not in shown
    assert "SSO removed in 5.0" in reviewer.get(f"/requests/{sso_key}").get_data(as_text=True)
    assert "Scenarios touching this" not in reviewer.get(f"/requests/{other_key}").get_data(as_text=True)
    with app.app_context():
        scenario_id = db.session.scalar(select(Scenario.id))
    change_url = f"/scenarios/{scenario_id}/change/{sso_key}"
    assert reviewer.get(change_url).status_code == 403

    chair = signed_in("reviewer", "licensing")
    assert "Open amendment" in chair.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    form = chair.get(change_url).get_data(as_text=True)
    assert 'value="audit_log"' in form and "Scenario &#39;SSO removed in 5.0&#39;" in form
    done = chair.post(change_url, data={
        "csrf_token": csrf(form), "rationale": "SSO leaves the product in 5.0.", "grants_features": "audit_log",
        "expires_at": (date.today() + timedelta(days=150)).isoformat(), "renewal_mode": "manual",
        "submit": "Record amendment"})
    assert done.status_code == 303, done.get_data(as_text=True)
    with app.app_context():
        latest = db.session.scalars(select(EntitlementBoundary).order_by(EntitlementBoundary.id.desc())).first()
        assert latest.change == "amended" and latest.grants == {"features": ["audit_log"]}
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "entitlement.amended")).one()


def test_bad_scenarios_are_shown_on_the_field(signed_in, csrf):
    admin = signed_in("admin")
    page = admin.get("/scenarios").get_data(as_text=True)
    bad = admin.post("/scenarios", data={"csrf_token": csrf(page), "document": "name: x\nkind: meteor\n",
                                         "run": "Run"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "kind: Must be one of" in text and "effective: Missing data for required field." in text
    broken = admin.post("/scenarios", data={"csrf_token": csrf(page), "document": "name: [x", "run": "Run"})
    assert broken.status_code == 422 and "Not valid YAML." in broken.get_data(as_text=True)
    auditor = signed_in("auditor")
    token = csrf(auditor.get("/scenarios").get_data(as_text=True))
    assert auditor.post("/scenarios", data={"csrf_token": token, "document": SSO_YAML}).status_code == 403


def test_an_owner_reads_a_review_records_a_finding_and_closes_it(app, signed_in, csrf, granted):
    with app.app_context():
        review_id = policy_reviews.open_review("worker").id
        db.session.commit()
    auditor = signed_in("auditor")
    listing = auditor.get("/policy/reviews").get_data(as_text=True)
    assert f"Review {review_id}" in listing
    read_only = auditor.get(f"/policy/reviews/{review_id}").get_data(as_text=True)
    assert "By category" in read_only and "Record finding" not in read_only
    owner = signed_in("reviewer", "legal")
    page = owner.get(f"/policy/reviews/{review_id}").get_data(as_text=True)
    assert "Record finding" in page and "Seat expansion" in page.replace("seat expansion", "Seat expansion")
    empty = owner.post(f"/policy/reviews/{review_id}/findings", data={"csrf_token": csrf(page), "finding": ""})
    assert empty.status_code == 422
    added = owner.post(f"/policy/reviews/{review_id}/findings", data={
        "csrf_token": csrf(page), "finding": "Seat expansions repeat.", "area": "standard_term_candidates",
        "recommendation": ""})
    assert added.status_code == 303
    closed = owner.post(f"/policy/reviews/{review_id}/close", data={"csrf_token": csrf(page),
                                                                    "summary": "Done for the quarter."})
    assert closed.status_code == 303
    after = owner.get(f"/policy/reviews/{review_id}").get_data(as_text=True)
    assert "Seat expansions repeat." in after and "Done for the quarter." in after and "Record finding" not in after
    outsider = signed_in("reviewer", "sales")
    token = csrf(outsider.get("/scenarios").get_data(as_text=True))
    refused = outsider.post(f"/policy/reviews/{review_id}/close", data={"csrf_token": token, "summary": "x"})
    assert refused.status_code == 403 and "Only the review" in refused.get_data(as_text=True)
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.subject == f"policy_review:{review_id}").order_by(AuditEvent.seq))]
    assert actions == ["policy_review.opened", "policy_review.finding_recorded", "policy_review.closed"]


def test_the_chair_schedules_the_revocation_a_withdrawn_region_suggests(app, client, token_for, signed_in, csrf):
    board = token_for("reviewer", *COMMITTEE, name="board")
    req = create(client, token_for("intake"), request_body(title="apac only"))
    key = decide(client, board, req, grants={"regions": ["APAC"]})["key"]
    chair = signed_in("reviewer", "licensing")
    page = chair.get("/scenarios").get_data(as_text=True)
    kept = chair.post("/scenarios", data={"csrf_token": csrf(page), "save": "Keep", "document":
                                          f"name: APAC withdrawn\nkind: region_withdrawn\nregion: APAC\n"
                                          f"effective: {EFFECTIVE}\n"})
    shown = chair.get(kept.headers["Location"]).get_data(as_text=True)
    assert f"Open revocation<span class=\"sr-only\"> of {key}" in shown
    with app.app_context():
        scenario_id = db.session.scalar(select(Scenario.id))
    form = chair.get(f"/scenarios/{scenario_id}/change/{key}").get_data(as_text=True)
    assert f'value="{EFFECTIVE}"' in form and "Revoke exception" in form
    empty = chair.post(f"/scenarios/{scenario_id}/change/{key}", data={"csrf_token": csrf(form), "reason": ""})
    assert empty.status_code == 422
    done = chair.post(f"/scenarios/{scenario_id}/change/{key}", data={
        "csrf_token": csrf(form), "reason": "APAC is withdrawn.", "effective": EFFECTIVE})
    assert done.status_code == 303
    view = client.get(f"/api/v1/requests/{key}", headers=board).get_json()
    assert view["state"] == "approved" and view["entitlement"]["revoke_effective"] == EFFECTIVE
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "entitlement.revocation_scheduled")).one()
        assert event.data["reason"] == "APAC is withdrawn." and event.actor.startswith("reviewer")
