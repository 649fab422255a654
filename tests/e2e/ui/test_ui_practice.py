"""A practice case in a real browser: the reviewer decides an anonymised past request, then sees the committee's
decision and their consistency score."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from connector import operations
from connector.db import db
from connector.models import ExceptionRequest, Principal

pytestmark = pytest.mark.e2e


def decide_for_real(app, key: str) -> None:
    with app.app_context():
        req = db.session.query(ExceptionRequest).filter_by(key=key).one()
        chair = db.session.query(Principal).filter_by(name="chair@vendor.example").one()
        today = date.today()
        operations.decide(req, chair, "approved", "Acme GmbH pilot fits the renewal.",
                          {"grants": {"seats": 105}, "effective_from": today.isoformat(),
                           "expires_at": (today + timedelta(days=90)).isoformat()})
        db.session.commit()


def test_reviewer_practises_a_case(app, page, base_url, account, sign_in, submit, small, screenshot):
    account("chair@vendor.example", "reviewer", "licensing")
    key = submit(small)
    decide_for_real(app, key)
    sign_in(page, account("trainee@vendor.example", "reviewer", "legal"))
    page.get_by_role("link", name="Practice").click()
    page.wait_for_url(f"{base_url}/practice")
    page.get_by_role("link", name="Case 1").click()
    page.wait_for_url(f"{base_url}/practice/1")
    assert "Acme" not in page.content() and "Rita" not in page.content()
    page.get_by_label("Approve").check()
    page.get_by_label("Decision", exact=True).select_option("approved")
    page.get_by_label("Rationale", exact=True).fill("Inside the standard seat ratio.")
    page.get_by_label("Seats", exact=True).fill("110")
    page.get_by_label("Duration in days").fill("90")
    page.get_by_role("button", name="Record practice decision").click()
    reveal = page.get_by_test_id("practice-reveal")
    reveal.wait_for()
    assert "How the committee decided" in reveal.inner_text()
    result = page.get_by_test_id("attempt-result").inner_text()
    # seats 1 - 5/110 and the same duration: closeness 0.9773, score 0.5 + 0.5 x 0.9773 = 98.9% (shown as 99%)
    assert "Same outcome as the committee" in result and "boundary closeness 98%" in result and "99%" in result
    assert "99%" in page.get_by_test_id("practice-score").inner_text()
    screenshot(page, "practice-case-1280")
