"""The audit log over HTTP: read the chain, verify it, draw samples and record findings."""

from __future__ import annotations

from typing import Any

from flask import abort
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from connector import audit
from connector.api.blueprint import make_blueprint
from connector.api.pagination import PageArgs, decode_cursor, page
from connector.auth import current_principal, requires
from connector.db import db
from connector.models import AuditEvent, AuditSample

blp = make_blueprint("audit", __name__, "The hash-chained audit log.", "/audit")
AUDITORS = ("auditor", "admin")


class SampleSchema(Schema):
    class Meta:
        unknown = RAISE

    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    seed = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class FindingSchema(Schema):
    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True)
    finding = fields.String(required=True, validate=validate.OneOf(("compliant", "non_compliant", "follow_up")))
    note = fields.String(load_default="", validate=validate.Length(max=5000))


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, description="Events after the cursor, oldest first.")
@requires(*AUDITORS)
def list_events(args: dict[str, Any]) -> dict[str, Any]:
    after = decode_cursor(args.get("after")) or 0
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(args["limit"] + 1)
    ).all()
    result = page(list(rows), args["limit"], lambda e: e.seq)
    result["items"] = [audit.event_dict(e) for e in result["items"]]
    return result


@blp.route("/verify")
@blp.response(200, description="`{ok, checked, head, broken_seq, reason}`.")
@requires(*AUDITORS)
def verify() -> dict[str, Any]:
    return audit.verify().to_dict()


@blp.route("/head")
@blp.response(200, description="`{seq, hash, time}` of the newest event, to anchor outside the database.")
@requires(*AUDITORS)
def head() -> dict[str, Any]:
    return audit.head()


@blp.route("/samples", methods=["POST"])
@blp.arguments(SampleSchema)
@blp.response(201)
@requires(*AUDITORS)
def draw(body: dict[str, Any]) -> dict[str, Any]:
    return audit.sample_dict(audit.draw_sample(body["size"], body.get("seed"), current_principal().name))


@blp.route("/samples/<key:sample_id>/findings", methods=["POST"])
@blp.arguments(FindingSchema)
@blp.response(201)
@requires(*AUDITORS)
def finding(body: dict[str, Any], sample_id: int) -> dict[str, Any]:
    sample = db.session.get(AuditSample, sample_id)
    if sample is None:
        abort(404, f"No audit sample {sample_id}.")
    if body["request_id"] not in sample.items:
        abort(422, "That request is not in this sample.")
    audit.record_finding(sample, body["request_id"], body["finding"], body["note"], current_principal().name)
    return audit.sample_dict(sample)
