"""The day-two UI in a real browser: each lifecycle action, the Where it stands panel after a delivery and after a
failure, the Expiring view, search and filters, the worker banner; every page at 1280 and 390 px and checked by
axe-core (no serious or critical violation).

axe-core comes from the field tools (``.ci/field-tools`` installs it; ``LEC_FIELD_TOOLS`` names the folder) and
is evaluated into the page by the browser driver, so the pages' Content-Security-Policy stays as strict as ever.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector import operations
from connector.db import db
from connector.models import Delivery, ExceptionRequest, Principal, utcnow

pytestmark = pytest.mark.e2e

def approve(app: Any, key: str, chair: str, days: int = 120) -> None:
    """Decide through the operation the API calls, as the chair account ``chair``."""
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        me = db.session.scalar(select(Principal).where(Principal.name == chair))
        operations.decide(req, me, "approved", "Pilot fits", {
            "grants": {"seats": 105}, "expires_at": (date.today() + timedelta(days=days)).isoformat()})
        db.session.commit()


def open_action(page: Any, name: str) -> Any:
    panel = page.locator(f"details#{name}")
    panel.locator("summary").click()
    return panel


def flash(page: Any, text: str) -> None:
    page.get_by_role("status").filter(has_text=text).wait_for()


def test_chair_amends_renews_and_revokes_a_decided_request(app, page, base_url, account, sign_in, submit, small,
                                                          check):
    key = submit(small)
    chair = account("lena.chair@vendor.example", "reviewer", "licensing")
    approve(app, key, chair)
    sign_in(page, chair)
    page.goto(f"{base_url}/requests/{key}")

    amend = open_action(page, "amend")
    assert amend.get_by_label("Seats").input_value() == "105"
    amend.get_by_label("Why the change", exact=True).fill("Twenty more seats for the pilot's second team.")
    amend.get_by_label("Seats").fill("125")
    amend.get_by_role("button", name="Preview amendment").click()
    preview = page.get_by_test_id("amend-preview")
    preview.wait_for()
    assert "Version 2 replaces version 1" in preview.inner_text()
    check("lifecycle-amend-preview")
    page.locator("details#amend").get_by_role("button", name="Amend exception").click()
    flash(page, "Amended: version 2 is in force")
    check("lifecycle-amended")

    later = (date.today() + timedelta(days=200)).isoformat()
    renew = open_action(page, "renew")
    renew.get_by_label("Why renew").fill("The pilot runs another quarter.")
    renew.get_by_label("New expiry").fill(later)
    renew.get_by_role("button", name="Renew exception").click()
    flash(page, f"Renewed until {later}")
    check("lifecycle-renewed")

    scheduled = (date.today() + timedelta(days=10)).isoformat()
    revoke = open_action(page, "revoke")
    revoke.get_by_label("Reason", exact=True).fill("The contract ends early.")
    revoke.get_by_label("Takes effect on").fill(scheduled)
    revoke.get_by_role("button", name="Preview revocation").click()
    assert f"Revocation scheduled for {scheduled}" in page.get_by_test_id("revoke-preview").inner_text()
    page.locator("details#revoke").get_by_role("button", name="Revoke exception").click()
    flash(page, f"Revocation scheduled for {scheduled}")
    check("lifecycle-revocation-scheduled")

    revoke = open_action(page, "revoke")
    revoke.get_by_label("Reason", exact=True).fill("Breach of the usage terms.")
    revoke.get_by_role("button", name="Revoke exception").click()
    flash(page, "Revoked: the exception has ended")
    assert page.locator(".badge.state-revoked").first.is_visible()
    check("lifecycle-revoked")


def test_a_refused_lifecycle_action_says_why_beside_the_field(app, page, base_url, account, sign_in, submit, small,
                                                             check):
    key = submit(small)
    chair = account("lena.chair@vendor.example", "reviewer", "licensing")
    approve(app, key, chair, days=30)
    sign_in(page, chair)
    page.goto(f"{base_url}/requests/{key}")
    renew = open_action(page, "renew")
    renew.get_by_label("Why renew").fill("More time")
    renew.get_by_label("New expiry").fill(date.today().isoformat())
    renew.get_by_role("button", name="Renew exception").click()
    field = page.locator("details#renew").get_by_label("New expiry")
    field.wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    assert "Must be after" in page.locator("#renew-expires_at-errors").inner_text()
    check("lifecycle-renew-refused")


def test_dispute_reopens_review_and_intake_withdraws(app, page, base_url, account, sign_in, submit, small, check):
    key = submit(small)
    approve(app, key, account("lena.chair@vendor.example", "reviewer", "licensing"))
    sign_in(page, account("ian.intake@vendor.example", "intake"))
    page.goto(f"{base_url}/requests/{key}")
    dispute = open_action(page, "dispute")
    dispute.get_by_label("Why the decision is disputed").fill("The customer says the seat count is wrong.")
    dispute.get_by_role("button", name="Preview dispute").click()
    assert "Review reopens as round 2" in page.get_by_test_id("dispute-preview").inner_text()
    page.locator("details#dispute").get_by_role("button", name="Reopen review").click()
    flash(page, "Disputed: review reopened as round 2")
    check("lifecycle-disputed")
    withdraw = open_action(page, "withdraw")
    withdraw.get_by_label("Why it is withdrawn").fill("The deal fell through.")
    withdraw.get_by_role("button", name="Withdraw request").click()
    flash(page, "Withdrawn")
    assert page.locator(".badge.state-withdrawn").first.is_visible()
    check("lifecycle-withdrawn")


def test_where_it_stands_after_a_delivery_and_after_a_failure_with_retry(app, page, base_url, account, sign_in,
                                                                        submit, small, check):
    key = submit(small)
    approve(app, key, account("lena.chair@vendor.example", "reviewer", "licensing"))
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        now = utcnow()
        db.session.add_all([
            Delivery(request_pk=req.pk, target="billing", change="decided", version=1, message_id="msg_bill",
                     payload={}, status="delivered", attempts=1, delivered_at=now, last_status_code=200,
                     deadline=now + timedelta(days=1)),
            Delivery(request_pk=req.pk, target="email", change="decided", message_id="msg_mail", payload={},
                     status="dead", attempts=9, last_error="SMTP 550 mailbox unavailable",
                     deadline=now - timedelta(minutes=1)),
        ])
        db.session.commit()
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    page.goto(f"{base_url}/requests/{key}")
    panel = page.get_by_role("region", name="Where it stands")
    text = panel.inner_text()
    assert "Written to billing" in text and "Dead after 9 attempt(s): SMTP 550 mailbox unavailable" in text
    check("where-it-stands-failed")
    panel.get_by_role("button", name=re.compile("^Retry")).click()
    flash(page, "Delivery to email is due again now.")
    assert "Retrying, next attempt due now" in page.get_by_role("region", name="Where it stands").inner_text()
    check("where-it-stands-retried")


def test_expiring_view_lists_what_ends_soon(app, page, base_url, account, sign_in, submit, small, check):
    soon, later = submit(small), submit(small)
    chair = account("lena.chair@vendor.example", "reviewer", "licensing")
    approve(app, soon, chair, days=12)
    approve(app, later, chair, days=80)
    sign_in(page, chair)
    page.get_by_role("link", name="Expiring").click()
    page.wait_for_url(f"{base_url}/expiring")
    rows = page.get_by_role("table").inner_text()
    assert soon in rows and later not in rows and "in 12 days" in rows
    check("expiring-notice-window")
    page.get_by_role("link", name="Within 90 days").click()
    page.wait_for_url(re.compile(r"within=90"))
    assert later in page.get_by_role("table").inner_text()
    check("expiring-90-days")


def test_search_and_filters_find_requests(app, page, base_url, account, sign_in, submit, small, large, check):
    pilot = submit({**small, "title": "Seats for the Nordics pilot"})
    critical = submit(large)
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    page.goto(f"{base_url}/requests")
    page.get_by_label("Search").fill("nordics")
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(r"q=nordics"))
    table = page.get_by_role("table").inner_text()
    assert pilot in table and critical not in table
    check("requests-search")
    page.goto(f"{base_url}/requests")
    page.get_by_label("Risk band").select_option("critical")
    page.get_by_label("Sort by").select_option("risk")
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(r"band=critical"))
    table = page.get_by_role("table").inner_text()
    assert critical in table and pilot not in table and "Expires" in table
    check("requests-filtered")


def test_worker_banner_says_no_worker_runs(app, page, base_url, account, sign_in, check):
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    page.goto(f"{base_url}/requests")
    banner = page.get_by_test_id("worker-banner")
    assert "No worker has ever reported in" in banner.inner_text()
    check("worker-banner")


def test_every_page_passes_axe_at_both_widths(app, page, base_url, account, sign_in, submit, small, large, check):
    key = submit(large)
    approve(app, submit(small), account("lena.chair@vendor.example", "reviewer", "licensing"))
    page.goto(f"{base_url}/sign-in")
    check("page-sign-in")
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    for path, name in (("/requests", "requests"), (f"/requests/{key}", "request"), ("/expiring?within=90", "expiring"),
                       ("/admin/deliveries", "deliveries"), ("/audit", "audit"), ("/reports", "metrics"),
                       ("/admin/connections", "connections"), ("/admin/policy", "policy"),
                       ("/notifications", "notifications"), ("/notifications/roles/legal", "role-notifications"),
                       ("/no/such/page", "not-found")):
        page.goto(f"{base_url}{path}")
        check(f"page-{name}")
