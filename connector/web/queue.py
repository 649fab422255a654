"""The reviewer's queue: requests in review that wait for a vote of a committee role the reviewer holds.

A request is routed to a role when the policy requires that role for the request's track and band, and it
waits for the role while the role has no vote in the current review round. The rules of who is required and
what a vote means are the governance core's (``Policy.required_roles``, ``review.latest_by_role``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from connector.db import db
from connector.governance import review
from connector.governance.policy import Policy
from connector.models import ExceptionRequest
from connector.representation import current_votes, is_overdue

QUEUE_LIMIT = 500


@dataclass(frozen=True)
class QueueItem:
    request: ExceptionRequest
    required_roles: list[str]
    awaiting_roles: list[str]  # the reviewer's roles this request waits for
    overdue: bool


def _in_review() -> Sequence[ExceptionRequest]:
    query = (select(ExceptionRequest).where(ExceptionRequest.state == "in_review")
             .options(selectinload(ExceptionRequest.votes))
             .order_by(ExceptionRequest.due_at.asc().nulls_last(), ExceptionRequest.pk).limit(QUEUE_LIMIT))
    return db.session.scalars(query).all()


def reviewer_queue(held_roles: Sequence[str], policy: Policy, now: datetime) -> list[QueueItem]:
    """Most urgent first (earliest due)."""
    held = set(held_roles)
    out: list[QueueItem] = []
    for req in _in_review():
        required = policy.required_roles(req.track, req.risk_band)
        voted = review.latest_by_role(current_votes(req))
        awaiting = [role for role in required if role in held and role not in voted]
        if awaiting:
            out.append(QueueItem(req, required, awaiting, is_overdue(req, now)))
    return out


def ready_for_decision(held_roles: Sequence[str], policy: Policy, now: datetime) -> list[QueueItem]:
    """For the chair: standard-track requests whose every required role's latest vote is an approval."""
    if policy.chair not in held_roles:
        return []
    out: list[QueueItem] = []
    for req in _in_review():
        required = policy.required_roles(req.track, req.risk_band)
        if req.track != "fast" and not review.missing_approvals(required, current_votes(req)):
            out.append(QueueItem(req, required, [], is_overdue(req, now)))
    return out
