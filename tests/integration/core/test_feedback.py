"""Feedback through the signed link in a decision's customer summary: no sign-in, refused when forged or expired,
stored per request, audited without its text, shown to reviewers and counted in the report."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from support.bodies import entitlement

from connector import policy_reviews
from connector.db import db
from connector.feedback import SALT
from connector.models import AuditEvent, Feedback

LINK = re.compile(r"http://[^\s]+/feedback/([A-Za-z0-9_.\-]+)")


def decided(client, token_for, body):
    r = client.post("/api/v1/requests", json=body, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    req = r.get_json()
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=token_for("reviewer", "licensing"),
                    json={"outcome": "approved", "rationale": "Fits the pilot", "entitlement": entitlement(90)})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def link_token(req) -> str:
    match = LINK.search(req["decision"]["customer_summary"])
    assert match, req["decision"]["customer_summary"]
    return match.group(1)


def test_summary_carries_a_link_that_takes_feedback_without_sign_in(app, client, token_for, small):
    req = decided(client, token_for, small)
    summary = req["decision"]["customer_summary"]
    assert "How clear was this decision?" in summary and "90 days" in summary
    token = link_token(req)
    r = client.post(f"/api/v1/feedback/{token}", json={"clarity": 4, "respondent": "partner",
                                                      "needed": "The end date in the first line, Rita Rep said."})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["received"] is True and r.get_json()["clarity"] == 4
    assert client.post(f"/api/v1/feedback/{token}", json={"clarity": 2}).status_code == 201
    with app.app_context():
        rows = db.session.scalars(select(Feedback).order_by(Feedback.id)).all()
        assert [(f.respondent, f.clarity, f.decision_number) for f in rows] == [("partner", 4, 1), ("customer", 2, 1)]
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.received")).all()
        assert len(events) == 2 and events[0].subject == f"request:{req['id']}"
        assert events[0].data["clarity"] == 4 and events[0].data["needed_given"] is True
        assert "Rita" not in str(events[0].data) and "first line" not in str(events[0].data)
    reviewer = token_for("reviewer", "legal")
    r = client.get(f"/api/v1/requests/{req['key']}/feedback", headers=reviewer)
    assert r.status_code == 200
    body = r.get_json()
    assert body["count"] == 2 and body["average_clarity"] == 3.0
    assert body["items"][0]["needed"] == "The end date in the first line, Rita Rep said."
    assert client.get(f"/api/v1/requests/{req['key']}/feedback", headers=token_for("intake")).status_code == 403
    report = client.get("/api/v1/reports/feedback", headers=reviewer).get_json()
    assert report["count"] == 2 and report["average_clarity"] == 3.0
    assert report["by_respondent"]["partner"] == {"count": 1, "average_clarity": 4.0}
    assert report["by_category"]["seat_expansion"]["count"] == 2
    assert [n["needed"] for n in report["needed"]] == ["The end date in the first line, Rita Rep said."]


def test_forged_altered_or_expired_links_are_refused_and_record_nothing(app, client, token_for, small):
    req = decided(client, token_for, small)
    token = link_token(req)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    r = client.post(f"/api/v1/feedback/{forged}", json={"clarity": 5})
    assert r.status_code == 403 and r.get_json()["code"] == "feedback_link_invalid"
    r = client.post("/api/v1/feedback/not-a-token", json={"clarity": 5})
    assert r.status_code == 403
    with time_machine.travel(datetime.now(UTC) + timedelta(days=91), tick=False):
        r = client.post(f"/api/v1/feedback/{token}", json={"clarity": 5})
    assert r.status_code == 403 and r.get_json()["code"] == "feedback_link_expired"
    assert "expired" in r.get_json()["message"]
    r = client.post(f"/api/v1/feedback/{token}", json={"clarity": 6, "needed": "x" * 2001, "respondent": "ceo"})
    assert r.status_code == 422
    assert set(r.get_json()["details"]["fields"]) == {"clarity", "needed", "respondent"}
    with app.app_context():
        assert db.session.scalars(select(Feedback)).all() == []


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_SECRET_KEY": "feedback-test-secret"}


def test_another_apps_secret_does_not_sign_for_this_one(app, client, token_for, small):
    req = decided(client, token_for, small)
    forged = URLSafeTimedSerializer("some-other-secret", salt=SALT).dumps({"r": req["id"], "n": 1})
    r = client.post(f"/api/v1/feedback/{forged}", json={"clarity": 5})
    assert r.status_code == 403 and r.get_json()["code"] == "feedback_link_invalid"


def test_the_cli_reports_feedback_for_a_period(app, client, token_for, small):
    token = link_token(decided(client, token_for, small))
    assert client.post(f"/api/v1/feedback/{token}", json={"clarity": 5, "needed": "Nothing more"}).status_code == 201
    out = app.test_cli_runner().invoke(args=["connector", "feedback", "report", "--since", "2000-01-01"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert (report["count"], report["average_clarity"], report["since"]) == (1, 5.0, "2000-01-01T00:00:00+00:00")
    later = app.test_cli_runner().invoke(args=["connector", "feedback", "report", "--since", "2999-01-01"])
    assert json.loads(later.output)["count"] == 0


def test_the_periodic_review_counts_the_periods_feedback(app, client, token_for, small):
    req = decided(client, token_for, small)
    token = link_token(req)
    for clarity, needed in ((2, "Which seats the pilot may use."), (4, "")):
        r = client.post(f"/api/v1/feedback/{token}", json={"clarity": clarity, "needed": needed})
        assert r.status_code == 201, r.get_json()
    with app.app_context():
        review = policy_reviews.open_review("worker", now=datetime.now(UTC) + timedelta(minutes=1))
        feedback = review.report["feedback"]
        assert (feedback["count"], feedback["average_clarity"]) == (2, 3.0)
        assert [(n["key"], n["needed"]) for n in feedback["needed"]] == [(req["key"], "Which seats the pilot may use.")]
        db.session.commit()
        review_id = review.id
    owner = token_for("reviewer", "licensing", name="lena")
    page = client.get(f"/api/v1/policy/reviews/{review_id}", headers=owner).get_json()
    assert page["report"]["feedback"]["count"] == 2
