"""Small HTTP pieces shared by the sandbox's parts: JSON error answers and request bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from werkzeug.wrappers import Request, Response

JSON = dict[str, Any]


class ApiError(Exception):
    """An error answer: raised anywhere in a handler, rendered as JSON with its status and headers."""

    def __init__(self, status: int, body: JSON, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def invalid(description: str, status: int = 400, error: str = "InvalidValue") -> ApiError:
    return ApiError(status, {"error": error, "description": description})


def record_invalid(description: str) -> ApiError:
    """Zendesk's 422 shape for validation errors."""
    return ApiError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {"base": [{"description": description, "error": "InvalidValue"}]},
        },
    )


def webhook_api_error(status: int, code: str, title: str, detail: str) -> ApiError:
    """The webhooks API reports errors as an ``errors`` list."""
    return ApiError(status, {"errors": [{"code": code, "title": title, "detail": detail}]})


def json_body(request: Request) -> JSON:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError as exc:
        raise invalid("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    return body


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(orjson.dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
