"""Policy simulation wired: on a seeded history of 240 requests across tracks and bands, a draft that lowers the
fast-track revenue threshold moves exactly the requests a hand count says — through the API (JSON and YAML), the
CLI and the audit event of the saved version — and simulating writes nothing."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, update

from connector import operations
from connector.db import db
from connector.governance.policy import default_policy_text
from connector.governance.schema import load_fields
from connector.models import AuditEvent, ExceptionRequest

CATEGORIES = ["seat_expansion", "term_extension", "feature_access", "deployment_scope", "usage_rights",
              "pricing_deviation", "geographic_scope", "other", "seat_expansion", "feature_access"]
FAST_CATEGORIES = {"seat_expansion", "term_extension", "feature_access", "deployment_scope"}
SENSITIVITY = ["public", "internal", "internal", "confidential", "regulated"]
REVENUES = [0, 500, 5_000, 9_999, 10_000, 12_500, 15_000, 18_000, 20_000, 25_000, 25_001, 60_000, 150_000, 2_000_000]
SEEDED = 240


def body(number: int, rng: random.Random) -> dict[str, Any]:
    start = date.today() + timedelta(days=rng.randrange(1, 60))
    return {"title": f"Request {number}", "category": rng.choice(CATEGORIES),
            "customer": {"name": f"Customer {number % 37}"}, "requester": {"email": "rep@vendor.example"},
            "baseline_terms": {"seats": 100}, "requested_terms": {"seats": 100 + rng.choice([5, 20, 80])},
            "use_case": "x", "revenue_impact": {"amount": str(rng.choice(REVENUES)), "currency": "USD"},
            "data_sensitivity": rng.choice(SENSITIVITY), "user_base": rng.choice([5, 500, 1000, 1001, 20_000]),
            "requested_start": start.isoformat(),
            "requested_end": (start + timedelta(days=rng.choice([30, 90, 120, 121, 400]))).isoformat()}


def fast_by_hand(fields: dict[str, Any], threshold: int) -> bool:
    """The fast-track conditions counted by hand from the policy text, not through the triage code."""
    duration = (date.fromisoformat(fields["requested_end"]) - date.fromisoformat(fields["requested_start"])).days
    return (fields["category"] in FAST_CATEGORIES and Decimal(fields["revenue_impact"]["amount"]) <= threshold
            and fields["user_base"] <= 1000 and fields["data_sensitivity"] in ("public", "internal")
            and duration <= 120)


@pytest.fixture
def history(app) -> dict[str, dict[str, Any]]:
    """240 requests (key → body); every tenth is two years old: denied ones fall outside the window, approved
    (active) and open ones are simulated whatever their age."""
    rng = random.Random(11)
    seeded: dict[str, dict[str, Any]] = {}
    with app.app_context():
        for number in range(SEEDED):
            data = body(number, rng)
            req, _ = operations.submit(typed=load_fields(dict(data)), source="api", actor="seed")
            seeded[req.key] = {**data, "_old_state": None}
            if number % 10 == 0:
                state = ("denied", "approved", "needs_info")[number // 10 % 3]
                db.session.execute(update(ExceptionRequest).where(ExceptionRequest.pk == req.pk).values(
                    state=state, created_at=datetime.now(UTC) - timedelta(days=730)))
                seeded[req.key]["_old_state"] = state
        db.session.commit()
    return seeded


def draft_document(**fast_track: Any) -> dict[str, Any]:
    document = yaml.safe_load(default_policy_text())
    document["fast_track"].update(fast_track)
    return document


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {table.name: int(db.session.scalar(select(func.count()).select_from(table)) or 0)
                for table in db.metadata.sorted_tables}


def expected_moves(history: dict[str, dict[str, Any]]) -> set[str]:
    return {key for key, data in history.items()
            if data["_old_state"] != "denied" and fast_by_hand(data, 25_000) and not fast_by_hand(data, 10_000)}


def test_lowering_the_revenue_threshold_moves_exactly_the_expected_requests_and_writes_nothing(
        app, client, token_for, history):
    admin = token_for("admin")
    expected = expected_moves(history)
    assert len(expected) >= 10
    with app.app_context():
        bands = set(db.session.scalars(select(ExceptionRequest.risk_band)))
    assert len(bands) >= 3  # the history spans bands
    before = row_counts(app)
    r = client.post("/api/v1/policy/simulate", json={"policy": draft_document(max_revenue_impact=10_000)},
                    headers=admin)
    assert r.status_code == 200, r.get_json()
    result = r.get_json()
    assert row_counts(app) == before  # nothing written: no row in any table, no audit event

    assert {d["key"] for d in result["differences"]} == expected
    totals = result["totals"]
    assert totals["requests"] == SEEDED - SEEDED // 30  # the old denied requests are outside the window
    assert (totals["changed"], totals["to_standard_track"], totals["to_fast_track"]) == (len(expected),
                                                                                         len(expected), 0)
    assert totals["band_moves"] == []
    moved = next(d for d in result["differences"] if d["state"] == "in_review")
    assert (moved["now"]["track"], moved["draft"]["track"]) == ("fast", "standard")
    assert moved["now"]["required_roles"] == ["licensing"] and len(moved["draft"]["required_roles"]) >= 1
    assert moved["draft"]["due_at"] > moved["now"]["due_at"]
    assert any("revenue impact above 10000" in reason for reason in moved["draft"]["reasons"])
    by_band = {band: sum(1 for d in result["differences"] if d["now"]["band"] == band) for band in bands}
    assert totals["reviewer_load"]["sales"]["change"] == by_band.get("medium", 0) + by_band.get("high", 0) + \
        by_band.get("critical", 0)

    # the same draft as YAML, and an earlier window that adds nothing (everything seeded is newer or live)
    text = yaml.safe_dump(draft_document(max_revenue_impact=10_000))
    r = client.post("/api/v1/policy/simulate?since=2020-01-01", data=text, content_type="application/yaml",
                    headers=admin)
    assert r.status_code == 200, r.get_json()
    assert {d["key"] for d in r.get_json()["differences"]} == expected | {
        k for k, d in history.items() if d["_old_state"] == "denied" and fast_by_hand(d, 25_000)
        and not fast_by_hand(d, 10_000)}
    assert row_counts(app) == before


def test_raising_the_threshold_moves_requests_to_the_fast_track(app, client, token_for, history):
    expected = {key for key, data in history.items()
                if data["_old_state"] != "denied" and fast_by_hand(data, 100_000) and not fast_by_hand(data, 25_000)}
    r = client.post("/api/v1/policy/simulate", json={"policy": draft_document(max_revenue_impact=100_000)},
                    headers=token_for("admin"))
    assert r.status_code == 200
    assert {d["key"] for d in r.get_json()["differences"]} == expected
    assert r.get_json()["totals"]["to_fast_track"] == len(expected) > 0


def test_invalid_drafts_and_callers_are_refused_like_put_policy(app, client, token_for):
    admin, reviewer = token_for("admin"), token_for("reviewer", "licensing")  # tokens are audited: made first
    before = row_counts(app)
    broken = draft_document(max_revenue_impact=-5)
    broken["committee"]["chair"] = "finance"
    r = client.post("/api/v1/policy/simulate", json={"policy": broken}, headers=admin)
    assert r.status_code == 422
    assert {"fast_track.max_revenue_impact", "committee.chair"} <= set(r.get_json()["details"]["fields"])
    r = client.post("/api/v1/policy/simulate", data="categories: [", content_type="text/yaml", headers=admin)
    assert r.status_code == 422 and r.get_json()["code"] == "policy_not_yaml"
    r = client.post("/api/v1/policy/simulate", json={"nothing": 1}, headers=admin)
    assert r.status_code == 422 and "document" in r.get_json()["details"]["fields"]
    r = client.post("/api/v1/policy/simulate", json={"document": default_policy_text(), "since": "last week"},
                    headers=admin)
    assert r.status_code == 422 and "since" in r.get_json()["details"]["fields"]
    r = client.post("/api/v1/policy/simulate?since=yesterday", data=default_policy_text(),
                    content_type="application/yaml", headers=admin)
    assert r.status_code == 422 and "since" in r.get_json()["details"]["fields"]
    r = client.post("/api/v1/policy/simulate", json={"document": default_policy_text()}, headers=reviewer)
    assert r.status_code == 403
    assert row_counts(app) == before


def test_saving_a_version_records_the_simulation_totals_in_its_audit_event(app, client, token_for, history):
    expected = expected_moves(history)
    r = client.put("/api/v1/policy", json={"policy": draft_document(max_revenue_impact=10_000)},
                   headers=token_for("admin"))
    assert r.status_code == 200 and r.get_json()["version"] == 2
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.changed")
                                   .order_by(AuditEvent.seq.desc())).first()
        assert event is not None
        simulation = event.data["simulation"]
    assert simulation["compared_with"] == 1 and simulation["changed"] == len(expected)
    assert simulation["to_standard_track"] == len(expected) and simulation["requests"] == SEEDED - SEEDED // 30


def test_the_cli_prints_the_differences_and_the_totals(app, history, tmp_path):
    expected = expected_moves(history)
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(draft_document(max_revenue_impact=10_000)), "utf-8")
    before = row_counts(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["connector", "policy", "simulate", str(draft)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    listed = {line.split()[0] for line in lines[2:] if line.strip() and line.split()[0] in history}
    assert listed == expected
    assert f"{len(expected)} of {SEEDED - SEEDED // 30} request(s) would change: 0 to the fast track, " \
           f"{len(expected)} to the standard track" in result.output
    assert "fast -> standard" in result.output
    as_json = runner.invoke(args=["connector", "policy", "simulate", str(draft), "--json"])
    assert as_json.exit_code == 0
    assert {d["key"] for d in json.loads(as_json.output)["differences"]} == expected
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(draft_document(max_user_base="many")), "utf-8")
    refused = runner.invoke(args=["connector", "policy", "simulate", str(bad)])
    assert refused.exit_code == 1 and "fast_track.max_user_base" in refused.output
    assert row_counts(app) == before
    stored = runner.invoke(args=["connector", "policy", "set", str(draft)])
    assert stored.exit_code == 0, stored.output
    assert stored.output.splitlines() == [
        "policy version 2 in force",
        f"{len(expected)} of {SEEDED - SEEDED // 30} request(s) would change: 0 to the fast track, {len(expected)} to "
        "the standard track; band moves: none; reviewer load: " + stored.output.split("reviewer load: ")[1].strip()]
