"""Reviewers in the UI: the queue routed by committee role, votes, and the chair's decision with boundaries."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, Decision, EntitlementBoundary, ExceptionRequest, Vote, utcnow


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Vote, Decision, EntitlementBoundary, AuditEvent))


def queue_keys(client) -> list[str]:
    html = client.get("/queue").get_data(as_text=True)
    mine = html.split("Ready for your decision")[0]
    return re.findall(r'href="/requests/(LEX-\d+)"', mine)


def test_queue_routes_requests_to_the_roles_they_need_until_the_role_voted(app, signed_in, submit, small, large,
                                                                          csrf):
    fast, critical = submit(small), submit(large)  # fast track: the chair alone; critical band: all five roles
    legal = signed_in("reviewer", "legal", email="lou.legal@vendor.example")
    chair, security = signed_in("reviewer", "licensing"), signed_in("reviewer", "security")
    assert queue_keys(legal) == [critical]
    assert sorted(queue_keys(chair)) == sorted([fast, critical])
    token = csrf(legal.get(f"/requests/{critical}").get_data(as_text=True))
    r = legal.post(f"/requests/{critical}/votes", data={"csrf_token": token, "role": "legal", "vote": "approve",
                                                       "rationale": "Indemnity capped"})
    assert r.status_code == 303 and r.headers["Location"] == f"/requests/{critical}"
    assert "Your approve vote as legal is recorded." in legal.get(r.headers["Location"]).get_data(as_text=True)
    assert queue_keys(legal) == []
    assert queue_keys(security) == [critical]
    with app.app_context():
        vote = db.session.scalar(select(Vote))
        assert (vote.role, vote.vote, vote.voter, vote.rationale) == ("legal", "approve", "lou.legal@vendor.example",
                                                                      "Indemnity capped")


def test_overdue_requests_are_highlighted_with_their_clock(app, signed_in, submit, large):
    key = submit(large)
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        req.due_at = utcnow() - timedelta(hours=30)
        db.session.commit()
    html = signed_in("reviewer", "legal").get("/queue").get_data(as_text=True)
    assert '<tr class="overdue">' in html and "overdue by 1 d 6 h" in html


def test_a_vote_that_breaks_a_rule_shows_why_and_writes_nothing(app, signed_in, submit, large, csrf):
    key = submit(large)
    legal = signed_in("reviewer", "legal")
    token = csrf(legal.get(f"/requests/{key}").get_data(as_text=True))
    before = counts(app)
    r = legal.post(f"/requests/{key}/votes", data={"csrf_token": token, "role": "legal", "vote": "reject",
                                                   "rationale": "  "})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "A &#39;reject&#39; vote needs a rationale." in html and "Required for &#39;reject&#39;." in html
    r = legal.post(f"/requests/{key}/votes", data={"csrf_token": token, "role": "security", "vote": "approve"})
    assert r.status_code == 422 and "Not a valid choice" in r.get_data(as_text=True)
    r = legal.post(f"/requests/{key}/votes", data={"role": "legal", "vote": "approve"})
    assert r.status_code == 400
    assert counts(app) == before


def test_chair_previews_the_summary_then_decides_with_boundaries(app, signed_in, submit, small, csrf):
    key = submit(small)
    chair = signed_in("reviewer", "licensing")
    page = chair.get(f"/requests/{key}").get_data(as_text=True)
    assert 'value="105"' in page  # grants start from the requested terms
    expires = (date.today() + timedelta(days=120)).isoformat()
    form = {"csrf_token": csrf(page), "outcome": "approved_with_conditions", "rationale": "Pilot fits the renewal",
            "grants_seats": "105", "grants_regions": "EMEA, APAC", "expires_at": expires,
            "conditions": "Usage report monthly\nNo production data", "renewal_mode": "manual", "notice_days": "14",
            "success_metrics": "Pilot converts to 20 paid seats"}
    before = counts(app)
    r = chair.post(f"/requests/{key}/decision", data={**form, "preview": "Preview customer summary"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Preview — not sent yet" in html
    assert "What changes: seats: 105; regions: EMEA, APAC." in html
    assert "Conditions: Usage report monthly; No production data." in html
    assert f"until {expires}" in html and "Pilot converts to 20 paid seats" in html
    assert counts(app) == before  # the preview wrote nothing
    r = chair.post(f"/requests/{key}/decision", data={**form, "submit": "Record decision"})
    assert r.status_code == 303
    html = chair.get(f"/requests/{key}").get_data(as_text=True)
    assert "Decision recorded: approved with conditions." in html
    assert "What changes: seats: 105; regions: EMEA, APAC." in html
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        assert req.state == "approved" and req.outcome == "approved_with_conditions"
        ent = req.entitlements[-1]
        assert ent.grants == {"seats": 105, "regions": ["EMEA", "APAC"]}
        assert ent.expires_at.isoformat() == expires and ent.notice_days == 14
        assert ent.conditions == ["Usage report monthly", "No production data"]
        assert ent.success_metrics == ["Pilot converts to 20 paid seats"]


def test_refused_decisions_say_why_next_to_the_field_and_write_nothing(app, signed_in, submit, small, large, csrf):
    chair = signed_in("reviewer", "licensing")
    standard, fast = submit(large), submit(small)
    page = chair.get(f"/requests/{standard}").get_data(as_text=True)
    before = counts(app)
    ok_expiry = (date.today() + timedelta(days=90)).isoformat()
    r = chair.post(f"/requests/{standard}/decision", data={
        "csrf_token": csrf(page), "outcome": "approved", "rationale": "Yes", "grants_usage_rights": "oem",
        "expires_at": ok_expiry, "renewal_mode": "manual", "submit": "Record decision"})
    assert r.status_code == 409
    assert "Missing approvals: licensing, legal, product, sales, security." in r.get_data(as_text=True)
    page = chair.get(f"/requests/{fast}").get_data(as_text=True)
    too_long = (date.today() + timedelta(days=2000)).isoformat()
    r = chair.post(f"/requests/{fast}/decision", data={
        "csrf_token": csrf(page), "outcome": "approved", "rationale": "Yes", "grants_seats": "105",
        "expires_at": too_long, "renewal_mode": "manual", "submit": "Record decision"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(r'id="expires_at"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="expires_at"', html)
    assert "At most 730 days after effective_from." in html
    r = chair.post(f"/requests/{fast}/decision", data={
        "csrf_token": csrf(page), "outcome": "approved", "rationale": "Yes", "grants_seats": "many",
        "renewal_mode": "manual", "submit": "Record decision"})
    assert r.status_code == 422 and "Not a valid integer value." in r.get_data(as_text=True)
    r = chair.post(f"/requests/{fast}/decision", data={
        "csrf_token": csrf(page), "outcome": "approved", "rationale": "Yes", "grants_seats": "105",
        "renewal_mode": "manual", "submit": "Record decision"})
    assert r.status_code == 422 and "Every exception expires" in r.get_data(as_text=True)
    assert counts(app) == before


def test_only_the_chair_sees_and_uses_the_decision_form(signed_in, submit, small, csrf):
    key = submit(small)
    legal = signed_in("reviewer", "legal")
    page = legal.get(f"/requests/{key}").get_data(as_text=True)
    assert "Record decision" not in page
    r = legal.post(f"/requests/{key}/decision", data={"csrf_token": csrf(page), "outcome": "denied",
                                                      "rationale": "No", "submit": "Record decision"})
    assert r.status_code == 403 and "Only the chair (licensing) records decisions" in r.get_data(as_text=True)


def test_request_page_shows_intake_risk_history_precedents_and_source(app, signed_in, submit, small, csrf):
    first = submit(small)
    chair = signed_in("reviewer", "licensing")
    page = chair.get(f"/requests/{first}").get_data(as_text=True)
    chair.post(f"/requests/{first}/decision", data={
        "csrf_token": csrf(page), "outcome": "denied", "rationale": "Pilot seats come from the pool",
        "renewal_mode": "manual", "submit": "Record decision"})
    incomplete = dict(small, use_case=None, title="Seats for the second pilot")
    second = submit(incomplete)
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == second))
        req.external_url = "https://acme.my.salesforce.com/a0X000000000001AAA"
        db.session.commit()
    html = chair.get(f"/requests/{second}").get_data(as_text=True)
    assert "needs info" in html and "<strong>Missing:</strong> use_case" in html
    assert 'href="https://acme.my.salesforce.com/a0X000000000001AAA"' in html
    assert f'href="/requests/{first}"' in html and "Pilot seats come from the pool" in html  # a precedent
    assert "request.created" in html  # history
    assert "Record decision" not in html  # only requests in review are decided


def test_lists_and_filters_never_fail_on_bad_input(signed_in, submit, small):
    submit(small)
    reviewer = signed_in("reviewer", "legal")
    assert reviewer.get("/requests?state=in_review").status_code == 200
    r = reviewer.get("/requests?state=bogus")
    assert r.status_code == 400 and "Unknown state" in r.get_data(as_text=True)
    assert reviewer.get("/requests/LEX-999999").status_code == 404
    assert reviewer.get("/reports?period=decade").status_code == 400
