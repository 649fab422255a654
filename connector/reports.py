"""The facts governance metrics and the transparency report are computed from, read from the stored requests
(the API's reports and the UI's metrics page show the same figures)."""

from __future__ import annotations

from sqlalchemy import select

from connector.db import db
from connector.governance.metrics import DecisionFacts, OutcomeFact
from connector.models import Decision, ExceptionRequest, utcnow


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


def outcome_facts() -> list[OutcomeFact]:
    """Every recorded decision (approvals, denials, amendments, renewals) with its verdict against the category's
    predefined outcome."""
    rows = db.session.execute(select(ExceptionRequest.category, Decision.bespoke)
                              .join(Decision, Decision.request_pk == ExceptionRequest.pk)).all()
    return [OutcomeFact(category=r[0] or "uncategorized", bespoke=r[1]) for r in rows]
