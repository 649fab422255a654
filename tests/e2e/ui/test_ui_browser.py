"""The UI in a real browser (the system's Chromium through Playwright): what reviewers and admins do."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from connector.db import db
from connector.models import ExceptionRequest, Vote

pytestmark = pytest.mark.e2e

RECORD = {
    "attributes": {"type": "License_Exception_Request__c", "url": "/services/data/v62.0/sobjects/x/a0X1"},
    "Id": "a0X000000000001AAA", "Name": "More seats for Acme", "Category__c": "Seat Expansion",
    "Account__r": {"attributes": {"type": "Account"}, "Name": "Acme GmbH"},
    "Requester__r": {"attributes": {"type": "User"}, "Name": "Rita", "Email": "rita@vendor.example"},
    "Baseline_Seats__c": 100.0, "Requested_Seats__c": 105.0, "Use_Case__c": "Pilot team",
    "Revenue_Impact__c": 500.0, "CurrencyIsoCode": "USD", "Data_Sensitivity__c": "Internal", "User_Base__c": 5.0,
    "Requested_Start__c": "2026-12-01", "Requested_End__c": "2026-12-31", "IsDeleted": False,
}


#: What sticks out to the right of the viewport (what makes a page scroll sideways): elements not clipped by a
#: scrolling ancestor (a wide table may scroll inside its wrapper), and absolutely positioned ones, which
#: escape their wrapper unless it is their containing block.
OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    const clipped = (el) => {
        if (["absolute", "fixed"].includes(getComputedStyle(el).position)) return false;
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
            if (getComputedStyle(up).overflowX !== "visible") return true;
        }
        return false;
    };
    const out = [];
    for (const el of document.querySelectorAll("body *")) {
        const box = el.getBoundingClientRect();
        if (box.width && box.right > width + 0.5 && !clipped(el)) {
            const name = el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
            out.push(`${name} right=${Math.round(box.right)}`);
        }
    }
    return {scrollWidth: document.documentElement.scrollWidth, culprits: out.slice(0, 8)};
}"""


def assert_fits_a_phone(page, what: str) -> None:
    """At 390 px the page itself never scrolls sideways (a wide table may scroll inside its own wrapper)."""
    assert page.viewport_size["width"] == 390
    seen = page.evaluate(OVERFLOWING)
    assert seen["scrollWidth"] <= 390, f"{what} is {seen['scrollWidth']} px wide at 390 px: {seen['culprits']}"


def votes(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Vote)))


def test_reviewer_signs_in_and_votes(app, page, base_url, account, sign_in, submit, large, screenshot):
    key = submit(large)
    sign_in(page, account("lou.legal@vendor.example", "reviewer", "legal"))
    assert page.url == f"{base_url}/queue"
    row = page.get_by_role("row").filter(has_text=key)
    assert "legal" in row.inner_text()
    screenshot(page, "reviewer-queue-1280")
    row.get_by_role("link", name=key).click()
    page.wait_for_url(f"{base_url}/requests/{key}")
    assert page.get_by_label("Committee role").input_value() == "legal"
    page.get_by_label("Approve").check()
    page.get_by_label("Rationale").fill("Indemnity is capped at the contract value.")
    page.get_by_role("button", name="Record vote").click()
    page.get_by_role("status").filter(has_text="Your approve vote as legal is recorded.").wait_for()
    votes_table = page.get_by_role("region", name=re.compile("^Votes")).get_by_role("table")
    assert "Indemnity is capped at the contract value." in votes_table.inner_text()
    screenshot(page, "reviewer-voted-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "reviewer-voted-390")
    assert_fits_a_phone(page, "the request page")
    page.goto(f"{base_url}/queue")
    assert page.get_by_text("Nothing waits for your vote.").is_visible()
    with app.app_context():
        vote = db.session.scalar(select(Vote))
        assert (vote.role, vote.vote, vote.voter) == ("legal", "approve", "lou.legal@vendor.example")


def test_chair_decides_with_boundaries_and_sees_the_summary(app, page, base_url, account, sign_in, submit, small,
                                                             screenshot):
    key = submit(small)
    sign_in(page, account("lena.chair@vendor.example", "reviewer", "licensing"))
    page.goto(f"{base_url}/requests/{key}")
    expires = (date.today() + timedelta(days=120)).isoformat()
    decision = page.get_by_role("region", name=re.compile("^Decision"))
    decision.get_by_label("Outcome").select_option("approved_with_conditions")
    decision.get_by_label("Rationale").fill("A pilot ahead of the Q1 renewal; small and time-boxed.")
    assert decision.get_by_label("Seats").input_value() == "105"
    decision.get_by_label("Regions").fill("EMEA")
    decision.get_by_label("Expires at").fill(expires)
    decision.get_by_label("Conditions").fill("Monthly usage report\nNo production data")
    decision.get_by_label("Notice days").fill("14")
    decision.get_by_label("Success metrics").fill("Pilot converts to 20 paid seats")
    decision.get_by_role("button", name="Preview customer summary").click()
    preview = page.get_by_test_id("summary-preview")
    preview.wait_for()
    text = preview.inner_text()
    assert "Hello Acme GmbH," in text and "What changes: seats: 105; regions: EMEA." in text
    assert f"until {expires}" in text and "Conditions: Monthly usage report; No production data." in text
    screenshot(page, "chair-summary-preview-1280")
    with app.app_context():
        assert db.session.scalar(select(ExceptionRequest.state).where(ExceptionRequest.key == key)) == "in_review"
    page.get_by_role("region", name=re.compile("^Decision")).get_by_role("button", name="Record decision").click()
    page.get_by_role("status").filter(has_text="Decision recorded: approved with conditions.").wait_for()
    summary = page.get_by_test_id("customer-summary").inner_text()
    assert "What changes: seats: 105; regions: EMEA." in summary and "Pilot converts to 20 paid seats" in summary
    assert page.locator(".badge.state-approved").first.is_visible()
    screenshot(page, "chair-decided-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "chair-decided-390")
    assert_fits_a_phone(page, "the decided request page")
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        assert req.state == "approved" and req.entitlements[-1].grants == {"seats": 105, "regions": ["EMEA"]}
        assert req.entitlements[-1].expires_at.isoformat() == expires
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base_url}/reports")
    assert page.locator("svg.chart").count() == 5  # time, SLA, outcomes, backlog, expiries by month
    screenshot(page, "metrics-1280")


def test_admin_saves_a_broken_mapping_sees_the_errors_then_previews(app, page, base_url, account, sign_in,
                                                                     screenshot):
    from connector import connections

    with app.app_context():
        connections.create("sf-prod", "salesforce", {"client_id": "3MVG9example", "client_secret": "s3cret"}, "test")
        db.session.commit()
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    assert page.url == f"{base_url}/admin/connections"
    screenshot(page, "admin-connections-1280")
    page.get_by_role("link", name="Edit mapping of sf-prod").click()
    editor = page.get_by_label("Mapping (YAML)")
    original = editor.input_value()
    broken = original.replace("inbound:\n", "inbound:\n  customer.shoe_size: Shoe__c\n", 1)
    editor.fill(broken)
    page.get_by_role("button", name="Save mapping").click()
    problems = page.locator("#mapping-problems")
    problems.wait_for()
    line = broken.splitlines().index("  customer.shoe_size: Shoe__c") + 1
    assert f"inbound.customer.shoe_size (line {line})" in problems.inner_text()
    assert "nothing was changed" in problems.inner_text()
    assert "customer.shoe_size: Shoe__c" in page.get_by_label("Mapping (YAML)").input_value()
    screenshot(page, "admin-mapping-errors-1280")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExceptionRequest)) == 0
    page.get_by_label("Mapping (YAML)").fill(original)
    page.get_by_label("Sample record (JSON)").fill(json.dumps(RECORD, indent=2))
    page.get_by_role("button", name="Preview").click()
    result = page.locator("#preview-result")
    result.wait_for()
    assert "Would be in review" in result.inner_text() and '"name": "Acme GmbH"' in result.inner_text()
    screenshot(page, "admin-mapping-preview-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "admin-mapping-preview-390")
    assert_fits_a_phone(page, "the mapping editor with its preview")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExceptionRequest)) == 0


def test_a_forged_form_post_without_the_csrf_token_is_refused(app, page, base_url, account, sign_in, submit, large,
                                                              screenshot):
    key = submit(large)
    sign_in(page, account("sue.security@vendor.example", "reviewer", "security"))
    page.goto(f"{base_url}/requests/{key}")
    status = page.evaluate("""async (url) => {
        const body = new URLSearchParams({role: "security", vote: "approve", rationale: "forged"});
        const r = await fetch(url, {method: "POST", body, credentials: "same-origin"});
        return r.status;
    }""", f"{base_url}/requests/{key}/votes")
    assert status == 400
    page.locator('form[action$="/votes"] input[name="csrf_token"]').evaluate("input => input.remove()")
    page.get_by_label("Approve").check()
    with page.expect_response(lambda r: r.url.endswith("/votes")) as answer:
        page.get_by_role("button", name="Record vote").click()
    assert answer.value.status == 400
    assert page.get_by_role("alert").filter(has_text="security token is missing or expired").is_visible()
    screenshot(page, "forged-post-refused-1280")
    assert votes(app) == 0


def test_admin_pages_fit_a_phone(app, page, base_url, account, sign_in, submit, small, screenshot):
    """Every admin page at 390 px, with the long content real setups have: no sideways page scrolling."""
    from connector import connections
    from connector.models import Delivery, utcnow

    key = submit(small)
    with app.app_context():
        connections.create("salesforce-production-emea", "salesforce",
                           {"client_id": "3MVG9example", "client_secret": "s3cret",
                            "login_url": "https://acme-emea-production.my.salesforce.com"}, "test")
        connections.create("zendesk-support-eu", "zendesk",
                           {"subdomain": "acme-support-europe", "client_id": "lec-connector"}, "test")
        conn = connections.find("salesforce-production-emea")
        conn.status, conn.status_detail = "paused", (
            "Salesforce sync stopped at 83% of the daily API allocation (12450 of 15000 requests in the last "
            "24 hours; this connection stops above 80% so the org's other integrations keep working).")
        conn.settings = {**conn.settings, "api_usage_share": 0.83}
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        db.session.add(Delivery(request_pk=req.pk, target="salesforce:salesforce-production-emea", change="decided",
                                version=1, message_id="msg_dead_1", payload={}, status="dead", attempts=7,
                                last_error="License_Exception_Request__c a0X5g0000000001AAA: "
                                           "FIELD_CUSTOM_VALIDATION_EXCEPTION: Governance_Status__c_is_locked",
                                last_status_code=400, next_attempt_at=utcnow(), deadline=utcnow()))
        db.session.commit()
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    page.set_viewport_size({"width": 390, "height": 844})
    pages = {
        "connections": "/admin/connections",
        "mapping": "/admin/connections/salesforce-production-emea/mapping",
        "policy": "/admin/policy",
        "deliveries": "/admin/deliveries",
        "audit": "/audit",
    }
    for name, path in pages.items():
        page.goto(f"{base_url}{path}")
        page.locator("h1").wait_for()
        screenshot(page, f"admin-{name}-390")
        assert_fits_a_phone(page, f"the {name} page")
    page.goto(f"{base_url}/admin/connections")
    page.locator("summary", has_text="Webhook URLs").click()  # long webhook URLs wrap, not widen the page
    assert page.locator(".webhooks code").first.is_visible()
    assert_fits_a_phone(page, "the connections page with its webhook URLs open")
    sync = page.get_by_role("table", name="Salesforce orgs and Zendesk accounts").get_by_role(
        "button", name="Sync now salesforce-production-emea")
    sync.scroll_into_view_if_needed()  # the table scrolls inside its wrapper: its actions stay reachable
    box = sync.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert_fits_a_phone(page, "the connections page scrolled to the actions")
