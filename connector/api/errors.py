"""Errors as JSON values: ``{code, message, status, details}`` for every failure an API route can meet."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from connector.auth import AuthError
from connector.config import settings
from connector.db import RETRY_AFTER_SECONDS, discard_failed_transaction, rollback
from connector.governance.errors import GovernanceError
from connector.governance.paths import flatten_errors

_STATUS_FOR_KIND = {"invalid": 422, "conflict": 409, "forbidden": 403, "malformed": 400}
_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "body_too_large",
               415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited", 503: "unavailable"}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    resp = jsonify({"code": code, "message": message, "status": status, "details": details or {}})
    resp.status_code = status
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def _argument_error(status: int, messages: dict[str, Any]) -> Response | None:
    """flask-smorest's refusals of a route's arguments, in our shape: a body that is not JSON, or the fields
    (prefixed with their location unless they came in the JSON body) that failed their schema."""
    if status == 400 and "json" in messages and messages["json"] == ["Invalid JSON body."]:
        return error_response(400, "malformed_json", "The body is not valid JSON; nothing was changed.")
    if status != 422:
        return None
    fields = {}
    for location, errs in messages.items():
        for path, msgs in flatten_errors(errs).items():
            fields[path if location == "json" else f"{location}.{path}"] = msgs
    return error_response(422, "invalid_input", f"{len(fields)} field(s) are not valid; nothing was changed: "
                          f"{', '.join(sorted(fields))}.", {"fields": fields})


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    answer = _argument_error(status, messages) if messages else None
    if answer is not None:
        return answer
    if status == 413:
        limit = settings().max_body_bytes
        return error_response(413, "body_too_large", f"The body is larger than {limit} bytes; send less.",
                              {"max_bytes": limit})
    message = data.get("message") or exc.description or exc.name
    return error_response(status, _HTTP_CODES.get(status, "http_error"), str(message), headers=allow_header(exc))


def allow_header(exc: HTTPException) -> dict[str, str] | None:
    """A 405 names the methods the resource has (``Allow``, RFC 9110 §15.5.6), as werkzeug's own answer does."""
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        return {"Allow": ", ".join(sorted(exc.valid_methods))}
    return None


def handle_governance_error(exc: GovernanceError) -> Response:
    return error_response(_STATUS_FOR_KIND.get(exc.kind, 409), exc.code, exc.message, exc.details)


def handle_auth_error(exc: AuthError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="connector"'} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


def handle_validation_error(exc: ValidationError) -> Response:
    fields = flatten_errors(exc.messages)
    return error_response(422, "invalid_input", f"{len(fields)} field(s) are not valid; nothing was changed.",
                          {"fields": fields})


def unavailable_response() -> Response:
    """503 ``unavailable`` with ``Retry-After``: the database is lost or refusing; the same request will work later.

    It does not claim that nothing was written: a commit whose answer was lost may have been applied."""
    return error_response(503, "unavailable", f"The database is unavailable; retry in {RETRY_AFTER_SECONDS} "
                          "seconds.", {"retry_after": RETRY_AFTER_SECONDS},
                          headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def handle_database_unavailable(exc: Exception) -> Response:
    """A database failure met anywhere in a request (the token check, the route, the commit): 503, rolled back."""
    discard_failed_transaction(exc)
    return unavailable_response()


def handle_unexpected(exc: Exception) -> Response:
    """A bug answers as JSON too (mounted in a host app as well); the request's transaction is rolled back."""
    rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "Something went wrong on our side; nothing was changed.")
