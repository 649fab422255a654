"""What a request body must be before any route reads it: JSON that parses (or a 400 saying where it breaks),
nested no deeper than any real document, and values the database and the audit chain can hold; YAML bodies
without alias loops or bombs (``mappings.yaml_text``).

``before_api_request`` runs ``body_refusal`` on every API body after the caller's token and role are checked
(``auth.authorize_endpoint``) and before the route reads anything.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from connector.governance.errors import GovernanceError, InvalidInput
from connector.nesting import MAX_DEPTH as MAX_BODY_DEPTH
from connector.nesting import deep_path
from mappings.storable import text_problem, unstorable
from mappings.yaml_text import unsafe_yaml

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})


class MalformedBody(GovernanceError):
    """A body that cannot be read at all (not JSON, nested too deeply): answered 400."""

    kind = "malformed"


def too_deep(field: str = "(body)") -> MalformedBody:
    message = f"Nested more than {MAX_BODY_DEPTH} levels deep."
    return MalformedBody("body_too_deep", f"The body nests objects or lists more than {MAX_BODY_DEPTH} levels deep "
                         f"(at '{field}'); send a flatter document. Nothing was changed.",
                         {"max_depth": MAX_BODY_DEPTH, "fields": {field: [message]}})


def value_refusal(data: Any) -> InvalidInput | None:
    """The 422 naming every value that cannot be stored as sent (``mappings.storable``), or None."""
    fields: dict[str, list[str]] = {}
    for path, message in unstorable(data):
        fields.setdefault(path, []).append(message)
    if not fields:
        return None
    return InvalidInput("invalid_input", f"{len(fields)} value(s) cannot be stored; nothing was changed: "
                        f"{', '.join(sorted(fields))}.", {"fields": fields})


def query_refusal() -> InvalidInput | None:
    """The 422 naming every query argument (by ``query.<name>``) whose name or value the database cannot hold (a
    NUL, which PostgreSQL text refuses outright), or None. Werkzeug decodes invalid UTF-8 to U+FFFD, so no
    surrogate arrives this way."""
    fields: dict[str, list[str]] = {}
    for key, values in request.args.lists():
        for text in (key, *values):
            problem = text_problem(text)
            if problem is not None:
                fields.setdefault(f"query.{key}", []).append(problem)
    if not fields:
        return None
    return InvalidInput("invalid_input", f"{len(fields)} query argument(s) cannot be used; nothing was changed: "
                        f"{', '.join(sorted(fields))}.", {"fields": fields})


def yaml_refusal(text: str, field: str = "(body)") -> GovernanceError | None:
    """The 422 (alias loop, alias bomb) or 400 (nesting) for YAML that cannot be taken safely, or None; syntax
    errors are left to the route, which names them in its own words."""
    problem = unsafe_yaml(text)
    if problem is None:
        return None
    if problem.code == "yaml_too_deep":
        return too_deep(field)
    return InvalidInput(problem.code, f"{problem.message} Nothing was changed.", {"fields": {field: [problem.message]}})


def _json_error(body: bytes) -> MalformedBody | None:
    """The 400 naming where ``body`` stops being JSON, or None when it is JSON (``null``)."""
    try:
        json.loads(body)
    except RecursionError:
        return too_deep()
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        return MalformedBody("malformed_json", f"The body is not valid JSON ({exc.msg} at {where}); "
                             "nothing was changed.", {"line": exc.lineno, "column": exc.colno,
                                                      "fields": {"(body)": [f"{exc.msg} at {where}."]}})
    except ValueError:  # not UTF-8/16/32 text
        return MalformedBody("malformed_json", "The body is not valid JSON (it is not UTF-8 text); nothing was "
                             "changed.", {"fields": {"(body)": ["Send UTF-8 encoded JSON."]}})
    return None


def body_refusal() -> GovernanceError | None:
    """The 400/422 for a JSON or YAML body no route can take safely, or None (the parsed JSON is cached).

    YAML text inside JSON (a policy ``document``, a mapping sent as a string) is checked where it is parsed:
    ``parse_policy`` and ``mappings.document.parse_text``."""
    if request.mimetype in YAML_TYPES:
        return yaml_refusal(request.get_data(as_text=True))
    if not request.is_json:
        return None
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # json's C scanner gives up near the interpreter's recursion limit
        return too_deep()
    if data is None:
        error = _json_error(request.get_data())
        if error is not None:
            return error
    path = deep_path(data)
    if path is not None:
        return too_deep(path)
    return value_refusal(data)
