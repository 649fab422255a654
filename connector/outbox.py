"""The transactional outbox (SPEC §5): the one place deliveries are created.

A change and its deliveries commit together; the worker (``connector.delivery``) sends them later, in order
per (request, target). An unsent older delivery for the same (request, target) is superseded by a newer one.
Billing deliveries carry the entitlement version they announce. Write-backs to a source carry the change;
the worker attaches the request as it stands when it is sent, so the source always gets the latest state.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import update

from connector.db import db, insert_many
from connector.models import Delivery, EntitlementBoundary, ExceptionRequest, new_public_ids, utcnow
from connector.representation import current_entitlement, iso

#: Changes that produce a new entitlement version, and so a message to billing.
VERSION_CHANGES = ("decided", "amended", "renewed", "revoked", "expired")


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


def _enqueue(req: ExceptionRequest, target: str, change: str, payload: dict[str, Any],
             version: int | None) -> Delivery:
    db.session.flush()
    db.session.execute(
        update(Delivery)
        .where(Delivery.request_pk == req.pk, Delivery.target == target, Delivery.status == "pending")
        .values(status="superseded", last_error="superseded by a newer change")
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    max_age = timedelta(hours=float(current_app.config["CONNECTOR_DELIVERY_MAX_AGE_HOURS"]))
    row = Delivery(request_pk=req.pk, target=target, change=change, version=version,
                   message_id="msg_" + uuid.uuid4().hex, payload=payload, status="pending", attempts=0,
                   next_attempt_at=now, created_at=now, deadline=now + max_age)
    db.session.add(row)
    return row


def enqueue_for_change(req: ExceptionRequest, change: str, actor: str) -> list[Delivery]:
    rows: list[Delivery] = []
    if req.connection is not None:
        rows.append(_enqueue(req, f"connection:{req.connection.name}", change, {"change": change}, None))
    ent = current_entitlement(req)
    billing_on = bool(current_app.config.get("CONNECTOR_BILLING_WEBHOOK_URL"))
    if billing_on and change in VERSION_CHANGES and ent is not None and (
        change != "decided" or req.state == "approved" or ent.status == "revoked"
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
    deadline = now + timedelta(hours=float(current_app.config["CONNECTOR_DELIVERY_MAX_AGE_HOURS"]))
    for start in range(0, 0 if new_requests else len(request_pks), 500):
        db.session.execute(
            update(Delivery)
            .where(Delivery.request_pk.in_(request_pks[start:start + 500]), Delivery.target == target,
                   Delivery.status == "pending")
            .values(status="superseded", last_error="superseded by a newer change")
            .execution_options(synchronize_session=False)
        )
    insert_many(Delivery.__table__, [
        {"request_pk": pk, "target": target, "change": change, "version": None, "message_id": "msg_" + message_id,
         "payload": {"change": change}, "status": "pending", "attempts": 0, "next_attempt_at": now,
         "created_at": now, "deadline": deadline}
        for pk, message_id in zip(request_pks, new_public_ids(len(request_pks)), strict=True)
    ])


def enqueue_email(req: ExceptionRequest, to: str, subject: str, body: str, change: str) -> Delivery | None:
    """A notification e-mail through the outbox (durable, retried), when ``CONNECTOR_SMTP_URL`` is configured."""
    if not current_app.config.get("CONNECTOR_SMTP_URL") or "@" not in to:
        return None
    return _enqueue(req, "email", change, {"to": to, "subject": subject, "body": body}, None)
