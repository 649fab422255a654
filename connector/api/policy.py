"""The governance policy document: read it, replace it (validated, versioned, audited), and simulate a draft
against the requests already seen before saving it."""

from __future__ import annotations

from typing import Any

import yaml
from flask import request
from marshmallow import Schema, fields

from connector import policy_simulation
from connector.api.blueprint import make_blueprint
from connector.auth import current_principal, requires
from connector.governance.errors import InvalidInput
from connector.governance.policy import parse_policy
from connector.policy_store import current_policy, store_policy

blp = make_blueprint("policy", __name__, "The governance policy (YAML, versioned).", "/policy")

_DRAFT_PROPERTIES = {
    "document": {"type": "string", "description": "the policy document as YAML text"},
    "policy": {"type": "object", "description": "the policy as an object"}}


def _policy_body(policy: Any) -> dict[str, Any]:
    return {"version": policy.version, "document": policy.document,
            "policy": yaml.safe_load(policy.document)}


def _json_body() -> dict[str, Any] | None:
    """The JSON object sent, None for a YAML body (400 for JSON that is not an object)."""
    if request.mimetype != "application/json":
        return None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("malformed_body", "Send {\"document\": \"<yaml>\"} or {\"policy\": {...}}.")
    return body


def draft_document(body: dict[str, Any] | None) -> str:
    """The policy text a PUT or a simulation sends: YAML as the body, or JSON ``document`` (text) or ``policy``
    (an object)."""
    if body is None:
        return request.get_data(as_text=True)
    if isinstance(body.get("document"), str):
        return str(body["document"])
    if isinstance(body.get("policy"), dict):
        return yaml.safe_dump(body["policy"], sort_keys=False, allow_unicode=True)
    raise InvalidInput("invalid_input", "Send the policy as 'document' (YAML text) or 'policy' (object).",
                       {"fields": {"document": ["Required (or 'policy')."]}})


@blp.route("")
@blp.response(200, description="`{version, document (YAML text), policy (parsed)}`.")
@requires("admin", "reviewer", "auditor")
def get_policy() -> dict[str, Any]:
    return _policy_body(current_policy())


@blp.route("", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {
    "application/yaml": {"schema": {"type": "string", "description": "the policy document"}},
    "application/json": {"schema": {"type": "object", "description": "one of `document` or `policy`",
                                    "properties": _DRAFT_PROPERTIES}}}})
@blp.response(200, description="The new version. Send YAML (`Content-Type: application/yaml`) or JSON: "
                                "`{document: <yaml text>}` or `{policy: {...}}`. Its audit event "
                                "(`policy.changed`) records the simulation's totals against the version it "
                                "replaces.")
@requires("admin")
def put_policy() -> dict[str, Any]:
    return _policy_body(store_policy(draft_document(_json_body()), current_principal().name))


# --- simulation ------------------------------------------------------------------------------------------------

class SimulateArgs(Schema):
    since = fields.String(load_default=None, metadata={
        "description": "ISO date or date-time: simulate the requests created since then (default: the last 12 "
                       "months), plus every open request and active exception whatever its age. A JSON body's "
                       "`since` wins over this."})


class AssessmentSchema(Schema):
    track = fields.String()
    band = fields.String()
    score = fields.Float()
    required_roles = fields.List(fields.String(), metadata={"description": "The committee roles that must vote."})
    due_at = fields.String(allow_none=True, metadata={"description": "SLA due time (ISO); null until complete."})
    reasons = fields.List(fields.String(), metadata={"description": "Why this track (what keeps it off the fast "
                                                                     "track) and which risk rules apply."})


class DifferenceSchema(Schema):
    id = fields.String()
    key = fields.String()
    state = fields.String()
    changed = fields.List(fields.String(), metadata={"description": "Which of track, band, score, "
                                                                     "required_roles, due_at differ."})
    now = fields.Nested(AssessmentSchema, metadata={"description": "Under the policy in force."})
    draft = fields.Nested(AssessmentSchema, metadata={"description": "Under the draft."})


class BandMoveSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    requests = fields.Integer()


class RoleLoadSchema(Schema):
    now = fields.Integer()
    draft = fields.Integer()
    change = fields.Integer()


class SimulationTotalsSchema(Schema):
    requests = fields.Integer(metadata={"description": "Requests simulated."})
    changed = fields.Integer(metadata={"description": "Requests whose outcome would differ."})
    to_fast_track = fields.Integer()
    to_standard_track = fields.Integer()
    band_moves = fields.List(fields.Nested(BandMoveSchema))
    bands = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                        metadata={"description": "`{now: {band: requests}, draft: {band: requests}}`."})
    reviewer_load = fields.Dict(keys=fields.String(), values=fields.Nested(RoleLoadSchema), metadata={
        "description": "Per committee role, how many of the requests need its vote now and under the draft."})


class SimulationSchema(Schema):
    current_version = fields.Integer(metadata={"description": "The policy version compared with."})
    since = fields.String(metadata={"description": "The start of the window simulated (ISO)."})
    skipped = fields.Integer(metadata={"description": "Requests left out: stored fields no longer readable."})
    totals = fields.Nested(SimulationTotalsSchema)
    differences = fields.List(fields.Nested(DifferenceSchema), metadata={
        "description": "Each request whose track, band, score, required roles or SLA due date would differ."})


_SIMULATE_EXAMPLE = {"policy": {"...": "the whole policy, as GET /policy answers it, with the change"},
                     "since": "2026-01-01"}


@blp.route("/simulate", methods=["POST"])
@blp.arguments(SimulateArgs, location="query")
@blp.doc(requestBody={"required": True, "content": {
    "application/yaml": {"schema": {"type": "string", "description": "the draft policy document"}},
    "text/yaml": {"schema": {"type": "string", "description": "the draft policy document"}},
    "application/json": {"schema": {"type": "object", "description": "one of `document` or `policy`, and "
                                                                       "optionally `since`",
                                    "properties": {**_DRAFT_PROPERTIES, "since": {
                                        "type": "string", "description": "ISO date or date-time"}}},
                         "example": _SIMULATE_EXAMPLE}}})
@blp.response(200, SimulationSchema, description="What the draft would change, request by request, and the "
              "totals. Nothing is written. An invalid draft is refused like `PUT /policy` (422 naming each field).")
@requires("admin")
def simulate_policy(args: dict[str, Any]) -> dict[str, Any]:
    body = _json_body()
    since_value = body.get("since") if body is not None and body.get("since") is not None else args.get("since")
    since = policy_simulation.parse_since(since_value)
    draft = parse_policy(draft_document(body))
    return policy_simulation.run(current_policy(), draft, since)
