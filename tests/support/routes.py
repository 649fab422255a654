"""The API's routes as a test walks them: every route that takes a body, its path filled in."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

#: a value for each path variable the API's routes use (a route with another one fails the walk loudly)
PATH_VALUES = {"ref": "LEX-1", "name": "zd", "kind": "zendesk", "delivery_id": "1", "sample_id": "1",
               "token_id": "1", "ticket_id": "1",
               "scenario_id": "1", "review_id": "1", "token": "x", "case_id": "1", "role": "legal", "run_id": "1"}
_VARIABLE = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>")


def body_routes(app: Flask, prefix: str = "/api/v1") -> list[tuple[str, str, Any]]:
    """(method, path, view) of every route under ``prefix`` that declares its roles and takes a body."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith(prefix) or getattr(view, "_connector_roles", None) is None:
            continue
        path = _VARIABLE.sub(lambda m: PATH_VALUES[m.group(1)], rule.rule)
        found.extend((method, path, view) for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}))
    return found
