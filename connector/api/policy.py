"""The governance policy document: read it, replace it (validated, versioned, audited)."""

from __future__ import annotations

from typing import Any

import yaml
from flask import request

from connector.api.blueprint import make_blueprint
from connector.auth import current_principal, requires
from connector.governance.errors import InvalidInput
from connector.policy_store import current_policy, store_policy

blp = make_blueprint("policy", __name__, "The governance policy (YAML, versioned).", "/policy")


def _policy_body(policy: Any) -> dict[str, Any]:
    return {"version": policy.version, "document": policy.document,
            "policy": yaml.safe_load(policy.document)}


@blp.route("")
@blp.response(200, description="`{version, document (YAML text), policy (parsed)}`.")
@requires("admin", "reviewer", "auditor")
def get_policy() -> dict[str, Any]:
    return _policy_body(current_policy())


@blp.route("", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {
    "application/yaml": {"schema": {"type": "string", "description": "the policy document"}},
    "application/json": {"schema": {"type": "object", "description": "one of `document` or `policy`", "properties": {
        "document": {"type": "string", "description": "the policy document as YAML text"},
        "policy": {"type": "object", "description": "the policy as an object"}}}}}})
@blp.response(200, description="The new version. Send YAML (`Content-Type: application/yaml`) or JSON: "
                                "`{document: <yaml text>}` or `{policy: {...}}`.")
@requires("admin")
def put_policy() -> dict[str, Any]:
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidInput("malformed_body", "Send {\"document\": \"<yaml>\"} or {\"policy\": {...}}.")
        if isinstance(body.get("document"), str):
            document = body["document"]
        elif isinstance(body.get("policy"), dict):
            document = yaml.safe_dump(body["policy"], sort_keys=False, allow_unicode=True)
        else:
            raise InvalidInput("invalid_input", "Send the policy as 'document' (YAML text) or 'policy' (object).",
                               {"fields": {"document": ["Required (or 'policy')."]}})
    else:
        document = request.get_data(as_text=True)
    return _policy_body(store_policy(document, current_principal().name))
