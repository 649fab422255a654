"""Governance metrics and the transparency report, computed from the stored requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connector.api import make_blueprint
from connector.api.schemas import PeriodArgs
from connector.auth import requires
from connector.db import db
from connector.governance.metrics import DecisionFacts, governance_metrics, transparency_summary
from connector.models import ExceptionRequest, utcnow

blp = make_blueprint("reports", __name__, "Governance metrics and transparency report.")


def decision_facts() -> list[DecisionFacts]:
    now = utcnow()
    cols = (ExceptionRequest.id, ExceptionRequest.category, ExceptionRequest.track, ExceptionRequest.state,
            ExceptionRequest.source, ExceptionRequest.created_at, ExceptionRequest.completed_at,
            ExceptionRequest.first_decided_at, ExceptionRequest.outcome, ExceptionRequest.due_at,
            ExceptionRequest.disputes)
    return [
        DecisionFacts(id=r[0], category=r[1] or "uncategorized", track=r[2], state=r[3], source=r[4],
                      created_at=r[5], completed_at=r[6], decided_at=r[7], outcome=r[8], due_at=r[9],
                      disputes=r[10] or 0,
                      overdue=bool(r[3] == "in_review" and r[9] is not None and now > r[9]))
        for r in db.session.execute(select(*cols)).all()
    ]


@blp.route("/metrics/governance")
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, description="Time to decide, SLA compliance, dispute and approval rates, backlog.")
@requires("admin", "reviewer", "auditor")
def metrics(args: dict[str, Any]) -> dict[str, Any]:
    return governance_metrics(decision_facts(), utcnow(), args["period"])


@blp.route("/reports/summary")
@blp.response(200, description="Aggregated figures without customer names, for publishing.")
@requires("admin", "reviewer", "auditor")
def summary() -> dict[str, Any]:
    return transparency_summary(decision_facts(), utcnow())
