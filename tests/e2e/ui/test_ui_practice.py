"""A practice case in a real browser: the reviewer decides an anonymised past request, then sees the committee's
decision and their consistency score; and a customer answers a decision's feedback link without signing in."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from connector import operations
from connector.db import db
from connector.models import ExceptionRequest, Principal

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"/feedback/[A-Za-z0-9_.\-]+")


def page_width(tab) -> int:
    return int(tab.evaluate("document.documentElement.scrollWidth"))


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
    page.set_viewport_size(PHONE)
    assert page_width(page) <= 390, "the practice case scrolls sideways on a phone"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Practice").click()
    page.wait_for_url(f"{base_url}/practice")
    assert "Case 1" in page.get_by_role("region", name="Your practice").inner_text()
    assert page_width(page) <= 390, "the practice queue scrolls sideways on a phone"
    screenshot(page, "practice-queue-390")


def test_customer_rates_a_decision_through_its_link(app, page, base_url, account, submit, small, screenshot):
    account("chair@vendor.example", "reviewer", "licensing")
    key = submit(small)
    decide_for_real(app, key)
    with app.app_context():
        summary = db.session.query(ExceptionRequest).filter_by(key=key).one().decisions[-1].customer_summary
    path = LINK.search(summary)
    assert path, summary
    page.goto(base_url + path.group(0))  # no sign-in
    page.get_by_label("A channel partner").check()
    page.get_by_label("4").check()
    page.get_by_label("What did you need").fill("The date the extra seats end, first.")
    screenshot(page, "feedback-form-1280")
    page.get_by_role("button", name="Send feedback").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    page.goto(base_url + path.group(0)[:-5] + "zzzzz")
    assert "This feedback link cannot be used" in page.get_by_role("heading").first.inner_text()
    screenshot(page, "feedback-refused-1280")
