"""The API's blueprints: who may call, what they may send, one transaction per request, errors as JSON.

Every route module makes its blueprint with ``make_blueprint``, so the checks and the commit are attached once.
"""

from __future__ import annotations

from flask import Response, abort, request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from connector.api.bodies import YAML_TYPES, body_refusal, query_refusal
from connector.api.errors import (
    error_response,
    handle_auth_error,
    handle_database_unavailable,
    handle_governance_error,
    handle_http_exception,
    handle_unexpected,
    handle_validation_error,
    unavailable_response,
)
from connector.api.query_args import ConnectorBlueprint
from connector.auth import AuthError, authorize_endpoint
from connector.config import settings
from connector.db import DATABASE_UNAVAILABLE, db, discard_failed_transaction, rollback
from connector.governance.errors import GovernanceError
from mappings.storable import text_problem

_BODY_TYPES = {"application/json", *YAML_TYPES}


def before_api_request() -> Response | None:
    request.max_content_length = settings().max_body_bytes
    if text_problem(request.path) is not None:  # a NUL in a path names nothing (and PostgreSQL text refuses it)
        abort(404)
    query = query_refusal()
    if query is not None:
        return handle_governance_error(query)
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
        rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return error_response(409, "conflict", "A concurrent change touched the same record; retry the request.")
    except DATABASE_UNAVAILABLE as exc:
        discard_failed_transaction(exc)
        return unavailable_response()
    return response


def make_blueprint(name: str, import_name: str, description: str, url_prefix: str = "") -> Blueprint:
    """A flask-smorest blueprint with the API's transaction, body and error handling attached once."""
    blp = ConnectorBlueprint(name, import_name, description=description, url_prefix=url_prefix)
    blp.before_request(authorize_endpoint)  # first: who may call comes before what they sent
    blp.before_request(before_api_request)
    blp.after_request(finish_transaction)
    blp.register_error_handler(HTTPException, handle_http_exception)
    blp.register_error_handler(GovernanceError, handle_governance_error)
    blp.register_error_handler(AuthError, handle_auth_error)
    blp.register_error_handler(ValidationError, handle_validation_error)
    for error in DATABASE_UNAVAILABLE:  # a lost database: 503 unavailable with Retry-After, never a 500
        blp.register_error_handler(error, handle_database_unavailable)
    blp.register_error_handler(Exception, handle_unexpected)
    return blp
