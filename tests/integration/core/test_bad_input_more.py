"""Bad bodies the API must answer with a 4xx naming the problem, never a 500 and never a partial write: nesting
too deep, YAML alias loops and bombs, invalid JSON on the mapping routes, integers the storage cannot hold, and a
renewal's field named as sent."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.bodies import SMALL, entitlement

from connector.db import db
from connector.models import AuditEvent, Connection, ExceptionRequest, MappingVersion

DEEP = b"[" * 2000 + b"]" * 2000
LOOP = b"a: &a [*a, *a]\n"
BOMB = ("a: &a [x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 8) + "]\n" for i in range(7))).encode()
MAPPING = "/api/v1/connections/zd/mapping"


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def admin(token_for: Any) -> dict[str, str]:
    return token_for("admin")


@pytest.fixture
def zd(client: FlaskClient, admin: dict[str, str]) -> str:
    r = client.post("/api/v1/connections", headers=admin,
                    json={"name": "zd", "kind": "zendesk", "settings": {"subdomain": "acme", "client_id": "c"}})
    assert r.status_code == 201, r.get_json()
    return "zd"


def verified(client: FlaskClient, admin: dict[str, str]) -> dict[str, Any]:
    body = client.get("/api/v1/audit/verify", headers=admin).get_json()
    assert body["ok"], body
    return body


# --- nesting -----------------------------------------------------------------------------------------------------

def test_deep_json_is_400_not_500(app, client, token_for):
    before = count(app, ExceptionRequest)
    r = client.post("/api/v1/requests", data=DEEP, content_type="application/json")
    assert r.status_code == 401, r.get_json()  # who may call comes first
    r = client.post("/api/v1/requests", data=DEEP, content_type="application/json", headers=token_for("intake"))
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["code"] == "body_too_deep" and "64 levels" in body["message"]
    assert body["details"]["fields"] == {"(body)": ["Nested more than 64 levels deep."]}
    assert count(app, ExceptionRequest) == before


@pytest.mark.parametrize("method, path", [("PUT", "/api/v1/policy"), ("PUT", MAPPING),
                                          ("POST", f"{MAPPING}/preview"), ("POST", "/api/v1/requests")])
def test_deep_json_on_every_body_route_is_400(client, admin, zd, method, path):
    for body in (DEEP, b'{"a":' * 3000 + b"1" + b"}" * 3000):
        r = client.open(path, method=method, data=body, content_type="application/json", headers=admin)
        assert r.status_code == 400, (path, r.get_json())
        assert r.get_json()["code"] == "body_too_deep"


def test_nesting_the_json_parser_takes_is_still_refused_with_the_path(client, admin, zd):
    record = {"id": 1, "subject": "x", "via": {"source": [[[[[[[[[[{}]]]]]]]]]]}}
    r = client.post(f"{MAPPING}/preview", headers=admin, json={"record": record})
    assert r.status_code == 200, r.get_json()  # a real record's nesting is fine
    r = client.post(f"{MAPPING}/preview", headers=admin,
                    data=b'{"record": {"id": 1, "x": ' + b"[" * 500 + b"]" * 500 + b"}}",
                    content_type="application/json")
    assert r.status_code == 400
    (path,) = r.get_json()["details"]["fields"]
    assert path.startswith("record.x.0.0")


def test_deep_yaml_is_400(client, admin, zd):
    r = client.put(MAPPING, data=b"a: " + b"[" * 3000 + b"]" * 3000, content_type="application/yaml", headers=admin)
    assert r.status_code == 400 and r.get_json()["code"] == "body_too_deep"


# --- YAML aliases --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [MAPPING, "/api/v1/policy"])
def test_a_self_referencing_yaml_alias_is_422_and_nothing_changes(app, client, admin, zd, path):
    versions = count(app, MappingVersion)
    r = client.put(path, data=LOOP, content_type="application/yaml", headers=admin)
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "yaml_alias_loop" and "line 1" in body["message"]
    assert body["details"]["fields"]["(body)"]
    assert count(app, MappingVersion) == versions


@pytest.mark.parametrize("path", [MAPPING, "/api/v1/policy"])
def test_a_yaml_alias_bomb_is_422_at_once(client, admin, zd, path):
    r = client.put(path, data=BOMB, content_type="application/yaml", headers=admin)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["code"] == "yaml_alias_expansion"
    assert "10000" in r.get_json()["details"]["fields"]["(body)"][0]


def _policy_with_alias(client: FlaskClient, admin: dict[str, str], loop: bool) -> str:
    document = client.get("/api/v1/policy", headers=admin).get_json()["document"]
    first, second = "value: [redistribution, oem, embedding, sublicensing]", "value: [geographic_scope, usage_rights]"
    assert first in document and second in document
    if loop:
        return document.replace(second, "value: &v [geographic_scope, *v]")
    return document.replace(first, "value: &rights [redistribution, oem, embedding, sublicensing]").replace(
        second, "value: *rights")


def test_a_policy_with_an_alias_loop_is_422_as_yaml_and_inside_json(client, admin):
    document = _policy_with_alias(client, admin, loop=True)
    r = client.put("/api/v1/policy", data=document.encode(), content_type="application/yaml", headers=admin)
    assert r.status_code == 422 and r.get_json()["code"] == "yaml_alias_loop", r.get_json()
    r = client.put("/api/v1/policy", json={"document": document}, headers=admin)
    assert r.status_code == 422 and r.get_json()["code"] == "yaml_alias_loop", r.get_json()
    assert list(r.get_json()["details"]["fields"]) == ["document"]
    assert client.get("/api/v1/policy", headers=admin).status_code == 200


def test_a_policy_using_an_anchor_sensibly_is_accepted(client, admin):
    r = client.put("/api/v1/policy", data=_policy_with_alias(client, admin, loop=False).encode(),
                   content_type="application/yaml", headers=admin)
    assert r.status_code == 200, r.get_json()


def test_a_mapping_sent_as_a_json_string_of_looping_yaml_is_refused(client, admin, zd):
    r = client.put(MAPPING, json="a: &a [*a, *a]", headers=admin)  # YAML text: checked where it is parsed
    assert r.status_code == 422 and r.get_json()["code"] == "mapping_invalid"
    assert [p["rule"] for p in r.get_json()["details"]["problems"]] == ["yaml_alias_loop"]
    r = client.post(f"{MAPPING}/preview", json={"record": {"id": 1}, "mapping": "a: &a [*a, *a]"}, headers=admin)
    assert r.status_code == 200  # a preview reports a mapping's problems, as for any other invalid mapping
    assert [p["rule"] for p in r.get_json()["mapping_problems"]] == ["yaml_alias_loop"]
    assert r.get_json()["request"] is None


# --- malformed JSON on the mapping routes --------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [("PUT", MAPPING), ("POST", f"{MAPPING}/preview")])
def test_malformed_json_on_mapping_routes_says_so_and_where(app, client, admin, zd, method, path):
    versions = count(app, MappingVersion)
    r = client.open(path, method=method, data=b"{bad", content_type="application/json", headers=admin)
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["code"] == "malformed_json" and "not valid JSON" in body["message"]
    assert "line 1, column 2" in body["message"]
    assert body["details"]["line"] == 1 and body["details"]["column"] == 2
    assert body["details"]["fields"]["(body)"]
    assert count(app, MappingVersion) == versions


# --- integers beyond 2**53 / 2**63 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, field", [
    ({"ticket_form_id": 10**30}, "settings.ticket_form_id"),
    ({"field_ids": {"category": 10**30}}, "settings.field_ids.category"),
    ({"ticket_form_id": 2**63}, "settings.ticket_form_id"),
])
def test_zendesk_ids_beyond_64_bits_are_422_naming_the_setting(app, client, admin, settings, field):
    before = count(app, Connection)
    r = client.post("/api/v1/connections", headers=admin,
                    json={"name": "big", "kind": "zendesk",
                          "settings": {"subdomain": "acme", "client_id": "c", **settings}})
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["details"]["fields"]
    assert count(app, Connection) == before


def test_zendesk_ids_between_2_53_and_2_63_are_stored_and_the_audit_chain_verifies(app, client, admin):
    big = 2**53 + 1
    r = client.post("/api/v1/connections", headers=admin, json={
        "name": "big", "kind": "zendesk",
        "settings": {"subdomain": "acme", "client_id": "c", "ticket_form_id": big,
                     "field_ids": {"category": 2**63 - 1}}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["settings"]["ticket_form_id"] == big
    verified(client, admin)


def test_the_zendesk_schema_itself_refuses_ids_beyond_64_bits():
    from connector.sources.zendesk.settings import ZendeskSettingsSchema

    errors = ZendeskSettingsSchema().validate({"ticket_form_id": 2**63, "field_ids": {"category": 0}})
    assert errors["ticket_form_id"] == ["A Zendesk id: a whole number from 1 to 9223372036854775807."]
    assert "category" in str(errors["field_ids"])


def test_a_mapping_default_beyond_2_53_is_stored_and_audited(app, client, admin, zd):
    mapping = client.get(MAPPING, headers=admin).get_json()["mapping"]
    mapping["inbound"]["user_base"] = {"from": "custom_fields.1", "type": "integer", "default": 2**60}
    r = client.put(MAPPING, json=mapping, headers=admin)
    assert r.status_code == 200, r.get_json()
    assert verified(client, admin)["checked"] == count(app, AuditEvent)


@pytest.mark.parametrize("content_type, body", [
    ("application/json", None), ("application/yaml", "kind: zendesk\ninbound:\n  user_base: {from: subject, "
                                                     "type: integer, default: 1000000000000000000000000000000}\n")])
def test_a_mapping_number_beyond_64_bits_is_422(app, client, admin, zd, content_type, body):
    versions = count(app, MappingVersion)
    if body is None:
        mapping = client.get(MAPPING, headers=admin).get_json()["mapping"]
        mapping["inbound"]["user_base"] = {"from": "custom_fields.1", "type": "integer", "default": 10**30}
        r = client.put(MAPPING, json=mapping, headers=admin)
    else:
        r = client.put(MAPPING, data=body.encode(), content_type=content_type, headers=admin)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["details"]["fields"] == {"inbound.user_base.default": ["Must be at most 9223372036854775807."]}
    assert count(app, MappingVersion) == versions


def test_nan_and_infinity_are_422_naming_the_field(client, admin, zd):
    r = client.put(MAPPING, data=b'{"kind": "zendesk", "description": NaN, "x": 1e400}',
                   content_type="application/json", headers=admin)
    assert r.status_code == 422, r.get_json()
    assert set(r.get_json()["details"]["fields"]) == {"description", "x"}


# --- a renewal's field ---------------------------------------------------------------------------------------------

def test_renewal_beyond_the_policy_maximum_names_expires_at(client, token_for):
    intake, reviewer = token_for("intake"), token_for("reviewer", "licensing")
    rid = client.post("/api/v1/requests", json=SMALL, headers=intake).get_json()["id"]
    r = client.post(f"/api/v1/requests/{rid}/decision", headers=reviewer,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement(days=90)})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/requests/{rid}/renew", headers=reviewer,
                    json={"rationale": "extend", "expires_at": "9999-12-31"})
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "exceeds_max_duration"
    assert list(body["details"]["fields"]) == ["expires_at"]
    assert body["details"]["max_duration_days"] > 0
    assert client.get(f"/api/v1/requests/{rid}", headers=reviewer).get_json()["entitlement"]["version"] == 1
