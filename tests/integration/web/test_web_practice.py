"""Practice in the UI: the queue, a case without names, the practice decision, then the committee's decision."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from connector.db import db
from connector.models import PracticeAttempt


def decide(signed_in, submit, small, csrf) -> str:
    key = submit(small)
    chair = signed_in("reviewer", "licensing")
    page = chair.get(f"/requests/{key}").get_data(as_text=True)
    r = chair.post(f"/requests/{key}/decision", data={
        "csrf_token": csrf(page), "outcome": "approved", "rationale": "Acme GmbH pilot fits", "grants_seats": "105",
        "expires_at": (date.today() + timedelta(days=90)).isoformat(), "renewal_mode": "manual",
        "notice_days": "14", "submit": "Record decision"})
    assert r.status_code == 303
    return key


def test_a_reviewer_practises_a_case_and_sees_the_committees_decision(app, signed_in, submit, small, csrf):
    decide(signed_in, submit, small, csrf)
    trainee = signed_in("reviewer", "legal")
    html = trainee.get("/practice").get_data(as_text=True)
    assert 'href="/practice/1"' in html and "Acme" not in html
    page = trainee.get("/practice/1").get_data(as_text=True)
    assert "Acme" not in page and "Rita" not in page and "Customer " in page
    r = trainee.post("/practice/1", data={"csrf_token": csrf(page), "vote": "approve", "outcome": "approved",
                                          "rationale": "", "grants_seats": "lots"})
    assert r.status_code == 422
    assert "Say why" in r.get_data(as_text=True) or "whole number" in r.get_data(as_text=True)
    r = trainee.post("/practice/1", data={"csrf_token": csrf(page), "vote": "approve", "outcome": "approved",
                                          "rationale": "Inside the ratio", "grants_seats": "105",
                                          "duration_days": "90"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/practice/1#reveal")
    html = trainee.get("/practice/1").get_data(as_text=True)
    assert "How the committee decided" in html and "Same outcome as the committee" in html
    assert "Score for this case: 100%" in html and "Acme" not in html
    r = trainee.post("/practice/1", data={"vote": "approve", "outcome": "approved", "rationale": "x"})
    assert r.status_code == 400  # no CSRF token: refused like every UI form
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PracticeAttempt)) == 1
