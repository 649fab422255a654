"""Predefined outcomes wired: a decision starts from its category's predefined outcome (the prefill), one that
keeps to it is standard, one that departs is bespoke with its departures — stored, shown in the API and on the
request page, carried by the audit event, and counted in the metrics."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector.db import db
from connector.models import AuditEvent, Decision

TODAY = date.today()


@pytest.fixture
def chair(token_for):
    return token_for("reviewer", "licensing", name="chair")


def seat_request(**overrides: Any) -> dict[str, Any]:
    """A fast-track seat expansion: 100 seats licensed, 110 asked for 60 days from next week."""
    start = TODAY + timedelta(days=7)
    return {"title": "Ten more seats for the migration", "category": "seat_expansion",
            "customer": {"name": "Acme GmbH"}, "requester": {"email": "rita@vendor.example"},
            "baseline_terms": {"seats": 100}, "requested_terms": {"seats": 110}, "use_case": "Migration team",
            "revenue_impact": {"amount": "500", "currency": "USD"}, "data_sensitivity": "internal",
            "user_base": 5, "requested_start": start.isoformat(),
            "requested_end": (start + timedelta(days=60)).isoformat(), **overrides}


def create(client, token_for, body):
    r = client.post("/api/v1/requests", json=body, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def decision_events(app, key):
    with app.app_context():
        return [e.data for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "decision.recorded"))
                if e.data["key"] == key]


def test_the_prefill_is_the_predefined_outcome_applied_to_the_request(client, token_for, chair):
    req = create(client, token_for, seat_request(requested_terms={"seats": 140}))
    r = client.get(f"/api/v1/requests/{req['key']}/decision/prefill", headers=token_for("auditor"))
    assert r.status_code == 200, r.get_json()
    start = r.get_json()
    assert start["category"] == "seat_expansion" and start["outcome"] == "approved_with_conditions"
    assert start["predefined"]["max_seat_increase_ratio"] == 0.2 and start["predefined"]["max_duration_days"] == 90
    ent = start["entitlement"]
    assert ent["grants"] == {"seats": 120}  # +20% of the 100 licensed, not the 140 asked
    assert ent["effective_from"] == (TODAY + timedelta(days=7)).isoformat()
    assert ent["expires_at"] == (TODAY + timedelta(days=67)).isoformat()  # the 60 days asked fit the 90
    assert ent["conditions"] == ["Seat usage is reported monthly"]
    assert ent["success_metrics"] == ["Seats in use at the end of the period"]
    other = create(client, token_for, seat_request(category="other"))
    start = client.get(f"/api/v1/requests/{other['id']}/decision/prefill", headers=chair).get_json()
    assert start["predefined"] is None and start["entitlement"]["grants"] == {"seats": 110}
    assert client.get("/api/v1/requests/LEX-999999/decision/prefill", headers=chair).status_code == 404


def test_a_decision_on_the_predefined_outcome_is_standard_and_a_departing_one_bespoke(app, client, token_for,
                                                                                     chair):
    kept, departed, denied = (create(client, token_for, seat_request()) for _ in range(3))
    start = client.get(f"/api/v1/requests/{kept['id']}/decision/prefill", headers=chair).get_json()
    r = client.post(f"/api/v1/requests/{kept['id']}/decision", headers=chair, json={
        "outcome": start["outcome"], "rationale": "Standard seat expansion", "entitlement": start["entitlement"]})
    assert r.status_code == 201, r.get_json()
    decision = r.get_json()["decision"]
    assert decision["bespoke"] is False and decision["departures"] == []
    assert r.get_json()["entitlement"]["grants"] == {"seats": 110}

    # the API starts from the predefined outcome too; what is given replaces it, and the departures are named
    r = client.post(f"/api/v1/requests/{departed['id']}/decision", headers=chair, json={
        "outcome": "approved", "rationale": "Strategic account", "use_predefined_outcome": True,
        "entitlement": {"grants": {"seats": 150}, "conditions": []}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["entitlement"]["expires_at"] == (TODAY + timedelta(days=67)).isoformat()  # from the prefill
    assert body["decision"]["bespoke"] is True
    assert body["decision"]["departures"] == [
        "grants 150 seats; the standard outcome allows at most 120 (baseline 100)",
        "drops the standard condition 'Seat usage is reported monthly'"]
    assert client.get(f"/api/v1/requests/{departed['key']}", headers=chair).get_json()["decision"]["bespoke"] is True

    r = client.post(f"/api/v1/requests/{denied['id']}/decision", headers=chair,
                    json={"outcome": "denied", "rationale": "No budget", "use_predefined_outcome": True})
    assert r.status_code == 201 and r.get_json()["decision"]["bespoke"] is None

    [event] = decision_events(app, departed["key"])
    assert event["bespoke"] is True and len(event["departures"]) == 2
    assert decision_events(app, kept["key"])[0]["bespoke"] is False
    with app.app_context():
        stored = {d.request.key: (d.bespoke, d.departures) for d in db.session.scalars(select(Decision))}
    assert stored[kept["key"]] == (False, []) and stored[departed["key"]][0] is True

    figures = client.get("/api/v1/metrics/governance", headers=token_for("auditor")).get_json()
    counted = figures["predefined_outcomes"]
    assert (counted["standard"], counted["bespoke"], counted["without_standard"]) == (1, 1, 1)
    assert counted["bespoke_rate"] == 0.5
    assert counted["by_category"]["seat_expansion"] == {"standard": 1, "bespoke": 1, "without_standard": 1,
                                                        "bespoke_rate": 0.5}


def test_use_predefined_outcome_still_needs_what_the_outcome_cannot_give(client, token_for, chair):
    req = create(client, token_for, seat_request(category="other", requested_end=None))
    assert req["track"] == "standard" and req["risk"]["band"] == "low"  # the chair's approve is the one needed
    r = client.post(f"/api/v1/requests/{req['id']}/votes", headers=chair,
                    json={"role": "licensing", "vote": "approve"})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json={
        "outcome": "approved", "rationale": "ok", "use_predefined_outcome": True})
    assert r.status_code == 422
    assert "entitlement.expires_at" in r.get_json()["details"]["fields"]
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json={
        "outcome": "approved", "rationale": "ok", "use_predefined_outcome": "maybe"})
    assert r.status_code == 422 and "use_predefined_outcome" in r.get_json()["details"]["fields"]


def test_an_amendment_beyond_the_outcome_is_bespoke_too(client, token_for, chair):
    req = create(client, token_for, seat_request())
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json={
        "outcome": "approved_with_conditions", "rationale": "Standard", "use_predefined_outcome": True})
    assert r.status_code == 201 and r.get_json()["decision"]["bespoke"] is False
    ent = {key: r.get_json()["entitlement"][key] for key in ("grants", "effective_from", "conditions", "renewal",
                                                             "success_metrics")}
    r = client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair, json={
        "rationale": "Longer", "entitlement": {**ent, "expires_at": (TODAY + timedelta(days=200)).isoformat()}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["decision"]["bespoke"] is True
    assert r.get_json()["decision"]["departures"] == ["lasts 193 days; the standard outcome lasts at most 90"]
