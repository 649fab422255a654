"""The view says which committee roles a request waits for (written back as ``review.waiting``)."""

from __future__ import annotations

import pytest

from connector.db import db
from connector.models import ExceptionRequest
from connector.representation import request_view

ROLES = ("licensing", "legal", "product", "sales", "security")


@pytest.fixture
def committee(token_for):
    return {role: token_for("reviewer", role, name=f"{role}-reviewer") for role in ROLES}


def view_of(app, request_id):
    with app.app_context():
        req = db.session.query(ExceptionRequest).filter_by(id=request_id).one()
        return request_view(req)


def test_waiting_lists_the_required_roles_that_have_not_voted_this_round(app, client, token_for, committee, large):
    created = client.post("/api/v1/requests", json=large, headers=token_for("intake")).get_json()
    assert created["track"] == "standard"
    review = view_of(app, created["id"])["review"]
    assert review["waiting"] == review["required_roles"] and len(review["required_roles"]) >= 2
    first = review["required_roles"][0]
    r = client.post(f"/api/v1/requests/{created['id']}/votes", headers=committee[first],
                    json={"role": first, "vote": "reject", "rationale": "too broad"})
    assert r.status_code == 201, r.get_json()
    assert view_of(app, created["id"])["review"]["waiting"] == review["required_roles"][1:]


def test_nothing_is_awaited_on_the_fast_track_or_once_decided(app, client, token_for, committee, small):
    created = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    assert created["track"] == "fast"
    assert view_of(app, created["id"])["review"]["waiting"] == []
    client.post(f"/api/v1/requests/{created['id']}/decision", headers=committee["licensing"],
                json={"outcome": "denied", "rationale": "Not within policy"})
    assert view_of(app, created["id"])["review"] == {"required_roles": [], "waiting": []}
