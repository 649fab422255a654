"""One sender per target kind: a batch of claimed deliveries to one target in, one ``Outcome`` per delivery out.

``connector.delivery`` claims and records; it finds the sender of a target's kind in ``SENDERS``, which this module
fills at import. A sender runs with no transaction open when it calls out (``db.released``), so a slow receiver
never holds SQLite's write lock or PostgreSQL's row locks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from adapters import mail
from adapters.billing import BillingWebhook, SendResult
from connector import connections, lane_budget
from connector.config import settings
from connector.db import db, released, unit_of_work
from connector.models import Delivery, ExceptionRequest
from connector.notification_senders import send_webhook
from connector.policy_store import current_policy
from connector.representation import request_view
from connector.sources import Outcome, SourceError, WriteBackItem, get_kind

#: target kind ("billing", "email", "slack", "teams", or "connection" for ``connection:<name>``) → sender of a
#: batch to one target.
Sender = Callable[[str, Sequence[Delivery]], list[Outcome]]
SENDERS: dict[str, Sender] = {}


def register_sender(kind: str, sender: Sender) -> None:
    SENDERS[kind] = sender


# --- billing ---------------------------------------------------------------------------------------------------

def send_billing(target: str, rows: Sequence[Delivery]) -> list[Outcome]:
    """Standard Webhooks to the billing endpoint, in order; once it is gone, the rest of the batch waits. Each row
    is one call: when the lane's time budget is spent (a slow endpoint) or the worker stops, the rest of the batch
    is released unsent, in order, for the next claim."""
    config = settings()
    url, secret = config.billing_webhook_url, config.billing_webhook_secret
    if not url or not secret:
        return [Outcome("retry", "billing webhook URL or secret not configured")] * len(rows)
    hook = BillingWebhook(url, secret, timeout=config.http_timeout)
    outcomes: list[Outcome] = []
    for row in rows:
        if outcomes and outcomes[-1].result in ("gone", "held"):
            outcomes.append(Outcome("held", "billing endpoint disabled"))
            continue
        if (outcomes and outcomes[-1].result == lane_budget.UNSENT) or lane_budget.spent():
            outcomes.append(Outcome(lane_budget.UNSENT, "lane time budget spent or worker stopping"))
            continue
        outcomes.append(_billing_outcome(hook.send(row.message_id, row.payload)))
    return outcomes


def _billing_outcome(res: SendResult) -> Outcome:
    if res.ok:
        return Outcome("delivered", status_code=res.status_code)
    if res.gone:
        return Outcome("gone", res.detail, res.status_code)
    if res.retriable:
        return Outcome("retry", res.detail, res.status_code, res.retry_after)
    return Outcome("dead", res.detail, res.status_code)


# --- e-mail ----------------------------------------------------------------------------------------------------

def send_email(target: str, rows: Sequence[Delivery]) -> list[Outcome]:
    """Notification e-mails over SMTP (``CONNECTOR_SMTP_URL``, see ``adapters.mail``), one session per batch."""
    config = settings()
    try:
        server = mail.SmtpServer.from_url(config.smtp_url or "")
    except ValueError:
        return [Outcome("held", "CONNECTOR_SMTP_URL is not a smtp:// or smtps:// URL", retry_after=600)] * len(rows)
    sender = config.mail_from
    messages = [_email(row, sender) for row in rows]
    try:
        results = mail.send_all(server, messages, timeout=config.http_timeout)
    except mail.InsecureMailServer as exc:
        return [Outcome("held", str(exc), retry_after=600)] * len(rows)
    except mail.MailServerUnavailable as exc:
        return [Outcome("retry", str(exc))] * len(rows)
    return [Outcome("delivered") if res.ok else Outcome("retry" if res.retriable else "dead", res.detail)
            for res in results]


def _email(row: Delivery, sender: str) -> EmailMessage:
    """The message of an ``email`` delivery; its Message-ID stays the same across retries."""
    message = EmailMessage()
    message["From"], message["To"] = sender, row.payload["to"]
    message["Subject"], message["Message-ID"] = row.payload["subject"], f"<{row.message_id}@connector>"
    message.set_content(row.payload["body"])
    return message


# --- write-back to a source ------------------------------------------------------------------------------------

def send_to_connection(target: str, rows: Sequence[Delivery]) -> list[Outcome]:
    """Write-back through the connection's source kind (which batches: Collections, update_many)."""
    conn = connections.connection_of_target(target)
    if conn is None:
        return [Outcome("dead", f"{target} no longer exists")] * len(rows)
    if conn.status in ("needs_authorization", "paused"):
        return [Outcome("held", f"connection {conn.name} is {conn.status}", retry_after=60)] * len(rows)
    items = _items(rows)
    kind, ctx, conn_id = get_kind(conn.kind), connections.context(conn, with_templates=True), conn.id
    try:
        with released():  # no transaction (SQLite: no write lock) while the source talks HTTP: a token refresh commits
            return kind.deliver(ctx, items)
    except SourceError as exc:
        db.session.rollback()  # whatever the kind left in the session is not part of recording its failure
        with unit_of_work():
            connections.set_status(conn_id, exc.status, exc.message)
        if exc.status in ("needs_authorization", "paused"):
            return [Outcome("held", exc.message, retry_after=exc.retry_after or 60)] * len(rows)
        return [Outcome("retry", exc.message, retry_after=exc.retry_after)] * len(rows)


def _items(rows: Sequence[Delivery]) -> list[WriteBackItem]:
    """What the kind writes back for each row, in order: the change, the request as it stands now, what an
    announcement pinned when it was queued, and which attempt this is."""
    requests = {req.pk: req for req in db.session.scalars(
        select(ExceptionRequest).where(ExceptionRequest.pk.in_({row.request_pk for row in rows}))
        .options(selectinload(ExceptionRequest.votes), selectinload(ExceptionRequest.decisions),
                 selectinload(ExceptionRequest.entitlements), joinedload(ExceptionRequest.connection)))}
    policy = current_policy()  # once per batch: each view says which votes its request waits for
    return [WriteBackItem(change=row.change, view=request_view(requests[row.request_pk], policy=policy),
                          announces=dict((row.payload or {}).get("announces") or {}), attempt=row.attempts,
                          delivery_id=row.id, message_id=row.message_id) for row in rows]


register_sender("billing", send_billing)
register_sender("email", send_email)
register_sender("connection", send_to_connection)
register_sender("slack", send_webhook)  # committee notifications (connector.notifications)
register_sender("teams", send_webhook)
