"""Periodic policy reviews: list and read them (with their issuance-pattern report), and, for their owners,
record findings and close them. The worker opens them on the policy's cadence (``review.cadence_days``)."""

from __future__ import annotations

from typing import Any

from flask import abort
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select

from connector import policy_reviews
from connector.api.blueprint import make_blueprint
from connector.api.pagination import PageArgs, decode_cursor, page
from connector.auth import MEMBER, current_principal, requires
from connector.db import db
from connector.models import PolicyReview

blp = make_blueprint("policy_reviews", __name__, "Periodic policy reviews: the issuance patterns of each period, "
                                                 "the owners' findings, closing.")
READERS = ("admin", "reviewer", "auditor")


class ReviewFindingSchema(Schema):
    class Meta:
        unknown = RAISE

    finding = fields.String(required=True, validate=validate.Length(min=1, max=5000),
                            metadata={"example": "Seat expansions of +10% for 90 days were approved 7 times."})
    area = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(policy_reviews.AREAS),
                         metadata={"description": "the report section it is about",
                                   "example": "standard_term_candidates"})
    recommendation = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000),
                                   metadata={"example": "Make +10% for 90 days the seat expansion outcome."})


class ReviewCloseSchema(Schema):
    class Meta:
        unknown = RAISE

    summary = fields.String(required=True, validate=validate.Length(min=1, max=10000),
                            metadata={"example": "Two findings; the policy change follows in version 5."})


class ReviewFindingOutSchema(Schema):
    n = fields.Integer(required=True)
    finding = fields.String(required=True)
    area = fields.String(allow_none=True)
    recommendation = fields.String(allow_none=True)
    by = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})


class PolicyReviewSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["open", "closed"]})
    period_start = fields.String(required=True, metadata={"format": "date-time"})
    period_end = fields.String(required=True, metadata={"format": "date-time"})
    policy_version = fields.Integer(required=True)
    owners = fields.List(fields.String(), required=True, metadata={"description": "committee roles"})
    opened_by = fields.String(required=True)
    opened_at = fields.String(required=True, metadata={"format": "date-time"})
    findings = fields.List(fields.Nested(ReviewFindingOutSchema), required=True)
    closed_by = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    summary = fields.String(allow_none=True)
    totals = fields.Dict(allow_none=True, metadata={"description": "requests, decided, approved, approval_rate"})
    report = fields.Dict(metadata={"description": "the issuance-pattern report (one review only): totals; by_category, "
                                                  "by_segment, by_region, by_source; repeat_customers; "
                                                  "standard_term_candidates; disputes; sla_breaches; "
                                                  "risk_overrides; expired_unrenewed"})


class PolicyReviewPageSchema(Schema):
    items = fields.List(fields.Nested(PolicyReviewSchema), required=True)
    next = fields.String(allow_none=True, metadata={"description": "cursor of the next page; null on the last"})


def _review(review_id: int) -> PolicyReview:
    row = policy_reviews.find(review_id)
    if row is None:
        abort(404, f"No policy review {review_id}.")
    return row


@blp.route("/policy/reviews")
@blp.arguments(PageArgs, location="query")
@blp.response(200, PolicyReviewPageSchema, description="Reviews, newest first (without their reports).")
@requires(*READERS)
def list_reviews(args: dict[str, Any]) -> dict[str, Any]:
    query = select(PolicyReview)
    after = decode_cursor(args.get("after"))
    if after is not None:
        query = query.where(PolicyReview.id < after)
    rows = db.session.scalars(query.order_by(PolicyReview.id.desc()).limit(args["limit"] + 1)).all()
    result = page(list(rows), args["limit"], lambda r: r.id)
    result["items"] = [policy_reviews.review_view(r, report=False) for r in result["items"]]
    return result


@blp.route("/policy/reviews/<key:review_id>")
@blp.response(200, PolicyReviewSchema, description="One review with its report and findings.")
@requires(*READERS)
def get_review(review_id: int) -> dict[str, Any]:
    return policy_reviews.review_view(_review(review_id))


@blp.route("/policy/reviews/<key:review_id>/findings", methods=["POST"])
@blp.arguments(ReviewFindingSchema)
@blp.response(201, PolicyReviewSchema, description="The review with the finding added (audited). Owners only "
                                             "(`review.owners`); 409 once closed.")
@requires("reviewer", committee=MEMBER)
def add_finding(body: dict[str, Any], review_id: int) -> dict[str, Any]:
    row = _review(review_id)
    policy_reviews.record_finding(row, current_principal(), body["finding"], body.get("area"),
                                  body.get("recommendation"))
    return policy_reviews.review_view(row)


@blp.route("/policy/reviews/<key:review_id>/close", methods=["POST"])
@blp.arguments(ReviewCloseSchema)
@blp.response(201, PolicyReviewSchema, description="The review, closed (audited). Owners only; 409 once closed.")
@requires("reviewer", committee=MEMBER)
def close_review(body: dict[str, Any], review_id: int) -> dict[str, Any]:
    row = _review(review_id)
    policy_reviews.close(row, current_principal(), body["summary"])
    return policy_reviews.review_view(row)
