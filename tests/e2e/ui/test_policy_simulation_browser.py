"""The policy editor in a real browser (the system's Chromium): an admin lowers the fast-track revenue threshold,
presses Simulate and sees exactly the requests that would leave the fast track, with the totals, before saving;
saving records those totals in the new version's audit event."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, PolicyVersion

pytestmark = pytest.mark.e2e

REVENUES = ["500", "9000", "12000", "18000", "24000", "30000", "200000"]


def seat_request(number: int, revenue: str) -> dict[str, Any]:
    start = date.today() + timedelta(days=3)
    return {"title": f"Seats {number}", "category": "seat_expansion", "customer": {"name": f"Customer {number}"},
            "requester": {"email": "rep@vendor.example"}, "baseline_terms": {"seats": 100},
            "requested_terms": {"seats": 110}, "use_case": "Pilot",
            "revenue_impact": {"amount": revenue, "currency": "USD"}, "data_sensitivity": "internal",
            "user_base": 50, "requested_start": start.isoformat(),
            "requested_end": (start + timedelta(days=30)).isoformat()}


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (int(db.session.scalar(select(func.count()).select_from(AuditEvent))),
                int(db.session.scalar(select(func.count()).select_from(PolicyVersion))))


def test_the_policy_editor_shows_the_simulation_before_saving(app, page, base_url, account, sign_in, submit,
                                                              screenshot):
    keys = {revenue: submit(copy.deepcopy(seat_request(n, revenue))) for n, revenue in enumerate(REVENUES)}
    leaving = {keys[r] for r in ("12000", "18000", "24000")}  # above 10,000 and within 25,000: fast today
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    page.goto(f"{base_url}/admin/policy")
    editor = page.get_by_label("Policy (YAML)")
    document = editor.input_value()
    assert "max_revenue_impact: 25000" in document
    editor.fill(document.replace("max_revenue_impact: 25000", "max_revenue_impact: 10000"))
    before = counts(app)
    page.get_by_role("button", name="Simulate").click()
    section = page.get_by_test_id("simulation")
    section.wait_for()
    rows = page.get_by_test_id("simulation-differences").locator("tbody tr")
    assert {rows.nth(i).get_attribute("data-key") for i in range(rows.count())} == leaving
    first = rows.filter(has_text=sorted(leaving)[0])
    assert "fast → standard" in first.inner_text() and "revenue impact above 10000" in first.inner_text()
    totals = page.get_by_test_id("simulation-totals").inner_text()
    assert totals.startswith(f"3 of {len(REVENUES)} request(s) would change: 0 to the fast track, 3 to the "
                             "standard track")
    assert counts(app) == before  # simulating wrote nothing
    assert "max_revenue_impact: 10000" in editor.input_value()  # the draft is still in the editor
    screenshot(page, "policy-simulation-1280")

    page.get_by_role("button", name="Save policy").click()
    page.get_by_role("status").filter(has_text="Policy version 2 is in force.").wait_for()
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.changed")
                                   .order_by(AuditEvent.seq.desc())).first()
        assert event is not None and event.data["version"] == 2
        assert event.data["simulation"]["to_standard_track"] == 3 and event.data["simulation"]["changed"] == 3


def test_the_decision_form_starts_from_the_predefined_outcome_and_a_departure_shows_bespoke(
        app, page, base_url, account, sign_in, submit, screenshot):
    key = submit({**seat_request(1, "500"), "requested_terms": {"seats": 140}})
    sign_in(page, account("chair@vendor.example", "reviewer", "licensing"))
    page.goto(f"{base_url}/requests/{key}")
    assert "predefined outcome for seat expansion" in page.get_by_test_id("predefined-outcome").inner_text()
    seats = page.get_by_label("Seats")
    assert seats.input_value() == "120"  # the 140 asked, capped at +20% of the 100 licensed
    assert page.get_by_label("Conditions").input_value() == "Seat usage is reported monthly"
    seats.fill("140")
    page.locator("#decision-rationale").fill("Strategic account: the whole team migrates at once.")
    page.get_by_role("button", name="Record decision").click()
    verdict = page.get_by_test_id("outcome-verdict")
    verdict.wait_for()
    assert "Bespoke" in verdict.inner_text()
    assert "grants 140 seats; the standard outcome allows at most 120 (baseline 100)" in verdict.inner_text()
    screenshot(page, "decision-bespoke-1280")
