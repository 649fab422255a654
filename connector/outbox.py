"""The transactional outbox (SPEC §5): the one place deliveries are created.

A change and its deliveries commit together; the worker (``connector.delivery``) sends them later, in order
per (request, target). An unsent older delivery for the same (request, target) is superseded by a newer one,
except one in flight (its sender records its outcome; the worker supersedes it then) and, on a source that
keeps announcements (Zendesk), an announcement. Billing deliveries carry the entitlement version they announce.
Write-backs to a source carry the change; the worker attaches the request as it stands when it is sent, so the
source always gets the latest state. An announcement (a decision or an ending: the ticket is told once, in a
reply and a note) also pins what it announces, so each one is posted once, in order, with its own text, even
when later changes follow unsent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true, update

from connector import wake
from connector.config import settings
from connector.db import db, insert_many
from connector.governance.states import RequestState
from connector.models import (
    Connection,
    Delivery,
    DeliveryStatus,
    EntitlementBoundary,
    ExceptionRequest,
    new_public_ids,
    utcnow,
)
from connector.representation import current_entitlement, decision_view, entitlement_view, iso
from connector.sources import get_kind

#: Changes that produce a new entitlement version, and so a message to billing.
VERSION_CHANGES = ("decided", "amended", "renewed", "revoked", "expired")
#: Changes a source may be told about once, in words (a decision's reply and note, an ending's notice): on a
#: source that ``keeps_announcements`` their write-backs are never superseded, since a later state cannot carry
#: what they said.
ANNOUNCEMENTS = VERSION_CHANGES
SUPERSEDED = "superseded by a newer change"
#: the ``change`` of a committee notification (``connector.notifications``): each is a message of its own, never
#: superseded by a newer delivery to the same target, and never superseding one
NOTIFY_PREFIX = "notify."


def keeps_announcements(target: str) -> bool:
    """Whether ``target`` is a source connection whose kind is told decisions in words (Zendesk), not only set
    to the current state (Salesforce, billing, e-mail)."""
    if not target.startswith("connection:"):
        return False
    kind = db.session.scalar(select(Connection.kind).where(Connection.name == target.split(":", 1)[1]))
    return kind is not None and get_kind(kind).keeps_announcements


def replaceable(target: str) -> ColumnElement[bool]:
    """Which unsent deliveries to ``target`` a newer one for the same request may supersede (all but the
    announcements of a source that keeps them, and notifications); whether one is in flight is for the caller to
    add."""
    if target == "email":
        return ~Delivery.change.startswith(NOTIFY_PREFIX)
    return Delivery.change.not_in(ANNOUNCEMENTS) if keeps_announcements(target) else true()


def supersedable(target: str, change: str) -> bool:
    """``replaceable`` for one row already read."""
    if change.startswith(NOTIFY_PREFIX):
        return False
    return change not in ANNOUNCEMENTS or not keeps_announcements(target)


def not_in_flight(now: datetime) -> ColumnElement[bool]:
    """No live lease: a leased row is being sent, and superseding it under its sender would lose its outcome and
    let a newer delivery for the same (request, target) be claimed while it is still on the wire."""
    return or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)


def billing_payload(req: ExceptionRequest, ent: EntitlementBoundary) -> dict[str, Any]:
    """What billing receives (SPEC §5), identical in the webhook and the pull feed."""
    return {
        "exception_id": req.id,
        "key": req.key,
        "version": ent.version,
        "status": "active" if ent.status in ("active", "superseded") else ent.status,
        "change": ent.change,
        "customer": (req.fields or {}).get("customer") or {},
        "grants": ent.grants,
        "effective_from": iso(ent.effective_from),
        "expires_at": iso(ent.expires_at),
        "conditions": list(ent.conditions or []),
        "supersedes": ent.supersedes,
    }


def _supersede(of_requests: ColumnElement[bool], target: str, now: datetime) -> None:
    """Supersede the unsent older deliveries of ``of_requests`` to ``target`` that a newer one replaces."""
    db.session.execute(
        update(Delivery)
        .where(and_(of_requests, Delivery.target == target, Delivery.status == DeliveryStatus.PENDING,
                    replaceable(target), not_in_flight(now)))
        .values(status=DeliveryStatus.SUPERSEDED, last_error=SUPERSEDED)
        .execution_options(synchronize_session=False)
    )


def _enqueue(req: ExceptionRequest, target: str, change: str, payload: dict[str, Any],
             version: int | None) -> Delivery:
    db.session.flush()
    now = utcnow()
    _supersede(Delivery.request_pk == req.pk, target, now)
    row = Delivery(request_pk=req.pk, target=target, change=change, version=version,
                   message_id="msg_" + uuid.uuid4().hex, payload=payload, status=DeliveryStatus.PENDING,
                   attempts=0, next_attempt_at=now, created_at=now, deadline=now + settings().delivery_max_age)
    db.session.add(row)
    wake.announce(f"{wake.DELIVERIES}:{target}")  # the workers send it as soon as this change commits
    return row


def enqueue_for_change(req: ExceptionRequest, change: str, actor: str) -> list[Delivery]:
    rows: list[Delivery] = []
    ent = current_entitlement(req)
    if req.connection is not None:
        payload: dict[str, Any] = {"change": change}
        if change in ANNOUNCEMENTS and get_kind(req.connection.kind).keeps_announcements:
            payload["announces"] = {"decision": decision_view(req.decisions[-1] if req.decisions else None),
                                    "entitlement": entitlement_view(ent)}
        rows.append(_enqueue(req, f"connection:{req.connection.name}", change, payload, None))
    billing_on = bool(settings().billing_webhook_url)
    if billing_on and change in VERSION_CHANGES and ent is not None and (
        change != "decided" or req.state == RequestState.APPROVED or ent.status == "revoked"
    ):
        db.session.flush()
        rows.append(_enqueue(req, "billing", change, billing_payload(req, ent), ent.version))
    return rows


def enqueue_many(request_pks: list[int], target: str, change: str, *, new_requests: bool = False) -> None:
    """The same as one ``_enqueue`` per request, in a few statements (used by bulk intake).

    ``new_requests``: the requests were created in this transaction, so nothing older can be superseded.
    """
    if not request_pks:
        return
    now = utcnow()
    deadline = now + settings().delivery_max_age
    for start in range(0, 0 if new_requests else len(request_pks), 500):
        _supersede(Delivery.request_pk.in_(request_pks[start:start + 500]), target, now)
    insert_many(Delivery.__table__, [
        {"request_pk": pk, "target": target, "change": change, "version": None, "message_id": "msg_" + message_id,
         "payload": {"change": change}, "status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
         "created_at": now, "deadline": deadline}
        for pk, message_id in zip(request_pks, new_public_ids(len(request_pks)), strict=True)
    ])
    wake.announce(f"{wake.DELIVERIES}:{target}")


def enqueue_email(req: ExceptionRequest, to: str, subject: str, body: str, change: str) -> Delivery | None:
    """A notification e-mail through the outbox (durable, retried), when ``CONNECTOR_SMTP_URL`` is configured."""
    if not settings().smtp_url or "@" not in to:
        return None
    return _enqueue(req, "email", change, {"to": to, "subject": subject, "body": body}, None)


def enqueue_notification(request_pk: int, target: str, change: str, payload: dict[str, Any]) -> Delivery:
    """A committee notification (``connector.notifications``) about the request ``request_pk``: e-mail, or a Slack
    or Teams webhook (``slack:<preference id>``); never superseded, so every message is sent, in order."""
    now = utcnow()
    row = Delivery(request_pk=request_pk, target=target, change=change, version=None,
                   message_id="msg_" + uuid.uuid4().hex, payload=payload, status=DeliveryStatus.PENDING,
                   attempts=0, next_attempt_at=now, created_at=now, deadline=now + settings().delivery_max_age)
    db.session.add(row)
    wake.announce(f"{wake.DELIVERIES}:{target}")
    return row
