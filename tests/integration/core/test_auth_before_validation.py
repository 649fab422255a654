"""Who may call a route is checked before what they sent: a caller without a token gets a 401 and one with the
wrong role a 403, never a 422 that validated (and described) a body or query it may not send."""

from __future__ import annotations

import pytest

BAD_REQUEST = {"title": 42, "category": "not-a-category"}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/v1/requests", BAD_REQUEST),
    ("get", "/api/v1/requests?state=bogus", None),
    ("post", "/api/v1/connections", {"name": "x", "kind": "not-a-kind"}),
    ("put", "/api/v1/policy", {"document": 7}),
    ("post", "/api/v1/requests/0123/decision", {"outcome": "maybe"}),
])
def test_no_token_is_401_before_any_validation(client, method, path, body):
    r = getattr(client, method)(path, json=body)
    assert r.status_code == 401, r.get_json()
    assert r.get_json()["code"] == "unauthenticated" and "fields" not in r.get_json().get("details", {})


def test_the_wrong_role_is_403_before_any_validation(client, token_for):
    billing, intake = token_for("billing"), token_for("intake")
    r = client.post("/api/v1/requests", json=BAD_REQUEST, headers=billing)
    assert r.status_code == 403 and r.get_json()["details"] == {"required_roles": ["intake", "admin"]}
    r = client.post("/api/v1/connections", json={"name": "x", "kind": "not-a-kind"}, headers=intake)
    assert r.status_code == 403 and "salesforce" not in r.get_data(as_text=True)  # no allowed kinds revealed
    r = client.post("/api/v1/requests", json=BAD_REQUEST, headers=intake)
    assert r.status_code == 422 and "title" in r.get_json()["details"]["fields"]  # the right role: validated


def test_an_unknown_or_revoked_token_is_401_with_a_bad_body(client):
    r = client.post("/api/v1/requests", json=BAD_REQUEST, headers={"Authorization": "Bearer lec_nope"})
    assert r.status_code == 401 and r.get_json()["code"] == "invalid_token"


def test_each_request_authenticates_for_itself_inside_one_app_context(app, client, token_for):
    admin = token_for("admin")
    with app.app_context():  # a host app's code, the CLI or a test may keep one app context (and its g) open
        assert client.get("/api/v1/connections", headers=admin).status_code == 200
        assert client.get("/api/v1/connections").status_code == 401
        r = client.post("/api/v1/connections", json={"name": "x", "kind": "salesforce"},
                        headers={"Authorization": "Bearer lec_revoked-or-unknown"})
        assert r.status_code == 401


def test_options_answers_the_allowed_methods_without_a_token(client):
    r = client.options("/api/v1/requests")
    assert r.status_code == 200 and {"GET", "POST"} <= set(r.headers["Allow"].split(", "))
