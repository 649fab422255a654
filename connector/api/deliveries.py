"""Deliveries (the outbox, for admins) and the billing terms feed (for billing)."""

from __future__ import annotations

from typing import Any

from flask import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from connector import delivery
from connector.api.blueprint import make_blueprint
from connector.api.pagination import PageArgs, decode_cursor, encode_cursor, page
from connector.auth import current_principal, requires
from connector.db import db
from connector.models import Delivery, DeliveryStatus, DeliveryTarget, EntitlementBoundary, ExceptionRequest
from connector.outbox import billing_payload
from connector.representation import iso

blp = make_blueprint("deliveries", __name__, "Deliveries to sources and billing; the billing terms feed.")


class DeliveryListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(tuple(DeliveryStatus)))
    target = fields.String()
    request = fields.String(metadata={"description": "request id or key"})


def delivery_view(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.id, "request_id": row.request.id, "request_key": row.request.key, "target": row.target,
        "change": row.change, "version": row.version, "message_id": row.message_id, "status": row.status,
        "attempts": row.attempts, "next_attempt_at": iso(row.next_attempt_at), "last_error": row.last_error,
        "last_status_code": row.last_status_code, "created_at": iso(row.created_at),
        "delivered_at": iso(row.delivered_at), "deadline": iso(row.deadline),
    }


@blp.route("/deliveries")
@blp.arguments(DeliveryListArgs, location="query")
@blp.response(200, description="Newest first; `targets` lists disabled targets.")
@requires("admin", "auditor")
def list_deliveries(args: dict[str, Any]) -> dict[str, Any]:
    query = select(Delivery)
    if args.get("status"):
        query = query.where(Delivery.status == args["status"])
    if args.get("target"):
        query = query.where(Delivery.target == args["target"])
    if args.get("request"):
        ref = args["request"]
        query = query.join(ExceptionRequest).where((ExceptionRequest.id == ref) | (ExceptionRequest.key == ref.upper()))
    after = decode_cursor(args.get("after"))
    if after is not None:
        query = query.where(Delivery.id < after)
    rows = db.session.scalars(query.order_by(Delivery.id.desc()).limit(args["limit"] + 1)).all()
    result = page(list(rows), args["limit"], lambda d: d.id)
    result["items"] = [delivery_view(d) for d in result["items"]]
    result["targets"] = [{"target": t.target, "status": t.status, "reason": t.reason, "changed_at": iso(t.changed_at)}
                         for t in db.session.scalars(select(DeliveryTarget).order_by(DeliveryTarget.target))]
    return result


@blp.route("/deliveries/<key:delivery_id>/retry", methods=["POST"])
@blp.response(200, description="The delivery, due now with a fresh maximum age; a disabled target is re-enabled.")
@requires("admin")
def retry(delivery_id: int) -> dict[str, Any]:
    row = delivery.retry(delivery_id, current_principal().name)
    if row is None:
        abort(404, f"No delivery {delivery_id}.")
    return delivery_view(row)


class TermsArgs(Schema):
    after = fields.String(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


@blp.route("/billing/terms")
@blp.arguments(TermsArgs, location="query")
@blp.response(200, description="Every entitlement version change in order: approved, amended, renewed, revoked, "
                               "expired. Poll with `after=<next>`; `next` is null when you are up to date.")
@requires("billing")
def terms(args: dict[str, Any]) -> dict[str, Any]:
    after = decode_cursor(args.get("after")) or 0
    rows = db.session.scalars(
        select(EntitlementBoundary).where(EntitlementBoundary.id > after)
        .order_by(EntitlementBoundary.id).limit(args["limit"] + 1)
    ).all()
    result = page(list(rows), args["limit"], lambda e: e.id)
    result["items"] = [{**billing_payload(e.request, e), "recorded_at": iso(e.created_at)} for e in result["items"]]
    if rows:
        result["cursor"] = encode_cursor(rows[min(len(rows), args["limit"]) - 1].id)
    else:
        result["cursor"] = args.get("after")
    return result


