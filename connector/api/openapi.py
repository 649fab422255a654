"""The OpenAPI document as the server behaves: the error body it sends, who may call each operation, and every
status an operation can answer, added once here from what each route declares instead of by hand on every route.

- ``ErrorSchema`` is ``errors.error_response``'s body, so a client generated from the document reads our errors.
- ``ConnectorResponsesPlugin`` (an apispec plugin) sees each operation with its Flask rule: a route without
  ``requires`` is public (``security: []``), one with it takes the bearer token (401, 403, and ``x-roles``); a
  path argument can miss (404); a body can be unreadable, too large, of the wrong type or invalid (400, 413, 415,
  422) or conflict (409); any operation can meet a lost database (503 with ``Retry-After``).
- ``numeric_bounds`` renders ``minimum``/``maximum`` as JSON numbers (apispec serialises them with the field, so a
  ``Decimal(as_string=True)`` field got strings: invalid JSON Schema).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apispec import BasePlugin
from flask import Flask
from marshmallow import Schema, fields
from werkzeug.routing import Map, Rule

BEARER = "bearer"
METRICS_SCHEME = "metrics_token"
SECURITY_SCHEMES = {
    BEARER: {"type": "http", "scheme": "bearer", "description": "An API token (`tokens create`)."},
    METRICS_SCHEME: {"type": "http", "scheme": "bearer", "description": "`CONNECTOR_METRICS_TOKEN`."},
}
_BODY_METHODS = ("post", "put", "patch")
_WRITE_METHODS = (*_BODY_METHODS, "delete")
#: flask-smorest's own names for the statuses it documents (``arguments`` adds 422): replaced by ours
_GENERIC_REFS = {"UNPROCESSABLE_ENTITY", "DEFAULT_ERROR"}
ERROR_SCHEMA_REF = "#/components/schemas/Error"


class ErrorSchema(Schema):
    """The body of every error the API answers (``errors.error_response``)."""

    code = fields.String(required=True, metadata={"description": "What went wrong, for programs: `invalid_input`, "
                                                                  "`not_found`, `forbidden`, `chair_only`, …"})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status, repeated."})
    message = fields.String(required=True, metadata={"description": "What went wrong and what to do, for people."})
    details = fields.Dict(required=True, metadata={
        "description": "More about it; for invalid input `fields` maps each field's path to its messages."})


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "integer", "minimum": 0}}}
#: status → (component name, description, headers)
ERROR_RESPONSES: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: ("BadRequest", "The body cannot be read: not JSON (`malformed_json`, with where it breaks) or nested too "
                        "deeply (`body_too_deep`). Nothing was changed.", {}),
    401: ("Unauthenticated", "No bearer token, or one that is unknown, revoked or expired (`code` says which).",
          {"WWW-Authenticate": {"description": "`Bearer realm=\"connector\"`", "schema": {"type": "string"}}}),
    403: ("Forbidden", "The token's role may not do this (`details.required_roles`), or the committee role "
                       "needed is not the caller's.", {}),
    404: ("NotFound", "Nothing has the id, key or name given in the path.", {}),
    409: ("Conflict", "The resource's state does not allow this now, or a concurrent change touched the same "
                      "record (`code` says which); nothing was changed.", {}),
    413: ("BodyTooLarge", "The body is larger than `CONNECTOR_MAX_BODY_BYTES` (`details.max_bytes`).", {}),
    415: ("UnsupportedMediaType", "The body is not sent as JSON (`Content-Type: application/json`; YAML where the "
                                 "operation says so).", {}),
    422: ("InvalidInput", "Values that are not valid: `details.fields` maps each field's path to its messages. "
                         "Nothing was changed.", {}),
    503: ("Unavailable", "The database cannot be reached; retry after `Retry-After` seconds. Nothing was changed.",
          _RETRY_AFTER),
}
#: the push receivers' own refusals (their other statuses, 403/415/429, are documented on the route)
PUSH_RESPONSES: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: ("PushMalformed", "Not the push the source sends, or a record without an id; nothing stored.", {}),
    401: ("PushNotVerified", "The signature does not verify, or the connection has no signing secret; nothing "
                             "stored.", {}),
}


def error_response_component(entry: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    _, description, headers = entry
    component: dict[str, Any] = {"description": description,
                                 "content": {"application/json": {"schema": ErrorSchema}}}
    if headers:
        component["headers"] = headers
    return component


def _number(value: Any) -> Any:
    if isinstance(value, Decimal | str):
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    return value


def numeric_bounds(self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An apispec attribute function: ``minimum``/``maximum`` as JSON numbers whatever the field serialises to."""
    return {key: _number(ret[key]) for key in ("minimum", "maximum") if key in ret}


def nullable_nested(self: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An apispec attribute function: a nested schema that may be null as ``allOf: [$ref], nullable: true``.

    apispec writes ``anyOf: [{type: object, nullable: true}, $ref]`` for OpenAPI 3.0, which admits any object at
    all, so a client (or schemathesis) reading the document would send objects the API refuses."""
    alternatives = ret.get("anyOf")
    loose = {"type": "object", "nullable": True}
    if not isinstance(alternatives, list) or loose not in alternatives:
        return {}
    refs = [item for item in alternatives if item != loose]
    del ret["anyOf"]  # apispec only updates ``ret`` with what an attribute function returns: the key must go here
    return {"allOf": refs, "nullable": True}


def takes_raw_body(endpoint: str) -> bool:
    """The push receivers read their body as the sender signed it (``blueprint.before_api_request`` leaves it to
    the kind): no 400/415/422 from the API's body checks there."""
    return endpoint.split(".")[0].endswith("webhooks")


def _route_statuses(rule: Rule, method: str, public: bool) -> list[int]:
    """The error statuses an operation can answer, from its rule and method (see the module's docstring)."""
    statuses = [] if public else [401, 403]
    if rule.arguments:
        statuses.append(404)
    if takes_raw_body(rule.endpoint):
        statuses += [400, 401, 413]
    elif method in _BODY_METHODS:
        statuses += [400, 413, 415, 422]
    if method in _WRITE_METHODS:
        statuses.append(409)
    statuses.append(503)
    return statuses


class ConnectorResponsesPlugin(BasePlugin):
    """Security, roles and the error statuses of each operation, from the view Flask dispatches to."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def init_spec(self, spec: Any) -> None:
        super().init_spec(spec)
        self.spec = spec

    def register_components(self) -> None:
        """The error responses and the security schemes, once the spec exists (``ErrorSchema`` is registered by
        the caller first, so ``$ref`` names resolve)."""
        for entry in (*ERROR_RESPONSES.values(), *PUSH_RESPONSES.values()):
            self.spec.components.response(entry[0], error_response_component(entry))

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        rule: Rule | None = kwargs.get("rule")
        if rule is None or not operations:
            return
        view = self.app.view_functions.get(rule.endpoint)
        roles: tuple[str, ...] | None = getattr(view, "_connector_roles", None)
        for method, operation in operations.items():
            if "security" not in operation:  # an operation that documents its own security is taken as it is
                document_operation(operation, rule, method, roles)


def document_operation(operation: dict[str, Any], rule: Rule, method: str, roles: tuple[str, ...] | None) -> None:
    """Set one operation's security, roles and error responses; statuses a route documents itself are kept."""
    if roles is None:
        operation["security"] = []
    else:
        operation["x-roles"] = list(roles)
        operation["description"] = _with_roles(operation.get("description"), roles)
    responses = operation.setdefault("responses", {})
    responses.pop("default", None)
    named = {**ERROR_RESPONSES, **PUSH_RESPONSES} if takes_raw_body(rule.endpoint) else ERROR_RESPONSES
    for status in [*map(int, responses), *_route_statuses(rule, method, roles is None)]:
        current = responses.get(status, responses.get(str(status)))
        # absent, or flask-smorest's generic one (``arguments``' 422): ours
        if status in named and (current is None or (isinstance(current, str) and current in _GENERIC_REFS)):
            responses.pop(status, None)
            responses[str(status)] = named[status][0]
    for status, current in responses.items():
        if isinstance(current, dict):
            _complete_error(int(status), current)


def _complete_error(status: int, response: dict[str, Any]) -> None:
    """A route's own words for an error status, with our error body (and ``Retry-After`` where it applies)."""
    if status >= 400 and "content" not in response:
        response["content"] = {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}}
    if status in (429, 503) and "headers" not in response:
        response["headers"] = dict(_RETRY_AFTER)


def _with_roles(description: str | None, roles: tuple[str, ...]) -> str:
    line = f"Roles: {', '.join(roles)}."
    return f"{description}\n\n{line}" if description else line


def compiled_rule(path: str, endpoint: str) -> Rule:
    """A rule as Flask would hold it, for a route registered after the API (``/metrics``): apispec's Flask plugin
    reads the path and its arguments from a rule."""
    rule = Rule(path, endpoint=endpoint, methods=["GET"])
    Map([rule])
    return rule


#: ``observability.metrics_blueprint``'s route, under the connector's prefix (the contract test calls it)
METRICS_PATH = "/metrics"
METRICS_ENDPOINT = "connector_metrics.metrics"


def extra_operations(openapi_endpoint: str) -> dict[str, dict[str, Any]]:
    """Operations served outside flask-smorest's blueprints, by endpoint, documented as they behave (each sets
    its own ``security``, so the plugin leaves it alone)."""
    text = {"text/plain": {"schema": {"type": "string"}}}
    return {
        METRICS_ENDPOINT: {"get": {
            "tags": ["operations"], "summary": "Prometheus metrics",
            "description": "Counters and gauges in the Prometheus text format. Open while "
                           "`CONNECTOR_METRICS_TOKEN` is unset; once it is set, send it as a bearer token.",
            "security": [{}, {METRICS_SCHEME: []}],
            "responses": {"200": {"description": "The metrics.", "content": text},
                          "401": {"description": "`CONNECTOR_METRICS_TOKEN` is set and was not sent.",
                                  "content": text}}}},
        openapi_endpoint: {"get": {
            "tags": ["operations"], "summary": "This document", "security": [],
            "responses": {"200": {"description": "The OpenAPI document.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }
