"""The REST API (flask-smorest): blueprints, one transaction per request, and errors as JSON values."""

from __future__ import annotations

from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Flask, Response, current_app, jsonify, request
from flask_smorest import Api, Blueprint
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from connector.api.bodies import YAML_TYPES, body_refusal
from connector.auth import AuthError, authorize_endpoint
from connector.db import db
from connector.governance.errors import GovernanceError
from connector.governance.paths import flatten_errors

API_PREFIX = "/api/v1"
_STATUS_FOR_KIND = {"invalid": 422, "conflict": 409, "forbidden": 403, "malformed": 400}
_BODY_TYPES = {"application/json", *YAML_TYPES}


class ConnectorApi(Api):
    """flask-smorest's Api, but with error handlers on our blueprints only (never the host app's)."""

    def _register_error_handlers(self) -> None:
        return None


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    resp = jsonify({"code": code, "message": message, "status": status, "details": details or {}})
    resp.status_code = status
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "body_too_large",
               415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited"}


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if status == 400 and messages and "json" in messages and messages["json"] == ["Invalid JSON body."]:
        return error_response(400, "malformed_json", "The body is not valid JSON; nothing was changed.")
    if status == 422 and messages:
        fields = {}
        for location, errs in messages.items():
            for path, msgs in flatten_errors(errs).items():
                fields[path if location == "json" else f"{location}.{path}"] = msgs
        return error_response(422, "invalid_input",
                              f"{len(fields)} field(s) are not valid; nothing was changed: "
                              f"{', '.join(sorted(fields))}.", {"fields": fields})
    if status == 413:
        limit = current_app.config["CONNECTOR_MAX_BODY_BYTES"]
        return error_response(413, "body_too_large", f"The body is larger than {limit} bytes; send less.",
                              {"max_bytes": limit})
    message = data.get("message") or exc.description or exc.name
    return error_response(status, _HTTP_CODES.get(status, "http_error"), str(message))


def handle_governance_error(exc: GovernanceError) -> Response:
    return error_response(_STATUS_FOR_KIND.get(exc.kind, 409), exc.code, exc.message, exc.details)


def handle_auth_error(exc: AuthError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="connector"'} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


def handle_validation_error(exc: ValidationError) -> Response:
    fields = flatten_errors(exc.messages)
    return error_response(422, "invalid_input", f"{len(fields)} field(s) are not valid; nothing was changed.",
                          {"fields": fields})


def handle_unexpected(exc: Exception) -> Response:
    """A bug answers as JSON too (mounted in a host app as well); the request's transaction is rolled back."""
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "Something went wrong on our side; nothing was changed.")


def before_api_request() -> Response | None:
    request.max_content_length = int(current_app.config["CONNECTOR_MAX_BODY_BYTES"])
    if request.blueprint and request.blueprint.endswith("webhooks"):
        request.get_data(cache=True)
        return None
    if request.method in ("POST", "PUT", "PATCH"):
        body = request.get_data(cache=True)  # enforces the size limit (413) before anything is parsed
        if body and request.mimetype not in _BODY_TYPES:
            return error_response(415, "unsupported_media_type",
                                  "Send the body as JSON with 'Content-Type: application/json'.")
        refusal = body_refusal() if body else None
        if refusal is not None:
            return handle_governance_error(refusal)
    return None


def finish_transaction(response: Response) -> Response:
    """Commit once when the request succeeded; roll back on any error response."""
    if response.status_code >= 400:
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return error_response(409, "conflict", "A concurrent change touched the same record; retry the request.")
    except OperationalError:
        db.session.rollback()
        return error_response(503, "database_unavailable", "The database is unavailable; retry shortly.",
                              headers={"Retry-After": "5"})
    return response


def init_api(app: Flask) -> ConnectorApi:
    from connector.api import audit, connections, deliveries, meta, policy, reports, requests, webhooks

    prefix = app.config.get("CONNECTOR_URL_PREFIX", "") + API_PREFIX
    app.config.setdefault("CONNECTOR_API_TITLE", "License Exception Connector")
    app.config.setdefault("CONNECTOR_API_VERSION", "v1")
    app.config.setdefault("CONNECTOR_OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("CONNECTOR_OPENAPI_URL_PREFIX", prefix)
    app.config.setdefault("CONNECTOR_OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("CONNECTOR_OPENAPI_SWAGGER_UI_PATH", "docs")
    # Swagger UI's files ship with the package (swagger-ui-bundle): the docs page asks no other host for anything
    app.config.setdefault("CONNECTOR_OPENAPI_SWAGGER_UI_URL", f"{prefix}/docs/assets/")
    api = ConnectorApi(config_prefix="CONNECTOR_", spec_kwargs={
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    api.init_app(app)
    app.register_blueprint(swagger_assets_blueprint(), url_prefix=f"{prefix}/docs/assets")
    for blp in (meta.blp, requests.blp, policy.blp, reports.blp, audit.blp, deliveries.blp, connections.blp):
        api.register_blueprint(blp, url_prefix=prefix + (blp.url_prefix or ""))
    root = app.config.get("CONNECTOR_URL_PREFIX", "")
    for blp in (connections.oauth_blp, webhooks.blp):
        api.register_blueprint(blp, url_prefix=root or None)
    return api


def swagger_assets_blueprint() -> FlaskBlueprint:
    """Swagger UI's JavaScript and CSS from the installed ``swagger-ui-bundle`` distribution."""
    from swagger_ui_bundle import swagger_ui_path

    return FlaskBlueprint("connector_swagger_ui", __name__, static_folder=swagger_ui_path, static_url_path="")


def make_blueprint(name: str, import_name: str, description: str, url_prefix: str = "") -> Blueprint:
    """A flask-smorest blueprint with the API's transaction, body and error handling attached once."""
    blp = Blueprint(name, import_name, description=description, url_prefix=url_prefix)
    blp.before_request(authorize_endpoint)  # first: who may call comes before what they sent
    blp.before_request(before_api_request)
    blp.after_request(finish_transaction)
    blp.register_error_handler(HTTPException, handle_http_exception)
    blp.register_error_handler(GovernanceError, handle_governance_error)
    blp.register_error_handler(AuthError, handle_auth_error)
    blp.register_error_handler(ValidationError, handle_validation_error)
    blp.register_error_handler(Exception, handle_unexpected)
    return blp
