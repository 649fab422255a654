"""Feedback on decisions: the public answer through a customer summary's signed link, and what reviewers read."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from connector import feedback
from connector.api.blueprint import make_blueprint
from connector.api.requests import find_request
from connector.auth import requires

blp = make_blueprint("feedback", __name__, "Customers' and channel partners' feedback on decisions.")
READERS = ("admin", "reviewer", "auditor")


class FeedbackBodySchema(Schema):
    class Meta:
        unknown = RAISE

    clarity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5), metadata={
        "description": "How clear the decision was: 1 (not clear) to 5 (very clear)."})
    needed = fields.String(load_default="", validate=validate.Length(max=feedback.MAX_NEEDED), metadata={
        "description": "What the customer or partner needed from the decision or its message."})
    respondent = fields.String(load_default="customer", validate=validate.OneOf(feedback.RESPONDENTS), metadata={
        "description": "Who answers: the customer or a channel partner."})


class FeedbackReceiptSchema(Schema):
    received = fields.Boolean(required=True)
    clarity = fields.Integer(required=True)
    respondent = fields.String(required=True)
    received_at = fields.String(required=True)


class FeedbackItemSchema(Schema):
    id = fields.Integer(required=True)
    respondent = fields.String(required=True)
    clarity = fields.Integer(required=True)
    needed = fields.String(required=True)
    decision_number = fields.Integer(required=True)
    received_at = fields.String(required=True)


class RequestFeedbackSchema(Schema):
    key = fields.String(required=True)
    count = fields.Integer(required=True)
    average_clarity = fields.Float(required=True, allow_none=True)
    items = fields.List(fields.Nested(FeedbackItemSchema), required=True)


class FeedbackPeriodArgs(Schema):
    class Meta:
        unknown = RAISE

    since = fields.AwareDateTime(load_default=None, metadata={"description": "From (ISO 8601 with offset)."})
    until = fields.AwareDateTime(load_default=None, metadata={"description": "Before (ISO 8601 with offset)."})


_EXAMPLE_BODY = {"clarity": 4, "needed": "The date the extra seats end, in the first line.", "respondent": "partner"}
_REFUSED = ("The link is forged, changed or expired (`feedback_link_invalid`, `feedback_link_expired`); nothing "
            "was recorded.")


@blp.route("/feedback/<token>", methods=["POST"])
@blp.arguments(FeedbackBodySchema, example=_EXAMPLE_BODY)
@blp.response(201, FeedbackReceiptSchema, description="Recorded, for the request the link names.",
              example={"received": True, "clarity": 4, "respondent": "partner",
                       "received_at": "2026-12-03T15:40:00+00:00"})
@blp.alt_response(403, description=_REFUSED)
def give_feedback(body: dict[str, Any], token: str) -> dict[str, Any]:
    """Rate a decision's clarity and say what was needed, through the link in its customer summary (no sign-in:
    the signed link is the authorisation; it expires after `CONNECTOR_FEEDBACK_DAYS`)."""
    link = feedback.read_token(token)
    clarity, needed, respondent = feedback.validate_answer(body["clarity"], body["needed"], body["respondent"])
    row = feedback.record(link, clarity, needed, respondent)
    return {"received": True, "clarity": row.clarity, "respondent": row.respondent,
            "received_at": row.created_at.isoformat()}


@blp.route("/requests/<ref>/feedback")
@blp.response(200, RequestFeedbackSchema, description="The request's feedback, oldest first.",
              example={"key": "LEX-1001", "count": 1, "average_clarity": 4.0, "items": [
                  {"id": 1, "respondent": "partner", "clarity": 4, "needed": "The end date first.",
                   "decision_number": 1, "received_at": "2026-12-03T15:40:00+00:00"}]})
@requires(*READERS)
def request_feedback(ref: str) -> dict[str, Any]:
    req = find_request(ref)
    rows = feedback.for_request(req)
    summary = feedback.summarize(rows)
    return {"key": req.key or req.id, "count": summary["count"], "average_clarity": summary["average_clarity"],
            "items": [feedback.feedback_view(r) for r in rows]}


@blp.route("/reports/feedback")
@blp.arguments(FeedbackPeriodArgs, location="query")
@blp.response(200, description="Count, average clarity (overall, by respondent, by category) and what people "
                               "needed (newest 50), for the period given (all time by default).")
@requires(*READERS)
def feedback_report(args: dict[str, Any]) -> dict[str, Any]:
    return feedback.feedback_summary(args.get("since"), args.get("until"))

