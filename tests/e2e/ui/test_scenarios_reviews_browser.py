"""Scenarios and policy reviews in a real browser (the system's Chromium): a scenario's results and the amendment a
chair opens from one; a review's report, an owner's finding and closing it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from support.bodies import LARGE
from support.estate import COMMITTEE, create, decide, request_body

from connector import policy_reviews
from connector.db import db
from connector.models import AuditEvent, EntitlementBoundary

pytestmark = pytest.mark.e2e

EFFECTIVE = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture
def seeded(app, token_for):
    """Active exceptions granting sso (or not), in APAC (or not), an open request asking for sso."""
    client = app.test_client()
    board, intake = token_for("reviewer", *COMMITTEE, name="board"), token_for("intake")
    keys = {}
    for name, grants in (("sso", {"features": ["sso", "audit_log"], "regions": ["EMEA"]}),
                         ("apac", {"features": ["api_access"], "regions": ["APAC"]}),
                         ("plain", {"seats": 105}), ("plain2", {"seats": 105}), ("plain3", {"seats": 105})):
        req = create(client, intake, request_body(title=f"{name} exception"))
        keys[name] = decide(client, board, req, grants=grants)["key"]
    keys["open"] = create(client, intake, request_body(title="asks sso", requested_terms={"features": ["sso"]}))["key"]
    keys["large"] = create(client, intake, LARGE)["key"]
    return keys


def test_a_chair_runs_keeps_a_scenario_and_amends_from_its_suggestion(app, page, base_url, account, sign_in,
                                                                      seeded, screenshot):
    sign_in(page, account("chair@vendor.example", "reviewer", "licensing"))
    page.get_by_role("link", name="Scenarios").click()
    page.wait_for_url(f"{base_url}/scenarios")
    page.get_by_label("Scenario (YAML)").fill(f"name: SSO removed in 5.0\nkind: feature_removed\nfeature: sso\n"
                                              f"version: \"5.0\"\neffective: {EFFECTIVE}\n")
    page.get_by_role("button", name="Run").click()
    result = page.get_by_role("region", name=re.compile("^Result"))
    table = result.get_by_role("table")
    assert "Touches 2: 1 active exception(s), 1 open request(s)" in result.inner_text()
    rows = table.get_by_role("row")
    assert rows.count() == 3
    assert {rows.nth(n).get_by_role("link").inner_text() for n in (1, 2)} == {seeded["sso"], seeded["open"]}
    page.get_by_role("button", name="Keep scenario").click()
    page.get_by_role("status").filter(has_text="kept: it touches 2 request(s) now").wait_for()
    assert page.get_by_role("heading", level=1).inner_text() == "SSO removed in 5.0"
    screenshot(page, "scenario-results-1280")
    page.get_by_role("link", name=f"Open amendment of {seeded['sso']}").click()
    assert page.get_by_label("Features").input_value() == "audit_log"
    assert page.get_by_label("Regions").input_value() == "EMEA"
    assert "SSO removed in 5.0" in page.get_by_label("Rationale").input_value()
    page.get_by_role("button", name="Record amendment").click()
    page.wait_for_url(re.compile(f"/requests/{seeded['sso']}"))
    page.get_by_role("status").filter(has_text=f"Amendment of {seeded['sso']} recorded").wait_for()
    decision = page.get_by_role("region", name=re.compile("^Decision"))
    assert "version 2, active" in decision.inner_text()
    with app.app_context():
        latest = db.session.scalars(select(EntitlementBoundary).order_by(EntitlementBoundary.id.desc())).first()
        assert latest.change == "amended" and latest.grants == {"features": ["audit_log"], "regions": ["EMEA"]}
    screenshot(page, "scenario-amendment-recorded-1280")


def test_an_owner_reads_a_review_records_a_finding_and_closes_it(app, page, base_url, account, sign_in, seeded,
                                                                 screenshot):
    with app.app_context():
        review_id = policy_reviews.open_review("worker").id
        db.session.commit()
    sign_in(page, account("lou.legal@vendor.example", "reviewer", "legal"))
    page.get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name=f"Review {review_id}").click()
    page.wait_for_url(f"{base_url}/policy/reviews/{review_id}")
    by_category = page.get_by_role("table", name="By category")
    assert "seat expansion" in by_category.inner_text() and "usage rights" in by_category.inner_text()
    totals = page.get_by_test_id("totals").inner_text()
    assert re.search(r"Requests\s+7", totals) and re.search(r"Approved\s+5", totals)
    candidates = page.get_by_test_id("candidates").inner_text()
    assert "seats: 105" in candidates and "3 approvals" in candidates
    finding = "Seat expansions of 105 seats are approved alike: make them standard."
    page.get_by_label("Finding", exact=True).fill(finding)
    page.get_by_label("About").select_option("standard_term_candidates")
    page.get_by_role("button", name="Record finding").click()
    page.get_by_role("status").filter(has_text="Finding recorded.").wait_for()
    page.get_by_label("Summary").fill("One finding; a predefined outcome follows.")
    page.get_by_role("button", name="Close review").click()
    page.get_by_role("status").filter(has_text=f"Review {review_id} closed.").wait_for()
    assert "closed" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("button", name="Record finding").count() == 0
    screenshot(page, "policy-review-closed-1280")
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.subject == f"policy_review:{review_id}").order_by(AuditEvent.seq))]
    assert actions == ["policy_review.opened", "policy_review.finding_recorded", "policy_review.closed"]
