"""The public transparency summary: off unless enabled (404), served without a token when on, aggregates only
above the minimum count, and never a customer name, a requested or granted term, a rationale or a note."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from support.bodies import SMALL

from connector import policy_reviews
from connector.db import db

#: seeded values that must never be published (names, terms, rationales and notes)
NAMES = [f"Zyxcorp Number{n} Holdings" for n in range(7)]
SEATS = [4127 + n for n in range(7)]
RATIONALE = "Confidential-rationale-qwv"


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_PUBLIC_SUMMARY": "true", "CONNECTOR_PUBLIC_MIN_COUNT": "5"}


def seed(client, token_for) -> None:
    intake, chair = token_for("intake"), token_for("reviewer", "licensing")
    for n, (name, seats) in enumerate(zip(NAMES, SEATS, strict=True)):
        body = copy.deepcopy(SMALL)
        body["customer"] = {"name": name, "account_id": f"ACC-SECRET-{n}"}
        body["requester"] = {"name": f"Secret Requester {n}", "email": f"secret{n}@vendor.example"}
        body["baseline_terms"] = {"seats": 4000}
        body["requested_terms"] = {"seats": seats}
        body["use_case"] = f"Use case text {RATIONALE}"
        req = client.post("/api/v1/requests", json=body, headers=intake).get_json()
        outcome = "denied" if n == 0 else "approved"
        decision = {"outcome": outcome, "rationale": f"{RATIONALE} {n}"}
        if outcome == "approved":
            decision["entitlement"] = {"grants": {"seats": seats, "regions": ["Qxregion"]},
                                       "expires_at": (date.today() + timedelta(days=60)).isoformat(),
                                       "conditions": ["Secret-condition-text"]}
        r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json=decision)
        assert r.status_code == 201, r.get_json()
    # one request of another category: below the minimum, so pooled or left out
    lone = copy.deepcopy(SMALL)
    lone.update(category="term_extension", customer={"name": "Lonely Qcustomer AG"})
    client.post("/api/v1/requests", json=lone, headers=intake)


def forbidden_in(text: str) -> list[str]:
    seen = [name for name in NAMES if name in text]
    seen += [str(s) for s in SEATS if str(s) in text]
    for secret in (RATIONALE, "ACC-SECRET", "Secret Requester", "secret0@", "Qxregion", "Secret-condition-text",
                   "Lonely Qcustomer", "Acme", "Rita", "Five more seats"):
        if secret in text:
            seen.append(secret)
    return seen


def test_the_public_summary_shows_aggregates_and_nothing_identifying(client, token_for):
    seed(client, token_for)
    r = client.get("/api/v1/public/summary")  # no token
    assert r.status_code == 200
    body = r.get_json()
    assert forbidden_in(r.get_data(as_text=True)) == []
    agg = body["aggregates"]
    assert agg["requests"] == 8 and agg["overall"]["decided"] == 7
    assert agg["overall"]["approval_rate"] == round(6 / 7, 4)
    assert set(agg["by_category"]) == {"seat_expansion"}  # term_extension has 0 decided: below the minimum
    assert agg["by_category"]["seat_expansion"]["decided"] == 7
    approach = body["approach"]
    assert approach["committee"]["chair"] == "licensing" and approach["sla"]["fast_business_days"] == 2
    assert "seat_expansion" in [c["name"] for c in approach["categories"]]
    page = client.get("/transparency")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How we govern license exceptions" in html and "86%" in html
    assert forbidden_in(html) == []


def test_small_groups_are_not_published(client, token_for):
    intake, chair = token_for("intake"), token_for("reviewer", "licensing")
    for _ in range(3):
        req = client.post("/api/v1/requests", json=copy.deepcopy(SMALL), headers=intake).get_json()
        client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json={"outcome": "denied",
                                                                                  "rationale": "No"})
    body = client.get("/api/v1/public/summary").get_json()
    assert body["aggregates"]["overall"] is None and body["aggregates"]["by_category"] == {}
    assert body["aggregates"]["requests"] is None and body["feedback"]["answers"] is None
    assert "Fewer than 5 decisions" in client.get("/transparency").get_data(as_text=True)


class TestOffByDefault:
    @pytest.fixture
    def app_overrides(self):
        return {}

    def test_nothing_is_served_unless_enabled(self, client):
        r = client.get("/api/v1/public/summary")
        assert r.status_code == 404 and r.get_json()["code"] == "not_found"
        assert client.get("/transparency").status_code == 404


def test_the_public_summary_says_when_the_policy_was_last_reviewed(app, client, token_for):
    assert client.get("/api/v1/public/summary").get_json()["policy_review"] is None
    assert "has not completed a periodic review yet" in client.get("/transparency").get_data(as_text=True)
    owner = token_for("reviewer", "licensing", name="lena")
    with app.app_context():
        review_id = policy_reviews.open_review("worker").id
        db.session.commit()
    r = client.post(f"/api/v1/policy/reviews/{review_id}/findings", headers=owner,
                    json={"finding": "Confidential-finding-text about Zyxcorp."})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/policy/reviews/{review_id}/close", headers=owner, json={"summary": "Secret summary."})
    assert r.status_code == 201, r.get_json()
    published = client.get("/api/v1/public/summary").get_json()["policy_review"]
    assert published["findings"] == 1 and published["closed_at"] == r.get_json()["closed_at"]
    assert set(published) == {"period_start", "period_end", "closed_at", "findings"}
    page = client.get("/transparency").get_data(as_text=True)
    assert "The policy was last reviewed on" in page and "recorded\n        1 finding." in page
    for secret in ("Confidential-finding-text", "Zyxcorp", "Secret summary", "lena"):
        assert secret not in page and secret not in str(published)
