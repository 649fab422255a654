"""Feedback on decisions: the signed link a customer summary carries, what it stores, and the figures reports use.

The link needs no sign-in: it is an ``itsdangerous`` token signed with the app's secret key (salted for this use
only) naming the request and which decision message it came with, and it expires after ``CONNECTOR_FEEDBACK_DAYS``.
Whoever holds the link may answer for that request, so the token itself is what authorises the form (no session,
no CSRF cookie). A forged or expired token is refused with a message a person understands.

The audit event says that feedback arrived, with its rating and who answered (customer or partner), never the
text: what people write may name people or contracts.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from connector import audit
from connector.config import settings
from connector.db import db
from connector.governance.errors import InvalidInput, NotPermitted, StateConflict
from connector.models import ExceptionRequest, Feedback, utcnow

SALT = "connector.feedback.v1"
RESPONDENTS = ("customer", "partner")
RESPONDENT_WORDS = {"customer": "the customer", "partner": "a channel partner"}
MAX_NEEDED = 2000
#: the most answers one request's link takes (a link may be forwarded; it must not fill the table)
MAX_PER_REQUEST = 20
ACTOR = "feedback-link"


class LinkRefused(NotPermitted):
    """A feedback link that is not one we signed, or no longer valid (``code`` says which)."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=SALT)


def make_token(req: ExceptionRequest, decision_number: int) -> str:
    return _serializer().dumps({"r": req.id, "n": decision_number})


def feedback_url(req: ExceptionRequest, decision_number: int) -> str:
    return f"{settings().public_url}/feedback/{make_token(req, decision_number)}"


def with_feedback_link(summary: str, req: ExceptionRequest, decision_number: int) -> str:
    """The customer summary with its feedback link appended (unchanged when ``CONNECTOR_FEEDBACK_DAYS`` is 0)."""
    days = settings().feedback_days
    if days <= 0:
        return summary
    return (summary.rstrip("\n") + "\n\nHow clear was this decision? Rate it and tell us what you needed, "
            f"no sign-in needed (the link works for {days} days): {feedback_url(req, decision_number)}\n")


@dataclass(frozen=True)
class Link:
    request: ExceptionRequest
    decision_number: int


def read_token(token: str) -> Link:
    """The request a token names; ``LinkRefused`` (403) when it is forged, altered, expired or names nothing."""
    days = settings().feedback_days
    try:
        data = _serializer().loads(token, max_age=int(timedelta(days=max(days, 0)).total_seconds()))
    except SignatureExpired as exc:
        raise LinkRefused("feedback_link_expired", f"This feedback link has expired (links work for {days} days "
                          "after the decision). Nothing was recorded; ask your account team for a new one.") from exc
    except BadSignature as exc:
        raise LinkRefused("feedback_link_invalid", "This feedback link is not valid: it may have been cut short "
                          "or changed. Nothing was recorded; open the link exactly as it was sent to you.") from exc
    ref = data.get("r") if isinstance(data, dict) else None
    number = data.get("n") if isinstance(data, dict) else None
    req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.id == ref)) if isinstance(ref, str) \
        else None
    if req is None or not isinstance(number, int):
        raise LinkRefused("feedback_link_invalid", "This feedback link names no decision we know. Nothing was "
                          "recorded.")
    return Link(req, number)


def validate_answer(clarity: Any, needed: Any, respondent: Any) -> tuple[int, str, str]:
    """The answer's values, or ``InvalidInput`` naming each bad field (the page and the API say the same)."""
    problems: dict[str, list[str]] = {}
    if isinstance(clarity, str) and clarity.strip().isdigit():
        clarity = int(clarity.strip())
    if isinstance(clarity, bool) or not isinstance(clarity, int) or not 1 <= clarity <= 5:
        problems["clarity"] = ["Choose how clear the decision was, from 1 (not clear) to 5 (very clear)."]
    text = needed if isinstance(needed, str) else ("" if needed is None else None)
    if text is None:
        problems["needed"] = ["Must be text."]
    elif len(text.strip()) > MAX_NEEDED:
        problems["needed"] = [f"At most {MAX_NEEDED} characters (this is {len(text.strip())})."]
    if respondent not in RESPONDENTS:
        problems["respondent"] = [f"Must be one of: {', '.join(RESPONDENTS)}."]
    if problems:
        raise InvalidInput("invalid_input", "The feedback was not recorded: see the marked fields.",
                           {"fields": problems})
    assert isinstance(clarity, int) and text is not None
    return clarity, text.strip(), str(respondent)


def record(link: Link, clarity: int, needed: str, respondent: str) -> Feedback:
    """Store one answer and audit it (rating and respondent only) in the caller's transaction."""
    req = link.request
    count = db.session.scalar(select(func.count()).select_from(Feedback).where(Feedback.request_pk == req.pk))
    if (count or 0) >= MAX_PER_REQUEST:
        raise StateConflict("feedback_limit", f"This decision has received {MAX_PER_REQUEST} answers already, the "
                            "most one link takes; nothing was recorded. Thank you all the same.")
    row = Feedback(request=req, decision_number=link.decision_number, respondent=respondent, clarity=clarity,
                   needed=needed, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.append(ACTOR, "feedback.received", f"request:{req.id}",
                 {"key": req.key, "feedback_id": row.id, "decision_number": link.decision_number,
                  "respondent": respondent, "clarity": clarity, "needed_given": bool(needed)})
    return row


def feedback_view(row: Feedback) -> dict[str, Any]:
    return {"id": row.id, "respondent": row.respondent, "clarity": row.clarity, "needed": row.needed,
            "decision_number": row.decision_number, "received_at": row.created_at.isoformat()}


def for_request(req: ExceptionRequest) -> list[Feedback]:
    return list(db.session.scalars(select(Feedback).where(Feedback.request_pk == req.pk).order_by(Feedback.id)))


def _average(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def summarize(rows: list[Feedback], needed_limit: int = 50) -> dict[str, Any]:
    """Count, average clarity (overall, by respondent and by category) and the newest 'what I needed' texts."""
    by_respondent: dict[str, list[int]] = {name: [] for name in RESPONDENTS}
    by_category: dict[str, list[int]] = {}
    for row in rows:
        by_respondent.setdefault(row.respondent, []).append(row.clarity)
        by_category.setdefault(row.request.category or "uncategorized", []).append(row.clarity)
    newest = sorted((r for r in rows if r.needed), key=lambda r: (r.created_at, r.id), reverse=True)
    return {
        "count": len(rows),
        "average_clarity": _average([r.clarity for r in rows]),
        "clarity_counts": {str(k): v for k, v in sorted(Counter(r.clarity for r in rows).items())},
        "by_respondent": {name: {"count": len(v), "average_clarity": _average(v)} for name, v in by_respondent.items()},
        "by_category": {name: {"count": len(v), "average_clarity": _average(v)}
                        for name, v in sorted(by_category.items())},
        "needed": [{"key": r.request.key, "category": r.request.category, "respondent": r.respondent,
                    "clarity": r.clarity, "needed": r.needed, "received_at": r.created_at.isoformat()}
                   for r in newest[:needed_limit]],
    }


def feedback_summary(since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """The feedback received in ``[since, until)`` summarised (for reports and the periodic policy review)."""
    query = select(Feedback)
    if since is not None:
        query = query.where(Feedback.created_at >= since)
    if until is not None:
        query = query.where(Feedback.created_at < until)
    summary = summarize(list(db.session.scalars(query.order_by(Feedback.id))))
    return {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
            **summary}
