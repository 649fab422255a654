"""Change-impact scenarios: run one (nothing kept), keep one (audited), read them re-run against the requests as
they are now, the scenarios touching a request, and the amendment (or revocation) a suggestion proposes."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from marshmallow import Schema, fields
from sqlalchemy import select

from connector import scenario_store
from connector.api.blueprint import make_blueprint
from connector.api.pagination import PageArgs, decode_cursor, page
from connector.api.requests import READERS, find_request
from connector.auth import current_principal, requires
from connector.db import db
from connector.governance.scenarios import KINDS, SUGGESTIONS, ScenarioSchema
from connector.models import Scenario
from connector.operations import today

blp = make_blueprint("scenarios", __name__, "Change-impact scenarios: which open requests and active exceptions a "
                                            "product or ecosystem change touches, and what to do about each.")
WRITERS = ("admin", "reviewer")
SCENARIO_READERS = ("admin", "reviewer", "auditor")

EXAMPLE = {"name": "SSO removed in 5.0", "kind": "feature_removed", "feature": "sso", "version": "5.0",
           "effective": "2027-03-01", "description": "Single sign-on moves to the Identity add-on."}
EXAMPLE_YAML = "name: APAC withdrawn\nkind: region_withdrawn\nregion: APAC\neffective: 2027-01-15\n"


class ScenarioImpactSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the request's id"})
    key = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "open (needs_info, in_review) or approved"})
    hits = fields.List(fields.String(), required=True, metadata={"description": "which term it hits: `granted "
                                                                               "features`, `requested regions`, …"})
    why = fields.String(required=True)
    suggestion = fields.String(required=True, metadata={"enum": list(SUGGESTIONS)})
    title = fields.String(allow_none=True)
    customer = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True, metadata={"format": "date", "description": "an active "
                                                                                         "exception's expiry"})
    grants = fields.Dict(allow_none=True, metadata={"description": "what an active exception grants now"})
    prefill = fields.String(allow_none=True, metadata={"description": "a kept scenario's suggestion, relative to "
                                                                      "/api/v1: the body of the change to send"})


class ScenarioRunSummarySchema(Schema):
    touched = fields.Integer(required=True)
    open = fields.Integer(required=True)
    active = fields.Integer(required=True)
    by_suggestion = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    keys = fields.List(fields.String(), required=True)


class ScenarioRunSchema(Schema):
    scenario = fields.Dict(required=True, metadata={"description": "the scenario as validated"})
    items = fields.List(fields.Nested(ScenarioImpactSchema), required=True)
    summary = fields.Nested(ScenarioRunSummarySchema, required=True)
    run_at = fields.String(required=True, metadata={"format": "date-time"})


class KeptScenarioSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    document = fields.Dict(required=True)
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    last_run_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    last_result = fields.Nested(ScenarioRunSummarySchema, allow_none=True)
    impacts = fields.List(fields.Nested(ScenarioImpactSchema),
                          metadata={"description": "what it touches now (one scenario only)"})


class ScenarioPageSchema(Schema):
    items = fields.List(fields.Nested(KeptScenarioSchema), required=True)
    next = fields.String(allow_none=True, metadata={"description": "cursor of the next page; null on the last"})


class ScenarioTouchingSchema(Schema):
    scenario_id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    effective = fields.String(allow_none=True, metadata={"format": "date"})
    hits = fields.List(fields.String(), required=True)
    why = fields.String(required=True)
    suggestion = fields.String(required=True, metadata={"enum": list(SUGGESTIONS)})


class ScenarioTouchingPageSchema(Schema):
    items = fields.List(fields.Nested(ScenarioTouchingSchema), required=True)
    next = fields.String(allow_none=True)


class ScenarioSuggestionSchema(Schema):
    scenario_id = fields.Integer(required=True)
    request = fields.String(required=True)
    suggestion = fields.String(required=True, metadata={"enum": list(SUGGESTIONS)})
    action = fields.String(required=True, metadata={"enum": ["amend", "renew", "revoke"]})
    method = fields.String(required=True)
    path = fields.String(required=True, metadata={"description": "relative to /api/v1"})
    body = fields.Dict(required=True, metadata={"description": "the body to send (edited or not) by the chair"})
    why = fields.String(required=True)
    hits = fields.List(fields.String(), required=True)


_BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ScenarioSchema, "example": EXAMPLE},
    "application/yaml": {"schema": {"type": "string", "description": "the scenario as YAML"},
                         "example": EXAMPLE_YAML}}}}


def _document() -> dict[str, Any]:
    """The scenario sent, as JSON or YAML."""
    if request.mimetype == "application/json":
        return scenario_store.document_from(request.get_json(silent=True))
    return scenario_store.parse_yaml(request.get_data(as_text=True))


def _kept(scenario_id: int) -> Scenario:
    row = db.session.get(Scenario, scenario_id)
    if row is None:
        abort(404, f"No scenario {scenario_id}.")
    return row


@blp.route("/scenarios/run", methods=["POST"])
@blp.doc(**_BODY_DOC)
@blp.response(200, ScenarioRunSchema, description="What the scenario touches now; nothing is kept or written.")
@requires(*WRITERS)
def run_scenario() -> dict[str, Any]:
    return scenario_store.run(_document())


@blp.route("/scenarios", methods=["POST"])
@blp.doc(**_BODY_DOC)
@blp.response(201, KeptScenarioSchema, description="The scenario, kept (audited), with what it touches now.")
@requires(*WRITERS)
def create_scenario() -> tuple[dict[str, Any], int]:
    row, result = scenario_store.save(_document(), current_principal().name)
    return scenario_store.scenario_view(row, result), 201


@blp.route("/scenarios")
@blp.arguments(PageArgs, location="query")
@blp.response(200, ScenarioPageSchema, description="Kept scenarios, newest first, with their last run's summary.")
@requires(*SCENARIO_READERS)
def list_scenarios(args: dict[str, Any]) -> dict[str, Any]:
    query = select(Scenario)
    after = decode_cursor(args.get("after"))
    if after is not None:
        query = query.where(Scenario.id < after)
    rows = db.session.scalars(query.order_by(Scenario.id.desc()).limit(args["limit"] + 1)).all()
    result = page(list(rows), args["limit"], lambda s: s.id)
    result["items"] = [scenario_store.scenario_view(r) for r in result["items"]]
    return result


@blp.route("/scenarios/<key:scenario_id>")
@blp.response(200, KeptScenarioSchema, description="The scenario, run again against the requests as they are now "
                                                   "(its last result is updated).")
@requires(*SCENARIO_READERS)
def get_scenario(scenario_id: int) -> dict[str, Any]:
    row = _kept(scenario_id)
    return scenario_store.scenario_view(row, scenario_store.rerun(row))


@blp.route("/scenarios/<key:scenario_id>/suggestions/<ref>")
@blp.response(200, ScenarioSuggestionSchema,
              description="The change a kept scenario suggests for an active exception, as the body of the "
                          "amendment (or revocation) to send through the usual approval path; 409 when it suggests "
                          "none.")
@requires(*WRITERS)
def suggestion(scenario_id: int, ref: str) -> dict[str, Any]:
    return scenario_store.suggestion(_kept(scenario_id), find_request(ref), today())


@blp.route("/requests/<ref>/scenarios")
@blp.response(200, ScenarioTouchingPageSchema, description="The kept scenarios that touch this request now.")
@requires(*READERS)
def touching(ref: str) -> dict[str, Any]:
    return {"items": scenario_store.touching(find_request(ref)), "next": None}
