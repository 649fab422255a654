"""The OpenAPI document is true: schemathesis sends every documented operation generated requests (valid and
invalid, with the role the operation needs and with one it refuses) and checks each answer against the document —
status documented, body and headers as documented, no 5xx, 405 with ``Allow`` for methods a path does not have,
auth enforced where declared. Plain tests pin the document's own shape."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from support.database import app_config, fresh_database

from connector import create_app
from connector.auth import ROLES, SOURCE_APP, SOURCE_APP_PREFIX, TOKEN_ROLES, create_token
from connector.db import db
from connector.governance.policy import COMMITTEE_ROLES
from connector.policy_store import ensure_default_policy

OPENAPI_PATH = "/api/v1/openapi.json"
METRICS_TOKEN = "contract-metrics-token"
#: fuzzed cases per operation; the examples and coverage phases add their own (the run's total is printed at the end)
MAX_EXAMPLES = 5


@pytest.fixture(scope="module")
def contract_app(db_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app and database for every operation's test (a database each would cost more than the calls)."""
    url = fresh_database(db_template, tmp_path_factory.mktemp("contract"))
    application = create_app(app_config(url, CONNECTOR_METRICS_TOKEN=METRICS_TOKEN))
    with application.app_context():
        ensure_default_policy()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def role_tokens(contract_app: Flask) -> dict[str, dict[str, str]]:
    """Authorization headers for a new principal of each role (the reviewer sits on every committee role): new
    for each operation, since ``DELETE /tokens/{id}`` may revoke the previous ones."""
    headers = {}
    with contract_app.app_context():
        for role in TOKEN_ROLES:
            committee = COMMITTEE_ROLES if role == "reviewer" else ()
            name = (f"{SOURCE_APP_PREFIX}contract-{uuid.uuid4().hex[:8]}" if role == SOURCE_APP
                    else f"contract-{role}-{uuid.uuid4().hex[:8]}")
            token = create_token(name, role, committee, actor="test")
            headers[role] = {"Authorization": f"Bearer {token}"}
        db.session.commit()
    return headers


def _document_app() -> Flask:
    """An app that only serves the document (its in-memory database is never used), to collect one test per
    operation; the tests then call ``contract_app``."""
    return create_app({"CONNECTOR_DATABASE_URL": "sqlite://", "CONNECTOR_SECRET_KEY": "x"})


#: Schema-valid data the API may still refuse with 422, by design and said in the document: text JSON Schema cannot
#: rule out (NUL characters, unpaired surrogates: nothing the database and the audit chain cannot hold), values the
#: current policy decides (categories), free-form objects with their own rules (entitlements, connection settings,
#: mappings, the policy document) and opaque cursors (`after`). The OAuth callback refuses (400) any state it did
#: not issue. Every other check runs with schemathesis' defaults.
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
CONFIG = schemathesis.Config.from_dict({
    "checks": {"positive_data_acceptance": {"expected-statuses": _ACCEPTED}},
    "operations": [{"include-path": "/oauth/callback",
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "400"]}}}],
})
schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, _document_app(), config=CONFIG)


def credentials(operation: dict[str, Any], role_tokens: dict[str, dict[str, str]]) -> tuple[dict[str, str],
                                                                                           dict[str, str] | None]:
    """The headers of a caller the operation admits, and of one it refuses (None for a public operation, or one
    every role may call: a person's own notification preferences)."""
    roles = operation.get("x-roles")
    if roles is None:
        return ({"Authorization": f"Bearer {METRICS_TOKEN}"} if "metrics_token" in str(operation.get("security"))
                else {}), None
    refused = next((role for role in ROLES if role not in roles), None)
    return role_tokens[roles[0]], role_tokens[refused] if refused is not None else None


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any, contract_app: Flask, role_tokens: dict[str, dict[str, str]],
                                               contract_calls: Counter[str]) -> None:
    allowed, refused = credentials(case.operation.definition.raw, role_tokens)
    contract_calls[case.operation.label] += 1
    answer = case.call_and_validate(app=contract_app, headers=allowed)
    if refused is not None and case.method.upper() == case.operation.method.upper():
        # the role is checked before anything else: 403 (a case sent without a token: 401); methods the path does
        # not have (405, OPTIONS) were the coverage phase's and are checked by schemathesis
        refusal = case.call_and_validate(app=contract_app, headers=refused)
        expected = (401, 403) if answer.status_code == 401 else (403, 404, 405)  # 401: its token was revoked
        assert refusal.status_code in expected, (refusal.status_code, refusal.text[:200])


@pytest.fixture
def document(client: Any) -> Iterator[dict[str, Any]]:
    yield client.get(OPENAPI_PATH).get_json()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_numeric_bound_is_a_number(document: dict[str, Any]) -> None:
    bounds = [(key, node[key]) for node in _walk(document) for key in ("minimum", "maximum", "exclusiveMinimum",
                                                                        "exclusiveMaximum") if key in node]
    assert bounds and all(type(value) in (int, float) for _, value in bounds), bounds
    price = document["components"]["schemas"]["Terms"]["properties"]["price"]
    assert (price["minimum"], price["maximum"]) == (0, 10**15)


def test_public_routes_need_no_token_and_the_rest_a_bearer_token(document: dict[str, Any]) -> None:
    security = {f"{method.upper()} {path}": op.get("security", document["security"])
                for path, method, op in _operations(document)}
    for public in ("GET /api/v1/health", "GET /oauth/callback", "POST /webhooks/{kind}/{name}",
                   "GET /api/v1/openapi.json", "POST /api/v1/feedback/{token}", "GET /api/v1/public/summary"):
        assert security.pop(public) == [], public
    assert security.pop("GET /metrics") == [{}, {"metrics_token": []}]
    assert security and all(value == [{"bearer": []}] for value in security.values()), security


def test_documented_error_schema_is_the_one_sent(client: Any, document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    answer = client.get("/api/v1/requests")
    body = answer.get_json()
    assert answer.status_code == 401
    assert set(error["required"]) == set(body) == set(error["properties"])
    json_types = {str: "string", int: "integer", dict: "object"}
    assert {name: json_types[type(value)] for name, value in body.items()} == {
        name: prop["type"] for name, prop in error["properties"].items()}


def test_every_operation_documents_its_errors_without_a_catch_all(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        if "x-roles" in operation:
            assert {"401", "403"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
    created = document["paths"]["/api/v1/requests"]["post"]["responses"]
    assert {"200", "201"} <= set(created)


def test_405_names_the_allowed_methods(client: Any) -> None:
    answer = client.delete("/api/v1/requests")
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert answer.get_json()["code"] == "method_not_allowed"
