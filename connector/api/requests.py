"""Exception requests: intake, review, decision and lifecycle (SPEC §7.3)."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from marshmallow import Schema, fields
from sqlalchemy import or_, select
from sqlalchemy.orm import defer, joinedload, selectinload

from connector import operations
from connector.api.blueprint import make_blueprint
from connector.api.pagination import decode_cursor, page
from connector.api.schemas import (
    AmendSchema,
    DecisionSchema,
    DisputeSchema,
    PrecedentArgs,
    RenewSchema,
    RequestCreateSchema,
    RequestListArgs,
    RevokeSchema,
    RiskOverrideSchema,
    VoteSchema,
    WithdrawSchema,
)
from connector.audit import event_dict
from connector.auth import CHAIR, MEMBER, current_principal, requires
from connector.db import db
from connector.decision_outcomes import prefill_for, starting_entitlement
from connector.governance.errors import InvalidInput
from connector.governance.review import APPROVALS
from connector.models import AuditEvent, Connection, ExceptionRequest, utcnow
from connector.policy_store import current_policy
from connector.precedent_search import precedents_for
from connector.representation import request_view

blp = make_blueprint("requests", __name__, "Governed license exception requests.", "/requests")
READERS = ("admin", "reviewer", "intake", "auditor")
#: what a page's views read, loaded for the whole page in one query each (not one per request)
LIST_LOADS = (selectinload(ExceptionRequest.votes), selectinload(ExceptionRequest.decisions),
              selectinload(ExceptionRequest.entitlements), joinedload(ExceptionRequest.connection),
              defer(ExceptionRequest.raw_payload))  # the source's whole record: no view shows it


def find_request(ref: str) -> ExceptionRequest:
    """By opaque id or human key (``LEX-1042``)."""
    req = db.session.scalar(
        select(ExceptionRequest).where(or_(ExceptionRequest.id == ref, ExceptionRequest.key == ref.upper()))
    )
    if req is None:
        abort(404, f"No request with id or key '{ref}'.")
    return req


@blp.route("")
@blp.arguments(RequestListArgs, location="query")
@blp.response(200, description="`{items: [request], next: cursor|null}`, newest first.")
@requires(*READERS)
def list_requests(args: dict[str, Any]) -> dict[str, Any]:
    query = select(ExceptionRequest)
    for name in ("state", "track", "category", "source"):
        if args.get(name):
            query = query.where(getattr(ExceptionRequest, name) == args[name])
    if args.get("band"):
        query = query.where(ExceptionRequest.risk_band == args["band"])
    if args.get("connection"):
        query = query.join(Connection).where(Connection.name == args["connection"])
    if args.get("overdue") is not None:
        now = utcnow()
        overdue = (ExceptionRequest.state == "in_review") & (ExceptionRequest.due_at < now)
        query = query.where(overdue if args["overdue"] else ~overdue | ExceptionRequest.due_at.is_(None))
    after = decode_cursor(args.get("after"))
    if after is not None:
        query = query.where(ExceptionRequest.pk < after)
    rows = db.session.scalars(query.order_by(ExceptionRequest.pk.desc()).limit(args["limit"] + 1)
                              .options(*LIST_LOADS)).all()
    result = page(list(rows), args["limit"], lambda r: r.pk)
    policy, now = current_policy(), utcnow()  # once for the page, not per item
    result["items"] = [request_view(r, now=now, policy=policy) for r in result["items"]]
    return result


@blp.route("", methods=["POST"])
@blp.arguments(RequestCreateSchema)
@blp.response(201, description="The request, created.")
@blp.alt_response(200, success=True, description="A request with this `external_id` exists: it is updated (or "
                                                 "left as it is); `intake_outcome` says which.")
@requires("intake", "admin")
def create_request(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    if not request.get_data(cache=True).strip():
        raise InvalidInput("empty_body", "The body is empty: send the request's fields as a JSON object.")
    external_id = body.pop("external_id", None)
    external_url = body.pop("external_url", None)
    policy = current_policy()
    if body.get("category") is not None and body["category"] not in policy.categories:
        raise InvalidInput("invalid_input", "1 field(s) are not valid; nothing was changed: category.",
                           {"fields": {"category": [f"Must be one of: {', '.join(policy.categories)}."]}})
    req, outcome = operations.submit(typed=body, source="api", actor=current_principal().name,
                                     external_id=external_id, external_url=external_url)
    view = request_view(req)
    view["intake_outcome"] = outcome
    return view, 201 if outcome == "created" else 200


@blp.route("/<ref>")
@blp.response(200)
@requires(*READERS)
def get_request(ref: str) -> dict[str, Any]:
    return request_view(find_request(ref))


@blp.route("/<ref>/votes", methods=["POST"])
@blp.arguments(VoteSchema)
@blp.response(201)
@requires("reviewer", committee=MEMBER)
def vote(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    operations.cast_vote(req, current_principal(), body["role"], body["vote"], body.get("rationale"))
    return request_view(req)


class OutcomeBoundsSchema(Schema):
    description = fields.String()
    max_seat_increase_ratio = fields.Float(allow_none=True, metadata={"description": "Seats over the baseline, "
                                                                                      "as a share of it."})
    max_seats_added = fields.Integer(allow_none=True)
    max_duration_days = fields.Integer(allow_none=True)
    max_term_extension_days = fields.Integer(allow_none=True)
    allowed = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "regions, environments, features, usage_rights: the values a standard grant may hold."})
    conditions = fields.List(fields.String())
    success_metrics = fields.List(fields.String())
    fast_track_may_grant = fields.Boolean()


class PrefillEntitlementSchema(Schema):
    grants = fields.Dict(metadata={"description": "A terms object."})
    effective_from = fields.String(metadata={"description": "ISO date."})
    expires_at = fields.String(allow_none=True, metadata={"description": "ISO date; null when neither the request "
                                                                          "nor the outcome bounds it."})
    conditions = fields.List(fields.String())
    renewal = fields.Dict()
    success_metrics = fields.List(fields.String())


class PrefillSchema(Schema):
    category = fields.String(allow_none=True)
    policy_version = fields.Integer()
    predefined = fields.Nested(OutcomeBoundsSchema, allow_none=True, metadata={
        "description": "The category's predefined outcome; null when the policy defines none."})
    outcome = fields.String(metadata={"description": "The decision outcome the predefined outcome suggests."})
    entitlement = fields.Nested(PrefillEntitlementSchema, metadata={
        "description": "A decision body's `entitlement`: the requested terms within the predefined bounds."})


@blp.route("/<ref>/decision/prefill")
@blp.response(200, PrefillSchema, description="What a decision starts from: the category's predefined outcome "
              "applied to the requested terms (the decision form fills itself from this). A decision that departs "
              "from it is recorded as bespoke.")
@requires(*READERS)
def decision_prefill(ref: str) -> dict[str, Any]:
    return prefill_for(find_request(ref), current_policy(), operations.today())


@blp.route("/<ref>/decision", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(201)
@requires("reviewer", committee=CHAIR)
def decide(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    entitlement = body.get("entitlement")
    if body["use_predefined_outcome"] and body["outcome"] in APPROVALS:
        entitlement = starting_entitlement(req, current_policy(), operations.today(), entitlement)
    operations.decide(req, current_principal(), body["outcome"], body["rationale"], entitlement)
    return request_view(req)


@blp.route("/<ref>/amend", methods=["POST"])
@blp.arguments(AmendSchema)
@blp.response(201)
@requires("reviewer", committee=CHAIR)
def amend(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    operations.amend(req, current_principal(), body["rationale"], body["entitlement"])
    return request_view(req)


@blp.route("/<ref>/renew", methods=["POST"])
@blp.arguments(RenewSchema)
@blp.response(201)
@requires("reviewer", committee=CHAIR)
def renew(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    operations.renew(req, current_principal(), body["rationale"], body["expires_at"])
    return request_view(req)


@blp.route("/<ref>/revoke", methods=["POST"])
@blp.arguments(RevokeSchema)
@blp.response(201)
@requires("reviewer", committee=CHAIR)
def revoke(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    operations.revoke(req, current_principal(), body["reason"], body.get("effective"))
    return request_view(req)


@blp.route("/<ref>/disputes", methods=["POST"])
@blp.arguments(DisputeSchema)
@blp.response(201)
@requires("intake", "reviewer", "admin")
def dispute(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    operations.dispute(req, current_principal().name, body["reason"])
    return request_view(req)


@blp.route("/<ref>/withdraw", methods=["POST"])
@blp.arguments(WithdrawSchema)
@blp.response(201)
@requires("intake", "admin")
def withdraw(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    operations.withdraw(req, current_principal().name, body["reason"])
    return request_view(req)


@blp.route("/<ref>/risk-overrides", methods=["POST"])
@blp.arguments(RiskOverrideSchema)
@blp.response(201)
@requires("reviewer", committee=MEMBER)
def override_risk(body: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    operations.override_risk(req, current_principal(), body["dimension"], body["value"], body["rationale"])
    return request_view(req)


@blp.route("/<ref>/precedents")
@blp.arguments(PrecedentArgs, location="query")
@blp.response(200, description="The most similar decided requests, most similar first.")
@requires(*READERS)
def precedents(args: dict[str, Any], ref: str) -> dict[str, Any]:
    return {"items": precedents_for(find_request(ref), args["limit"]), "next": None}


@blp.route("/<ref>/history")
@blp.arguments(RequestListArgs(only=("after", "limit")), location="query")
@blp.response(200, description="The audit events about this request, oldest first.")
@requires(*READERS)
def history(args: dict[str, Any], ref: str) -> dict[str, Any]:
    req = find_request(ref)
    query = select(AuditEvent).where(AuditEvent.subject == operations.subject(req))
    after = decode_cursor(args.get("after"))
    if after is not None:
        query = query.where(AuditEvent.seq > after)
    rows = db.session.scalars(query.order_by(AuditEvent.seq).limit(args["limit"] + 1)).all()
    result = page(list(rows), args["limit"], lambda e: e.seq)
    result["items"] = [event_dict(e) for e in result["items"]]
    return result


