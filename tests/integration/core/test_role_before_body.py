"""Who may call comes before what they sent, on every API route that takes a body (walked from the app's URL map,
so a new route is checked without being listed): without a token a 401, with a role the route does not allow a
403, and with the role but not the committee standing it asks (the chair, a committee member) a 403, whatever the
body: empty, invalid, not JSON, too deep, unstorable. Never a 422 describing a body the caller may not send."""

from __future__ import annotations

from typing import Any

import pytest
from support.routes import body_routes

from connector.auth import CHAIR, MEMBER, ROLES

#: lowest privilege first: the role a refusal is tried with is the first one a route does not allow
BY_PRIVILEGE = ("billing", "intake", "auditor", "reviewer", "admin")
BODIES = [b"", b"{}", b'{"unexpected": 1, "title": 42}', b"not json", b"[" * 100 + b"]" * 100,
          b'{"title": "x\\ud800"}']


def refusals(view: Any) -> list[tuple[str, tuple[str, ...], int, str]]:
    """(role, committee roles, status, code) of the principals this route must refuse before its body."""
    roles, committee = view._connector_roles, getattr(view, "_connector_committee", None)
    out = [(role, (), 403, "forbidden") for role in BY_PRIVILEGE if role not in roles][:1]
    if committee == CHAIR:
        out.append(("reviewer", ("legal",), 403, "chair_only"))
    if committee in (CHAIR, MEMBER):
        out.append(("reviewer", (), 403, "chair_only" if committee == CHAIR else "committee_role_required"))
    return out


def test_every_body_route_is_walked_and_the_review_routes_ask_for_their_committee_standing(app):
    routes = {(method, path): view for method, path, view in body_routes(app)}
    assert set(BY_PRIVILEGE) == set(ROLES) and len(routes) >= 20
    for action in ("decision", "amend", "renew", "revoke"):
        assert routes["POST", f"/api/v1/requests/LEX-1/{action}"]._connector_committee == CHAIR
    for action in ("votes", "risk-overrides"):
        assert routes["POST", f"/api/v1/requests/LEX-1/{action}"]._connector_committee == MEMBER


@pytest.mark.parametrize("body", BODIES, ids=["empty", "empty-object", "invalid", "not-json", "deep", "surrogate"])
def test_no_token_is_401_and_a_principal_without_the_role_is_403_before_any_body(app, client, token_for, body):
    tokens: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
    for method, path, view in body_routes(app):
        r = client.open(path, method=method, data=body, content_type="application/json")
        assert r.status_code == 401 and r.get_json()["code"] == "unauthenticated", (method, path, r.get_json())
        for role, committee_roles, status, code in refusals(view):
            headers = tokens.get((role, committee_roles)) or tokens.setdefault(
                (role, committee_roles), token_for(role, *committee_roles))
            r = client.open(path, method=method, data=body, content_type="application/json", headers=headers)
            answer = r.get_json()
            assert (r.status_code, answer["code"]) == (status, code), (method, path, role, committee_roles, answer)
            assert "fields" not in answer["details"], (method, path, answer)


def test_a_non_chair_reviewer_gets_403_on_an_empty_body_and_the_chair_gets_the_422(client, token_for):
    legal, chair = token_for("reviewer", "legal"), token_for("reviewer", "licensing")
    for action in ("decision", "amend", "renew", "revoke"):
        r = client.post(f"/api/v1/requests/LEX-1/{action}", json={}, headers=legal)
        assert r.status_code == 403 and r.get_json()["code"] == "chair_only", r.get_json()
        assert r.get_json()["details"] == {"chair": "licensing"}
        r = client.post(f"/api/v1/requests/LEX-1/{action}", json={}, headers=chair)
        assert r.status_code == 422 and r.get_json()["details"]["fields"], r.get_json()
