"""A decided request's lifecycle in the UI: amend, renew, revoke (now or scheduled), dispute and withdraw, each
previewed without writing, refused with the reason next to its field, and done through the API's operations;
the "Where it stands" panel with its Retry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, Delivery, EntitlementBoundary, ExceptionRequest, utcnow


def _count(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(EntitlementBoundary)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


def _req(app, key: str) -> ExceptionRequest:
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        assert req is not None
        db.session.expunge(req)
        return req


def _approve(chair, key: str, csrf, days: int = 120) -> str:
    page = chair.get(f"/requests/{key}").get_data(as_text=True)
    expires = (date.today() + timedelta(days=days)).isoformat()
    r = chair.post(f"/requests/{key}/decision", data={
        "csrf_token": csrf(page), "outcome": "approved", "rationale": "Pilot fits", "grants_seats": "105",
        "expires_at": expires, "renewal_mode": "manual", "submit": "Record decision"})
    assert r.status_code == 303, r.get_data(as_text=True)
    return expires


@pytest.fixture
def approved(app, signed_in, submit, small, csrf):
    key = submit(small)
    chair = signed_in("reviewer", "licensing")
    expires = _approve(chair, key, csrf)
    return chair, key, expires


def test_chair_previews_then_amends_with_the_boundaries_in_force_prefilled(app, approved, csrf):
    chair, key, expires = approved
    page = chair.get(f"/requests/{key}").get_data(as_text=True)
    assert 'id="amend"' in page and 'id="renew"' in page and 'id="revoke"' in page
    assert 'name="grants_seats" type="number" value="105"' in page  # the amendment starts from version 1
    form = {"csrf_token": csrf(page), "rationale": "More seats for the pilot", "grants_seats": "120",
            "expires_at": expires, "renewal_mode": "manual", "notice_days": "30"}
    before = _count(app)
    r = chair.post(f"/requests/{key}/amend", data={**form, "preview": "Preview amendment"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Preview — nothing done yet" in html
    assert "Version 2 replaces version 1" in html and "seats: 120" in html
    assert _count(app) == before
    r = chair.post(f"/requests/{key}/amend", data={**form, "submit": "Amend exception"})
    assert r.status_code == 303 and r.headers["Location"] == f"/requests/{key}"
    assert "Amended: version 2 is in force" in chair.get(f"/requests/{key}").get_data(as_text=True)
    with app.app_context():
        ent = db.session.scalar(select(EntitlementBoundary).order_by(EntitlementBoundary.id.desc()))
        assert (ent.version, ent.change, ent.grants) == (2, "amended", {"seats": 120})


def test_an_amendment_that_changes_nothing_or_breaks_a_rule_is_refused_beside_its_field(app, approved, csrf):
    chair, key, expires = approved
    page = chair.get(f"/requests/{key}").get_data(as_text=True)
    same = {"csrf_token": csrf(page), "rationale": "Same", "grants_seats": "105", "expires_at": expires,
            "renewal_mode": "manual", "notice_days": "30", "submit": "Amend exception"}
    before = _count(app)
    r = chair.post(f"/requests/{key}/amend", data=same)
    assert r.status_code == 409 and "changes nothing" in r.get_data(as_text=True)
    too_long = (date.today() + timedelta(days=2000)).isoformat()
    r = chair.post(f"/requests/{key}/amend", data={**same, "expires_at": too_long})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "At most 730 days after effective_from." in html
    assert 'aria-invalid="true"' in html and "<details class=\"lifecycle-action\" id=\"amend\" open>" in html
    r = chair.post(f"/requests/{key}/amend", data={**same, "rationale": " "})
    assert r.status_code == 422 and "This field is required." in r.get_data(as_text=True)
    assert _count(app) == before


def test_chair_renews_to_a_later_date_and_an_earlier_one_is_refused(app, approved, csrf):
    chair, key, expires = approved
    token = csrf(chair.get(f"/requests/{key}").get_data(as_text=True))
    earlier = (date.fromisoformat(expires) - timedelta(days=5)).isoformat()
    r = chair.post(f"/requests/{key}/renew", data={"csrf_token": token, "rationale": "More time",
                                                   "expires_at": earlier, "submit": "Renew exception"})
    assert r.status_code == 422 and f"Must be after {expires}." in r.get_data(as_text=True)
    later = (date.fromisoformat(expires) + timedelta(days=60)).isoformat()
    r = chair.post(f"/requests/{key}/renew", data={"csrf_token": token, "rationale": "More time",
                                                   "expires_at": later, "preview": "Preview renewal"})
    assert r.status_code == 200 and f"renewed until {later}" in r.get_data(as_text=True)
    r = chair.post(f"/requests/{key}/renew", data={"csrf_token": token, "rationale": "More time",
                                                   "expires_at": later, "submit": "Renew exception"})
    assert r.status_code == 303
    assert f"Renewed until {later}: version 2 is in force." in chair.get(f"/requests/{key}").get_data(as_text=True)


def test_revocation_is_scheduled_for_a_later_date_or_done_now(app, approved, csrf):
    chair, key, _ = approved
    token = csrf(chair.get(f"/requests/{key}").get_data(as_text=True))
    later = (date.today() + timedelta(days=10)).isoformat()
    r = chair.post(f"/requests/{key}/revoke", data={"csrf_token": token, "reason": "Contract ends",
                                                    "effective": later, "preview": "Preview revocation"})
    assert f"Revocation scheduled for {later}" in r.get_data(as_text=True)
    r = chair.post(f"/requests/{key}/revoke", data={"csrf_token": token, "reason": "Contract ends",
                                                    "effective": later, "submit": "Revoke exception"})
    assert r.status_code == 303 and _req(app, key).state == "approved"
    r = chair.post(f"/requests/{key}/revoke", data={"csrf_token": token, "reason": "Breach",
                                                    "submit": "Revoke exception"})
    assert r.status_code == 303 and _req(app, key).state == "revoked"
    html = chair.get(f"/requests/{key}").get_data(as_text=True)
    assert "Revoked: the exception has ended" in html
    assert 'id="revoke"' not in html and 'id="dispute"' in html  # revoked: only a dispute is left


def test_dispute_reopens_review_and_withdraw_ends_an_open_request(app, approved, signed_in, submit, small, csrf):
    _, key, _ = approved
    intake = signed_in("intake")
    token = csrf(intake.get(f"/requests/{key}").get_data(as_text=True))
    r = intake.post(f"/requests/{key}/dispute", data={"csrf_token": token, "reason": "", "submit": "Reopen review"})
    assert r.status_code == 422 and "This field is required." in r.get_data(as_text=True)
    r = intake.post(f"/requests/{key}/dispute", data={"csrf_token": token, "reason": "Customer objects",
                                                      "preview": "Preview dispute"})
    assert "Review reopens as round 2" in r.get_data(as_text=True)
    r = intake.post(f"/requests/{key}/dispute", data={"csrf_token": token, "reason": "Customer objects",
                                                      "submit": "Reopen review"})
    assert r.status_code == 303
    req = _req(app, key)
    assert (req.state, req.review_round) == ("in_review", 2)
    html = intake.get(f"/requests/{key}").get_data(as_text=True)
    assert 'id="withdraw"' in html and 'id="dispute"' not in html
    r = intake.post(f"/requests/{key}/withdraw", data={"csrf_token": token, "reason": "Deal lost",
                                                       "submit": "Withdraw request"})
    assert r.status_code == 303 and _req(app, key).state == "withdrawn"


def test_roles_the_api_refuses_are_refused_here_and_see_no_form(app, approved, signed_in, csrf):
    _, key, _ = approved
    auditor, member = signed_in("auditor"), signed_in("reviewer", "legal")
    html = auditor.get(f"/requests/{key}").get_data(as_text=True)
    assert 'id="lifecycle"' not in html
    token = csrf(member.get(f"/requests/{key}").get_data(as_text=True))
    assert 'id="amend"' not in member.get(f"/requests/{key}").get_data(as_text=True)
    r = member.post(f"/requests/{key}/revoke", data={"csrf_token": token, "reason": "x", "submit": "Revoke"})
    assert r.status_code == 403 and _req(app, key).state == "approved"
    r = member.post(f"/requests/{key}/withdraw", data={"csrf_token": token, "reason": "x", "submit": "Withdraw"})
    assert r.status_code == 403


def test_where_it_stands_says_what_each_target_last_heard_and_retries_a_dead_delivery(app, approved, signed_in,
                                                                                     csrf):
    _, key, _ = approved
    admin = signed_in("admin")
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        now = utcnow()
        db.session.add_all([
            Delivery(request_pk=req.pk, target="billing", change="decided", version=1, message_id="msg_b1",
                     payload={}, status="pending", attempts=2, next_attempt_at=now + timedelta(minutes=2, seconds=5),
                     last_error="billing answered 503", deadline=now + timedelta(days=1)),
            Delivery(request_pk=req.pk, target="email", change="decided", message_id="msg_e1", payload={},
                     status="delivered", attempts=1, delivered_at=now, deadline=now + timedelta(days=1)),
            Delivery(request_pk=req.pk, target="connection:crm", change="decided", message_id="msg_c1", payload={},
                     status="dead", attempts=7, last_error="INVALID_FIELD: Status__c", last_status_code=400,
                     deadline=now),
        ])
        db.session.commit()
        dead_id = db.session.scalar(select(Delivery.id).where(Delivery.message_id == "msg_c1"))
    html = admin.get(f"/requests/{key}").get_data(as_text=True)
    assert "Retrying, next in 2 min (attempt 2 failed: billing answered 503)" in html
    assert "Written to the mail server" in html
    assert "Dead after 7 attempt(s): INVALID_FIELD: Status__c" in html
    r = admin.post(f"/requests/{key}/deliveries/{dead_id}/retry", data={"csrf_token": csrf(html)})
    assert r.status_code == 303 and r.headers["Location"] == f"/requests/{key}"
    html = admin.get(f"/requests/{key}").get_data(as_text=True)
    assert "Delivery to connection:crm is due again now." in html
    assert "Retrying, next attempt due now (attempt 7 failed: INVALID_FIELD: Status__c)" in html


def test_date_errors_speak_of_the_date_picker_not_of_a_pattern(app, approved, csrf):
    chair, key, _ = approved
    token = csrf(chair.get(f"/requests/{key}").get_data(as_text=True))
    form = {"csrf_token": token, "rationale": "Change", "grants_seats": "110", "renewal_mode": "manual",
            "submit": "Amend exception"}
    html = chair.post(f"/requests/{key}/amend", data={**form, "expires_at": "31/12/2026"}).get_data(as_text=True)
    assert "Pick a date from the calendar." in html and "Not a valid date value" not in html
    html = chair.post(f"/requests/{key}/amend", data={**form, "expires_at": ""}).get_data(as_text=True)
    assert "Every exception expires: give expires_at." in html and "YYYY-MM-DD" not in html
