"""Practice cases over HTTP: the queue of anonymised past requests, one case, a practice decision, the score."""

from __future__ import annotations

from typing import Any

from flask import abort
from marshmallow import RAISE, Schema, fields, validate

from connector import practice
from connector.api.blueprint import make_blueprint
from connector.auth import current_principal, requires
from connector.models import ExceptionRequest

blp = make_blueprint("practice", __name__, "Practice on anonymised past decisions (writes nothing real).",
                     "/practice")
PRACTISERS = ("reviewer",)


class PracticeGrantsSchema(Schema):
    class Meta:
        unknown = RAISE

    seats = fields.Integer(strict=True, validate=validate.Range(min=0, max=10**9))
    regions = fields.List(fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=50))
    environments = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                               validate=validate.Length(max=50))
    features = fields.List(fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=50))
    usage_rights = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                               validate=validate.Length(max=50))



class PracticeAttemptBodySchema(Schema):
    class Meta:
        unknown = RAISE

    vote = fields.String(required=True, validate=validate.OneOf(practice.PRACTICE_VOTES))
    vote_rationale = fields.String(load_default="", validate=validate.Length(max=practice.MAX_TEXT))
    outcome = fields.String(required=True, validate=validate.OneOf(practice.OUTCOMES))
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=practice.MAX_TEXT))
    grants = fields.Nested(PracticeGrantsSchema, load_default=dict, metadata={
        "description": "What you would grant (approvals only)."})
    duration_days = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=validate.Range(min=1, max=3650),
                                   metadata={"description": "How long you would grant it for (approvals only)."})


_SCORE_EXAMPLE = {"attempts": 2, "outcome_matches": 1, "outcome_agreement": 0.5, "boundary_closeness": 0.9,
                  "score": 0.475, "definition": "Mean per attempt of: ..."}
_REVEAL_EXAMPLE = {"outcome": "approved", "rationale": "Pilot fits the renewal.", "grants": {"seats": 110},
                   "duration_days": 90, "conditions": [], "votes": [{"role": "licensing", "vote": "approve",
                                                                    "rationale": None, "round": 1}]}


def _case(case_id: int) -> ExceptionRequest:
    req = practice.find_case(current_principal(), case_id)
    if req is None:
        abort(404, f"No practice case {case_id} for you: it does not exist, is not decided, or you took part in "
                   "the real decision.")
    return req


@blp.route("/cases")
@blp.response(200, description="`{items: [case summary], score}`: the cases waiting for you (newest decision "
                               "first) and your consistency score.",
              example={"items": [{"case": 7, "title": "More seats for Customer 3F9A2C", "category": "seat_expansion",
                                  "track": "fast", "risk_band": "low"}], "score": _SCORE_EXAMPLE})
@requires(*PRACTISERS)
def cases() -> dict[str, Any]:
    me = current_principal()
    done = {a.request_pk for a in practice.attempts_of(me)}
    return {"items": [practice.queue_item(r) for r in practice.pool(me) if r.pk not in done],
            "score": practice.consistency(practice.attempts_of(me))}


@blp.route("/cases/<key:case_id>")
@blp.response(200, description="`{case, attempt, reveal}`: the anonymised case; once you practised it, your "
                               "attempt and how the committee decided (null before).")
@requires(*PRACTISERS)
def case(case_id: int) -> dict[str, Any]:
    me = current_principal()
    req = _case(case_id)
    done = practice.attempt_for(me, req)
    return {"case": practice.case_view(req), "attempt": practice.attempt_view(done) if done else None,
            "reveal": practice.reveal(req) if done else None}


@blp.route("/cases/<key:case_id>/attempts", methods=["POST"])
@blp.arguments(PracticeAttemptBodySchema, example={
    "vote": "approve", "outcome": "approved", "rationale": "A pilot inside the standard seat ratio.",
    "grants": {"seats": 105}, "duration_days": 90})
@blp.response(201, description="`{attempt, reveal, score}`: your practice decision compared with the committee's "
                               "(nothing real is written).",
              example={"attempt": {"id": 1, "case": 7, "outcome": "approved", "outcome_match": True,
                                   "closeness": 0.9, "score": 0.95}, "reveal": _REVEAL_EXAMPLE,
                       "score": _SCORE_EXAMPLE})
@requires(*PRACTISERS)
def attempt(body: dict[str, Any], case_id: int) -> dict[str, Any]:
    me = current_principal()
    req = _case(case_id)
    row = practice.record_attempt(me, req, body)
    return {"attempt": practice.attempt_view(row), "reveal": practice.reveal(req),
            "score": practice.consistency(practice.attempts_of(me))}


@blp.route("/score")
@blp.response(200, description="Your consistency score over your practice.", example=_SCORE_EXAMPLE)
@requires(*PRACTISERS)
def score() -> dict[str, Any]:
    return practice.consistency(practice.attempts_of(current_principal()))
