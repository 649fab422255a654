"""Governance metrics and the transparency report, computed from the stored requests."""

from __future__ import annotations

from typing import Any

from connector import policy_reviews
from connector.api.blueprint import make_blueprint
from connector.api.schemas import PeriodArgs
from connector.auth import requires
from connector.governance.metrics import governance_metrics, transparency_summary
from connector.models import utcnow
from connector.reports import decision_facts, outcome_facts

blp = make_blueprint("reports", __name__, "Governance metrics and transparency report.")


@blp.route("/metrics/governance")
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, description="Time to decide, SLA compliance, dispute and approval rates, backlog, and "
              "`predefined_outcomes`: decisions that kept to their category's predefined outcome (standard) or "
              "departed from it (bespoke), overall and per category.")
@requires("admin", "reviewer", "auditor")
def metrics(args: dict[str, Any]) -> dict[str, Any]:
    return governance_metrics(decision_facts(), utcnow(), args["period"], outcome_facts())


@blp.route("/reports/summary")
@blp.response(200, description="Aggregated figures without customer names, for publishing; `policy_review` "
                                "links the latest closed periodic policy review (or null).")
@requires("admin", "reviewer", "auditor")
def summary() -> dict[str, Any]:
    return {**transparency_summary(decision_facts(), utcnow()), "policy_review": policy_reviews.latest_closed()}
