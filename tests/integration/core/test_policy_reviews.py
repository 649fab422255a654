"""Periodic policy reviews: the worker opens one on the policy's cadence (time travel), its issuance-pattern report
matches a hand count of seeded requests, owners record findings and close it, and every step is audited."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from support.bodies import LARGE
from support.estate import COMMITTEE, create, decide, request_body

from connector import operations, policy_reviews, worker
from connector.db import db
from connector.governance.errors import InvalidInput
from connector.governance.policy import default_policy_text, parse_policy
from connector.models import AuditEvent, PolicyReview, PolicyVersion


def _policy_stored_at(app):
    with app.app_context():
        return db.session.scalar(select(func.min(PolicyVersion.created_at)))


def _run_job(app):
    with app.app_context():
        result = worker.run_job("policy_review", worker.periodic_jobs()["policy_review"])
        assert result is not worker.JOB_FAILED
        return result


def _large(account):
    body = copy.deepcopy(LARGE)
    body["customer"] = {**body["customer"], "account_id": account}
    return body


def _seed(client, token_for, clock):
    """Seven requests; the comments give what the report must count."""
    intake, board = token_for("intake"), token_for("reviewer", *COMMITTEE, name="board")
    seat = {"seats": 105}

    def small(account, segment="Mid-Market"):
        return request_body(customer={"name": f"Customer {account}", "account_id": account, "segment": segment})

    r1 = decide(client, board, create(client, intake, small("001A")), grants=seat)
    r2 = decide(client, board, create(client, intake, small("001A")), grants=seat)
    r3 = decide(client, board, create(client, intake, small("001C", "SMB")), grants=seat)
    r6 = decide(client, board, create(client, intake, small("001D")), grants=seat)
    r7 = decide(client, board, create(client, intake, small("001E")), grants={"seats": 104}, days=30)
    r4 = create(client, intake, _large("001B"))
    r5 = create(client, intake, _large("001B"))
    for req, dimension, value in ((r4, "legal", 2), (r5, "legal", 1), (r5, "technical", 5)):
        r = client.post(f"/api/v1/requests/{req['id']}/risk-overrides", headers=board,
                        json={"dimension": dimension, "value": value, "rationale": "calibrated by hand"})
        assert r.status_code == 201, r.get_json()
    decide(client, board, r4, "denied")
    assert client.post(f"/api/v1/requests/{r5['id']}/votes", headers=board,
                       json={"role": "legal", "vote": "approve"}).status_code == 201
    clock.shift(timedelta(minutes=10))
    assert client.post(f"/api/v1/requests/{r1['id']}/disputes", headers=intake,
                       json={"reason": "The pilot needs the seats longer"}).status_code == 201
    clock.shift(timedelta(minutes=10))
    decide(client, board, r1, "denied")
    r5_view = client.get(f"/api/v1/requests/{r5['id']}", headers=board).get_json()
    return {"r1": r1, "r2": r2, "r3": r3, "r4": r4, "r5": r5_view, "r6": r6, "r7": r7}


def _rows(rows):
    return {r["value"]: (r["requests"], r["decided"], r["approved"], r["approval_rate"]) for r in rows}


def test_a_review_opens_on_its_cadence_with_figures_that_match_a_hand_count(app, client, token_for):
    start = _policy_stored_at(app)
    with time_machine.travel(start + timedelta(days=1), tick=False) as clock:
        seeded = _seed(client, token_for, clock)
        assert _run_job(app) == {"opened": 0}
        clock.move_to(start + timedelta(days=32))  # r7 (30 days) has expired without renewal
        with app.app_context():
            assert operations.run_expiry()["expired"] == 1
            db.session.commit()
        clock.move_to(start + timedelta(days=89, hours=23))
        assert _run_job(app) == {"opened": 0}
        clock.move_to(start + timedelta(days=90, hours=1))
        assert _run_job(app) == {"opened": 1}
        assert _run_job(app) == {"opened": 0}  # not due again until the next cadence
        with app.app_context():
            row = db.session.scalars(select(PolicyReview)).one()
            report, review_id = row.report, row.id
            assert row.period_start == start and row.owners == ["licensing", "legal"]
            opened = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "policy_review.opened")).one()
            assert opened.actor == "worker" and opened.data["requests"] == 7

    keys = {name: req["key"] for name, req in seeded.items()}
    assert report["totals"] == {"value": "all", "requests": 7, "decided": 6, "approved": 4, "approval_rate": 0.6667}
    assert _rows(report["by_category"]) == {"seat_expansion": (5, 5, 4, 0.8), "usage_rights": (2, 1, 0, 0.0)}
    assert _rows(report["by_segment"]) == {"Mid-Market": (4, 4, 3, 0.75), "SMB": (1, 1, 1, 1.0),
                                           "Enterprise": (2, 1, 0, 0.0)}
    assert _rows(report["by_region"]) == {"(none)": (5, 5, 4, 0.8), "EMEA": (2, 1, 0, 0.0),
                                          "APAC": (2, 1, 0, 0.0), "LATAM": (2, 1, 0, 0.0)}
    assert _rows(report["by_source"]) == {"api": (7, 6, 4, 0.6667)}
    assert report["repeat_customers"] == [
        {"customer": "001A", "requests": 2, "approved": 1, "keys": sorted([keys["r1"], keys["r2"]])},
        {"customer": "001B", "requests": 2, "approved": 0, "keys": sorted([keys["r4"], keys["r5"]])}]
    assert report["standard_term_candidates"] == {"min_approvals": 3, "items": [
        {"category": "seat_expansion", "grants": {"seats": 105}, "approvals": 3,
         "keys": sorted([keys["r2"], keys["r3"], keys["r6"]])}]}
    disputes = report["disputes"]
    assert (disputes["total"], disputes["upheld"], disputes["overturned"], disputes["pending"]) == (1, 0, 1, 0)
    assert disputes["items"][0]["key"] == keys["r1"] and disputes["items"][0]["before"] == "approved"
    late = sorted(set(seeded["r5"]["review"]["required_roles"]) - {"legal"})
    assert late and report["sla_breaches"]["requests"] == 1
    assert report["sla_breaches"]["by_role"] == dict.fromkeys(late, 1)
    assert report["risk_overrides"] == {"most": "legal", "direction": "down", "by_dimension": [
        {"dimension": "legal", "overrides": 2, "up": 0, "down": 2, "same": 0},
        {"dimension": "technical", "overrides": 1, "up": 1, "down": 0, "same": 0}]}
    assert [(i["key"], i["customer"]) for i in report["expired_unrenewed"]["items"]] == [(keys["r7"],
                                                                                          "Customer 001E")]

    api = client.get(f"/api/v1/policy/reviews/{review_id}", headers=token_for("auditor")).get_json()
    assert api["report"] == report and api["status"] == "open"
    listed = client.get("/api/v1/policy/reviews", headers=token_for("admin")).get_json()
    assert [r["id"] for r in listed["items"]] == [review_id] and "report" not in listed["items"][0]


def test_owners_record_findings_and_close_it_audited_and_the_next_period_follows_on(app, client, token_for):
    start = _policy_stored_at(app)
    with time_machine.travel(start + timedelta(days=91), tick=False) as clock:
        assert _run_job(app) == {"opened": 1}
        review_id = client.get("/api/v1/policy/reviews", headers=token_for("admin")).get_json()["items"][0]["id"]
        owner, other = token_for("reviewer", "legal", name="lou"), token_for("reviewer", "sales", name="sam")
        url = f"/api/v1/policy/reviews/{review_id}"
        refused = client.post(f"{url}/findings", json={"finding": "x"}, headers=other)
        assert refused.status_code == 403 and refused.get_json()["code"] == "review_owner_only"
        bad = client.post(f"{url}/findings", json={"finding": "", "area": "weather"}, headers=owner)
        assert bad.status_code == 422 and set(bad.get_json()["details"]["fields"]) == {"finding", "area"}
        r = client.post(f"{url}/findings", headers=owner, json={
            "finding": "Seat expansions of +5% were approved alike three times.", "area": "standard_term_candidates",
            "recommendation": "Make it the predefined outcome."})
        assert r.status_code == 201 and r.get_json()["findings"][0]["by"] == "lou"
        closed = client.post(f"{url}/close", json={"summary": "One finding; policy change to follow."},
                             headers=owner)
        assert closed.status_code == 201, closed.get_json()
        assert closed.get_json()["status"] == "closed" and closed.get_json()["closed_by"] == "lou"
        again = client.post(f"{url}/close", json={"summary": "again"}, headers=owner)
        assert again.status_code == 409 and again.get_json()["code"] == "review_closed"
        assert client.post(f"{url}/findings", json={"finding": "late"}, headers=owner).status_code == 409
        with app.app_context():
            latest = policy_reviews.latest_closed()
            assert latest is not None and (latest["id"], latest["findings"]) == (review_id, 1)
            events = db.session.scalars(select(AuditEvent).where(AuditEvent.subject == f"policy_review:{review_id}")
                                        .order_by(AuditEvent.seq)).all()
            assert [(e.action, e.actor) for e in events] == [
                ("policy_review.opened", "worker"), ("policy_review.finding_recorded", "lou"),
                ("policy_review.closed", "lou")]
            assert events[-1].data["summary"] == "One finding; policy change to follow."
        published = client.get("/api/v1/reports/summary", headers=token_for("auditor")).get_json()
        assert published["policy_review"]["id"] == review_id and "summary" not in published["policy_review"]
        create(client, token_for("intake"), request_body())
        clock.move_to(start + timedelta(days=91 + 89))
        assert _run_job(app) == {"opened": 0}
        clock.move_to(start + timedelta(days=91 + 91))
        assert _run_job(app) == {"opened": 1}
        second = client.get("/api/v1/policy/reviews", headers=token_for("admin")).get_json()["items"][0]
        assert second["period_start"] == closed.get_json()["period_end"] and second["totals"]["requests"] == 1
    assert client.get("/api/v1/policy/reviews/999", headers=token_for("admin")).status_code == 404


def test_the_policy_review_section_is_validated():
    base = default_policy_text()
    policy = parse_policy(base)
    assert policy.review == {"cadence_days": 90, "owners": ["licensing", "legal"], "standard_terms_min_approvals": 3}
    bad = base.replace("cadence_days: 90", "cadence_days: 0").replace("owners: [licensing, legal]",
                                                                      "owners: [finance]")
    with pytest.raises(InvalidInput) as caught:
        parse_policy(bad)
    assert {"review.cadence_days", "review.owners.0"} <= set(caught.value.details["fields"])
    without = base[:base.index("\nreview:")] + base[base.index("\nexceptions:"):]
    assert "\nreview:" not in without
    assert parse_policy(without).review["cadence_days"] == 90
