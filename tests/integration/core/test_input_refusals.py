"""Bad input is a 4xx, never a 500, on both databases: unpaired surrogates on every JSON body route (422 naming the
field), integer ids beyond a key column's range (404) in paths and cursors, and connection URLs on hosts nobody
allowed (422 ``host_not_allowed`` when they are set, not first at authorize)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.routes import body_routes

from connector import connections
from connector.api.pagination import encode_cursor
from connector.auth import CHAIR, MEMBER
from connector.db import db
from connector.governance.errors import InvalidInput
from connector.models import AuditEvent, Connection, ExceptionRequest
from mappings.storable import SURROGATE_MESSAGE

SURROGATES = b'{"title": "x\\ud800", "nested": {"deep": ["ok", "\\udfff"]}, "k\\udc00": 1}'
def allowed_headers(token_for: Any, view: Any) -> dict[str, str]:
    committee = getattr(view, "_connector_committee", None)
    role = view._connector_roles[0]
    return token_for(role, "licensing") if committee in (CHAIR, MEMBER) else token_for(role)


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_unpaired_surrogates_are_422_naming_every_field_on_every_json_body_route(app, client, token_for):
    routes = body_routes(app)
    assert {("POST", "/api/v1/requests"), ("POST", "/api/v1/requests/LEX-1/votes"),
            ("POST", "/api/v1/requests/LEX-1/withdraw"), ("POST", "/api/v1/audit/samples"),
            ("PUT", "/api/v1/policy")} <= {(m, p) for m, p, _ in routes}
    headers = [allowed_headers(token_for, view) for _, _, view in routes]  # tokens are audited: made first
    before = count(app, AuditEvent), count(app, ExceptionRequest)
    for (method, path, _), auth in zip(routes, headers, strict=True):
        r = client.open(path, method=method, data=SURROGATES, content_type="application/json", headers=auth)
        assert r.status_code == 422, (method, path, r.status_code, r.get_data(as_text=True)[:300])
        body = r.get_json()
        assert body["code"] == "invalid_input", (method, path, body)
        assert set(body["details"]["fields"]) == {"title", "nested.deep.1", "k\udc00"}, (method, path, body)
        assert "unpaired surrogate" in body["details"]["fields"]["title"][0]
    assert (count(app, AuditEvent), count(app, ExceptionRequest)) == before


def test_a_surrogate_pair_is_text_and_is_stored(client, token_for, small):
    small["title"] = "Seats for the \ud83d\ude00 team"  # json escapes it as a pair: a valid astral character
    r = client.post("/api/v1/requests", json=small, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["title"] == "Seats for the \U0001f600 team"


@pytest.mark.parametrize("value", ["2147483648", "9223372036854775807", "9223372036854775808",
                                   "99999999999999999999999", "-1", "0", "+1", "1e3"])
def test_ids_beyond_a_key_column_are_404_on_both_databases(client, token_for, value):
    admin, auditor = token_for("admin"), token_for("auditor")
    finding = {"request_id": "LEX-1", "finding": "compliant"}
    for method, path, headers, body in (
            ("POST", f"/api/v1/deliveries/{value}/retry", admin, None),
            ("POST", f"/api/v1/audit/samples/{value}/findings", auditor, finding),
            ("DELETE", f"/api/v1/tokens/{value}", admin, None)):
        r = client.open(path, method=method, json=body, headers=headers)
        assert r.status_code == 404, (path, r.status_code, r.get_data(as_text=True)[:300])
        assert r.get_json()["code"] == "not_found"


def test_the_largest_key_is_an_ordinary_unknown_id(client, token_for):
    r = client.post("/api/v1/deliveries/2147483647/retry", headers=token_for("admin"))
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"
    assert client.post("/api/v1/deliveries/2147483647/retry").status_code == 401  # the route matched: auth first


@pytest.mark.parametrize("path", ["/api/v1/requests", "/api/v1/deliveries", "/api/v1/audit", "/api/v1/tokens",
                                  "/api/v1/connections"])
def test_a_cursor_beyond_a_key_column_is_refused_as_a_cursor(client, token_for, path):
    r = client.get(path, query_string={"after": encode_cursor(2**31)}, headers=token_for("admin"))
    assert r.status_code == 422 and r.get_json()["code"] == "bad_cursor", r.get_json()
    r = client.get(path, query_string={"after": encode_cursor(2**31 - 1)}, headers=token_for("admin"))
    assert r.status_code == 200, r.get_json()


# --- connection URLs ------------------------------------------------------------------------------------------

METADATA = "http://169.254.169.254"


def create(client: FlaskClient, admin: dict[str, str], kind: str, **settings: Any) -> Any:
    return client.post("/api/v1/connections", headers=admin,
                       json={"name": f"c-{kind}", "kind": kind, "settings": settings})


@pytest.mark.parametrize(("kind", "settings", "field"), [
    ("salesforce", {"client_id": "c", "login_url": METADATA}, "settings.login_url"),
    ("salesforce", {"client_id": "c", "login_url": "http://login.salesforce.com"}, "settings.login_url"),
    ("salesforce", {"client_id": "c", "login_url": "https://login.salesforce.com.evil.example"},
     "settings.login_url"),
    ("zendesk", {"subdomain": "acme", "client_id": "c", "base_url": f"{METADATA}/latest"}, "settings.base_url"),
    ("zendesk", {"subdomain": "acme", "client_id": "c", "base_url": "https://acme.zendesk.com.evil.example"},
     "settings.base_url"),
])
def test_a_connection_url_on_a_host_nobody_allowed_is_refused_at_creation(app, client, token_for, kind, settings,
                                                                           field):
    r = create(client, token_for("admin"), kind, **settings)
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "host_not_allowed" and set(body["details"]["fields"]) == {field}
    assert count(app, Connection) == 0


def test_allowed_and_provider_hosts_are_accepted_and_a_change_is_checked_too(client, token_for):
    admin = token_for("admin")
    assert create(client, admin, "salesforce", client_id="c",
                  login_url="https://acme.my.salesforce.com").status_code == 201
    assert create(client, admin, "zendesk", subdomain="acme", client_id="c").status_code == 201
    r = client.patch("/api/v1/connections/c-zendesk", headers=admin, json={"settings": {"base_url": METADATA}})
    assert r.status_code == 422 and r.get_json()["code"] == "host_not_allowed"
    assert list(r.get_json()["details"]["fields"]) == ["settings.base_url"]
    r = client.patch("/api/v1/connections/c-salesforce", headers=admin,
                     json={"settings": {"login_url": "http://127.0.0.1:9/"}})
    assert r.status_code == 422 and r.get_json()["code"] == "host_not_allowed"
    r = client.get("/api/v1/connections/c-zendesk", headers=admin)
    assert "base_url" not in r.get_json()["settings"]


class TestHostsTheOperatorAllowed:
    @pytest.fixture
    def app_overrides(self) -> dict[str, Any]:
        return {"CONNECTOR_ALLOWED_INSTANCE_HOSTS": "127.0.0.1:8443,sandbox.internal"}

    def test_are_accepted_and_only_them(self, client, token_for):
        admin = token_for("admin")
        assert create(client, admin, "salesforce", client_id="c",
                      login_url="http://127.0.0.1:8443").status_code == 201
        assert create(client, admin, "zendesk", subdomain="acme", client_id="c",
                      base_url="http://sandbox.internal:9000").status_code == 201
        r = client.patch("/api/v1/connections/c-salesforce", headers=admin,
                         json={"settings": {"login_url": "http://127.0.0.1:8444"}})
        assert r.status_code == 422 and r.get_json()["code"] == "host_not_allowed"


def test_a_nul_in_a_path_is_404_and_in_a_query_a_422_naming_the_argument(client, token_for):
    intake, admin = token_for("intake"), token_for("admin")
    for path, headers in (("/api/v1/requests/%00", intake), ("/api/v1/requests/a%00b/history", intake),
                          ("/api/v1/connections/zd%00/mapping", admin), ("/webhooks/zendesk/z%00d", {})):
        r = client.get(path, headers=headers) if headers else client.post(path, json={})
        assert r.status_code == 404 and r.get_json()["code"] == "not_found", (path, r.get_json())
    r = client.get("/api/v1/requests?category=%00&connection=a%00&state=in_review", headers=intake)
    assert r.status_code == 422, r.get_json()
    assert set(r.get_json()["details"]["fields"]) == {"query.category", "query.connection"}
    r = client.get("/api/v1/deliveries?target=x%00", headers=admin)
    assert r.status_code == 422 and list(r.get_json()["details"]["fields"]) == ["query.target"]


def test_yaml_escapes_that_spell_unstorable_text_are_422_in_a_policy_and_in_connection_settings(app, client,
                                                                                                 token_for):
    admin = token_for("admin")
    document = client.get("/api/v1/policy", headers=admin).get_json()["document"]
    bad = document + 'extra_note: "x\\ud800"\n'  # the YAML escape decodes to a lone surrogate
    r = client.put("/api/v1/policy", data=bad.encode(), content_type="application/yaml", headers=admin)
    assert r.status_code == 422 and r.get_json()["details"]["fields"] == {"extra_note": [SURROGATE_MESSAGE]}
    r = client.put("/api/v1/policy", json={"document": document.replace("chair: licensing",
                                                                        'chair: "licensing\\0"')}, headers=admin)
    assert r.status_code == 422 and list(r.get_json()["details"]["fields"]) == ["committee.chair"]
    with app.app_context():
        with pytest.raises(InvalidInput) as refused:
            connections.create("zd", "zendesk", yaml.safe_load('subdomain: acme\nclient_id: "c\\udfff"'), "test")
        assert refused.value.details["fields"] == {"settings.client_id": [SURROGATE_MESSAGE]}
    assert count(app, Connection) == 0
