"""Predefined outcomes and policy simulation in the UI: the decision form starts from the category's predefined
outcome, a decision that departs from it is shown as bespoke with its departures and counted on the metrics page,
and the policy editor simulates a draft before saving it."""

from __future__ import annotations

import html as markup
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, Decision, PolicyVersion
from connector.policy_store import current_policy

TODAY = date.today()


def seat_request(seats: int = 140, revenue: str = "500") -> dict[str, Any]:
    start = TODAY + timedelta(days=5)
    return {"title": "More seats", "category": "seat_expansion", "customer": {"name": "Acme GmbH"},
            "requester": {"email": "rita@vendor.example"}, "baseline_terms": {"seats": 100},
            "requested_terms": {"seats": seats}, "use_case": "Pilot",
            "revenue_impact": {"amount": revenue, "currency": "USD"}, "data_sensitivity": "internal",
            "user_base": 5, "requested_start": start.isoformat(),
            "requested_end": (start + timedelta(days=100)).isoformat()}


def form_of(page: str, csrf) -> dict[str, str]:
    """What the decision form holds as served (the predefined outcome), ready to post back unchanged."""
    start = TODAY + timedelta(days=5)
    expected = {"grants_seats": "120", "effective_from": start.isoformat(),
                "expires_at": (start + timedelta(days=90)).isoformat()}
    for name, value in expected.items():
        assert f'name="{name}"' in page and f'value="{value}"' in page, (name, value)
    assert "Seat usage is reported monthly</textarea>" in page
    assert "Seats in use at the end of the period</textarea>" in page
    assert '<option selected value="approved_with_conditions">' in page
    return {"csrf_token": csrf(page), "outcome": "approved_with_conditions", "rationale": "Standard expansion",
            **expected, "conditions": "Seat usage is reported monthly", "renewal_mode": "manual",
            "success_metrics": "Seats in use at the end of the period", "submit": "Record decision"}


def test_the_decision_form_starts_from_the_predefined_outcome_and_a_departure_is_shown_bespoke(
        app, signed_in, submit, csrf):
    chair = signed_in("reviewer", "licensing")
    kept, departed = submit(seat_request()), submit(seat_request())
    page = chair.get(f"/requests/{kept}").get_data(as_text=True)
    assert "Starts from the predefined outcome for seat expansion" in page
    r = chair.post(f"/requests/{kept}/decision", data=form_of(page, csrf))
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    html = chair.get(f"/requests/{kept}").get_data(as_text=True)
    assert 'class="badge standard"' in html and "Within the predefined outcome for seat expansion" in html

    page = chair.get(f"/requests/{departed}").get_data(as_text=True)
    form = {**form_of(page, csrf), "grants_seats": "140", "rationale": "Strategic account"}
    preview = chair.post(f"/requests/{departed}/decision", data={**form, "submit": "",
                                                                 "preview": "Preview customer summary"})
    assert 'data-testid="preview-verdict"><span class="badge bespoke">' in preview.get_data(as_text=True)
    r = chair.post(f"/requests/{departed}/decision", data=form)
    assert r.status_code == 303
    html = markup.unescape(chair.get(f"/requests/{departed}").get_data(as_text=True))
    assert 'class="badge bespoke"' in html
    assert "grants 140 seats; the standard outcome allows at most 120 (baseline 100)" in html
    with app.app_context():
        assert sorted(db.session.scalars(select(Decision.bespoke))) == [False, True]

    metrics = chair.get("/reports").get_data(as_text=True)
    assert "<strong>1</strong> standard and <strong>1</strong> bespoke (50" in metrics


def test_the_policy_editor_simulates_a_draft_without_saving_it(app, signed_in, submit, csrf):
    moving = submit(seat_request(seats=110, revenue="15000"))
    staying = submit(seat_request(seats=110, revenue="5000"))
    admin = signed_in("admin")
    page = admin.get("/admin/policy").get_data(as_text=True)
    assert '<input id="simulate" name="simulate" type="submit" value="Simulate">' in page
    with app.app_context():
        draft = current_policy().document.replace("max_revenue_impact: 25000", "max_revenue_impact: 10000")
        before = (db.session.scalar(select(func.count()).select_from(AuditEvent)),
                  db.session.scalar(select(func.count()).select_from(PolicyVersion)))
    r = admin.post("/admin/policy", data={"csrf_token": csrf(page), "document": draft, "simulate": "Simulate"})
    assert r.status_code == 200
    html = markup.unescape(r.get_data(as_text=True))
    assert f'data-key="{moving}"' in html and f'data-key="{staying}"' not in html
    assert "1 of 2 request(s) would change: 0 to the fast track, 1 to the standard track" in html
    assert "revenue impact above 10000" in html
    with app.app_context():
        assert (db.session.scalar(select(func.count()).select_from(AuditEvent)),
                db.session.scalar(select(func.count()).select_from(PolicyVersion))) == before
    broken = draft.replace("chair: licensing", "chair: finance")
    r = admin.post("/admin/policy", data={"csrf_token": csrf(page), "document": broken, "simulate": "Simulate"})
    assert r.status_code == 422 and "<code>committee.chair</code>" in r.get_data(as_text=True)
    r = admin.post("/admin/policy", data={"csrf_token": csrf(page), "document": draft, "save": "Save policy"})
    assert r.status_code == 303
    flashed = markup.unescape(admin.get("/admin/policy").get_data(as_text=True))
    assert "Policy version 2 is in force. 1 of 2 request(s) would change" in flashed
