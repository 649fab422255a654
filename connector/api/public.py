"""The published transparency summary, without authentication, when ``CONNECTOR_PUBLIC_SUMMARY`` is on."""

from __future__ import annotations

from typing import Any

from flask import abort

from connector import policy_reviews
from connector.api.blueprint import make_blueprint
from connector.config import settings
from connector.feedback import feedback_summary
from connector.models import utcnow
from connector.policy_store import current_policy
from connector.reports import decision_facts
from connector.transparency import public_summary

blp = make_blueprint("public", __name__, "The published summary of how exceptions are governed.", "/public")

_EXAMPLE = {
    "generated_at": "2026-12-03T15:40:00+00:00",
    "approach": {"policy_version": 3, "tracks": {"fast": {"decided_by": "the licensing chair alone",
                                                          "sla_business_days": 2, "qualifies_when": {}},
                                                 "standard": {"decided_by": "the committee roles the risk band "
                                                                            "requires, then the chair",
                                                              "sla_business_days": 10}},
                 "categories": [{"name": "seat_expansion", "standard_outcome": "Up to 20% more seats."}],
                 "committee": {"roles": ["licensing", "legal"], "chair": "licensing",
                               "required_by_band": {"low": ["licensing"]}},
                 "sla": {"fast_business_days": 2, "standard_business_days": 10, "reminder_at_fraction": 0.5},
                 "max_exception_days": 730},
    "aggregates": {"min_count": 5, "requests": 42,
                   "overall": {"decided": 37, "approval_rate": 0.7297, "median_hours_to_decide": 20.5},
                   "by_category": {"seat_expansion": {"decided": 20, "approval_rate": 0.85,
                                                      "median_hours_to_decide": 6.0}},
                   "suppressed_note": "Figures that would count fewer than 5 requests are not published."},
    "feedback": {"answers": 12, "average_clarity": 4.25},
    "policy_review": {"period_start": "2026-06-01T00:00:00+00:00", "period_end": "2026-08-30T00:00:00+00:00",
                      "closed_at": "2026-09-04T10:12:00+00:00", "findings": 3},
}


@blp.route("/summary")
@blp.response(200, description="The approach (tracks, categories, committee roles, SLA targets) and aggregates "
                               "counted over at least `CONNECTOR_PUBLIC_MIN_COUNT` requests; never a customer "
                               "name, a term or a note.", example=_EXAMPLE)
@blp.alt_response(404, description="Not published: `CONNECTOR_PUBLIC_SUMMARY` is off (the default).")
def summary() -> dict[str, Any]:
    """Public (no token) when `CONNECTOR_PUBLIC_SUMMARY=true`; 404 otherwise."""
    config = settings()
    if not config.public_summary:
        abort(404, "The public summary is not published here.")
    return public_summary(current_policy(), decision_facts(), feedback_summary(), config.public_min_count, utcnow(),
                          policy_reviews.latest_closed())
