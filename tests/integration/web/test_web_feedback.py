"""The feedback page behind a decision's signed link: no sign-in, no session CSRF (the token authorises the form),
refusals a person understands, and the answers on the reviewer's request page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from connector.db import db
from connector.models import Feedback

LINK = re.compile(r"(/feedback/[A-Za-z0-9_.\-]+)")


def decide(app, signed_in, submit, small, csrf) -> tuple[str, str]:
    key = submit(small)
    chair = signed_in("reviewer", "licensing")
    page = chair.get(f"/requests/{key}").get_data(as_text=True)
    r = chair.post(f"/requests/{key}/decision", data={
        "csrf_token": csrf(page), "outcome": "approved", "rationale": "Pilot fits", "grants_seats": "105",
        "expires_at": (date.today() + timedelta(days=60)).isoformat(), "renewal_mode": "manual",
        "notice_days": "14", "submit": "Record decision"})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    html = chair.get(f"/requests/{key}").get_data(as_text=True)
    match = LINK.search(html)
    assert match, "the customer summary shows no feedback link"
    return key, match.group(1)


def count(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Feedback)))


def test_a_customer_answers_through_the_link_and_the_reviewer_reads_it(app, signed_in, submit, small, csrf):
    key, path = decide(app, signed_in, submit, small, csrf)
    visitor = app.test_client()  # never signed in, no session
    page = visitor.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How clear was this decision?" in html and key in html and "csrf_token" not in html
    r = visitor.post(path, data={"respondent": "customer", "clarity": "", "needed": "x"})
    assert r.status_code == 422 and "from 1 (not clear) to 5" in r.get_data(as_text=True)
    assert count(app) == 0
    r = visitor.post(path, data={"respondent": "customer", "clarity": "3",
                                 "needed": "Which seats count, and from when."})
    assert r.status_code == 303
    thanks = visitor.get(r.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in thanks
    assert count(app) == 1
    reviewer = signed_in("reviewer", "legal")
    html = reviewer.get(f"/requests/{key}").get_data(as_text=True)
    assert "Feedback" in html and "Which seats count, and from when." in html and "3 / 5" in html


def test_forged_and_expired_links_get_a_page_that_says_so(app, signed_in, submit, small, csrf):
    _, path = decide(app, signed_in, submit, small, csrf)
    visitor = app.test_client()
    r = visitor.get(path[:-4] + "xxxx")
    assert r.status_code == 403
    assert "This feedback link cannot be used" in r.get_data(as_text=True)
    assert "open the link exactly as it was sent" in r.get_data(as_text=True)
    r = visitor.post(path[:-4] + "xxxx", data={"respondent": "customer", "clarity": "5"})
    assert r.status_code == 403
    with time_machine.travel(datetime.now(UTC) + timedelta(days=120), tick=False):
        r = visitor.post(path, data={"respondent": "customer", "clarity": "5"})
    assert r.status_code == 403 and "has expired" in r.get_data(as_text=True)
    assert count(app) == 0
