"""Reading Zendesk: the incremental ticket export, single tickets, signed webhooks (pushes) and the tickets
they name; a ticket tagged ``license_exception_dispute`` asks to dispute its decision."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.zendesk import (
    NotFound,
    WebhookPayloadError,
    WebhookSignatureError,
    ZendeskClient,
    ZendeskError,
    ZendeskSettings,
    parse_webhook_event,
    verify_signature,
)
from adapters.zendesk.webhook import (
    DEFAULT_TOLERANCE,
    INVOCATION_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_ID_HEADER,
    parse_timestamp,
    replay_digest,
)
from connector.sources import (
    Ack,
    ConnectionContext,
    InboundPush,
    PushEvent,
    PushReceipt,
    SourceError,
    SourcePage,
    SourceRecord,
    WebhookRefused,
)
from connector.sources.zendesk.dialect import ZENDESK_TICKET_ATTRIBUTES
from connector.sources.zendesk.settings import (
    TICKET_ID,
    adapter_settings,
    as_source_error,
    backfill_start,
    flagged,
    make_client,
    selections,
)

log = logging.getLogger(__name__)

DISPUTE_TAG = "license_exception_dispute"
#: a signature is remembered this much longer than it can be accepted (clocks of several web servers differ)
REPLAY_MARGIN = timedelta(minutes=1)


def disputed(ticket: Mapping[str, Any]) -> str | None:
    """The dispute an agent asked for by tagging the ticket ``license_exception_dispute``, if any."""
    if DISPUTE_TAG in (ticket.get("tags") or ()):
        return f"Disputed on Zendesk ticket #{ticket.get('id')} (tag {DISPUTE_TAG})."
    return None


# --- the incremental export ---------------------------------------------------------------------------------------

def pages(ctx: ConnectionContext, watermark: Mapping[str, Any] | None) -> Iterator[SourcePage]:
    """The incremental export from the stored cursor (or the backfill start), one page per commit."""
    settings = adapter_settings(ctx)
    chosen = selections(ctx, settings)
    client = make_client(ctx)
    cursor = (watermark or {}).get("after_cursor")
    try:
        yield from _pages(client, settings, chosen, cursor, None if cursor else backfill_start(ctx))
    except ZendeskError as exc:
        raise as_source_error(exc) from exc


def ticket_total(client: ZendeskClient, start_time: int) -> int | None:
    """Zendesk's estimate of the tickets a backfill from ``start_time`` goes through, or None when it gives none.

    Best effort: a refusal, a timeout or a rate limit only costs the progress bar its end, never the sync."""
    try:
        return client.count_tickets(start_time)
    except ZendeskError as exc:
        log.info("Zendesk gave no ticket count (%s, HTTP %s): this sync runs without a total", exc.code,
                 exc.status if exc.status is not None else "-")
        return None


def _pages(client: ZendeskClient, settings: ZendeskSettings, chosen: Sequence[ZendeskSettings],
           cursor: str | None, start_time: int | None) -> Iterator[SourcePage]:
    """Export pages as source records. A backfill (a start time, no cursor) carries Zendesk's ticket count as
    ``detail["total"]``; what the sync examines (fetched + ``skipped_not_flagged``) counts against it."""
    skipped = deleted = 0
    calls = client.http_calls
    total = ticket_total(client, start_time) if cursor is None and start_time is not None else None
    for page in client.export_tickets(start_time=start_time, cursor=cursor):
        latest: dict[int, dict[str, Any]] = {int(t["id"]): t for t in page.tickets}
        gone = [t for t in latest.values() if t.get("status") == "deleted"]
        wanted = [t for t in latest.values() if t.get("status") != "deleted" and flagged(t, chosen)]
        skipped += len(latest) - len(gone) - len(wanted)
        deleted += len(gone)
        people = client.attach_people(wanted, page.users, page.organizations) if wanted else []
        records = [SourceRecord(str(t["id"]), t, settings.ticket_url(t["id"]), dispute=disputed(t)) for t in people]
        records += [SourceRecord(str(t["id"]), t, settings.ticket_url(t["id"]), deleted=True) for t in gone]
        cursor = page.after_cursor or cursor
        detail: dict[str, Any] = {"skipped_not_flagged": skipped, "deleted_in_source": deleted}
        if total is not None:
            detail["total"] = total
        yield SourcePage(records, {"after_cursor": cursor}, http_calls=client.http_calls - calls, detail=detail)
        calls = client.http_calls


# --- single tickets -----------------------------------------------------------------------------------------------

def fetch_record(ctx: ConnectionContext, external_id: str) -> SourceRecord:
    if not TICKET_ID.fullmatch(str(external_id).strip()):
        raise SourceError("error", f"A Zendesk ticket id is a number, not {external_id!r}.")
    settings = adapter_settings(ctx)
    try:
        ticket = make_client(ctx).get_ticket(int(external_id))
    except ZendeskError as exc:
        raise as_source_error(exc) from exc
    return SourceRecord(str(ticket["id"]), ticket, settings.ticket_url(ticket["id"]))


def source_fields(ctx: ConnectionContext) -> set[str] | None:
    """Ticket attributes plus every ticket field id (as text), for live mapping validation."""
    try:
        ticket_fields = make_client(ctx).ticket_fields()
    except ZendeskError as exc:
        raise as_source_error(exc) from exc
    known = set(ZENDESK_TICKET_ATTRIBUTES)
    for item in ticket_fields:
        if item.get("id") is not None:
            known.add(str(item["id"]))
            known.add(f"custom_fields.{item['id']}")
    return known


# --- pushes: signed webhooks --------------------------------------------------------------------------------------

def receive_webhook(ctx: ConnectionContext, push: InboundPush) -> PushReceipt:
    """Verify the signature (constant time, ±5 min), read the ticket id, key the event for de-duplication.

    Two keys: the invocation id (the same on Zendesk's retries of one invocation, which are signed anew), and the
    signature itself (``replay_key``): the invocation id is not signed, so a captured request replayed with a
    fresh one still carries the same signature, and is a duplicate until the signature expires."""
    secret = ctx.settings.get("webhook_secret")
    if not secret:
        raise WebhookRefused(401, "webhook_not_configured", "This connection has no webhook signing secret "
                             "yet: provision it, or set webhook_secret.")
    signature, timestamp = push.header(SIGNATURE_HEADER), push.header(TIMESTAMP_HEADER)
    try:
        verify_signature(secret, timestamp, push.body, signature)
        ticket_id = parse_webhook_event(push.body)
    except WebhookSignatureError as exc:
        raise WebhookRefused(401, exc.code, f"Webhook refused: {exc.message}.") from exc
    except WebhookPayloadError as exc:
        raise WebhookRefused(400, exc.code, f"Webhook refused: {exc.message}.") from exc
    invocation = push.header(INVOCATION_ID_HEADER)
    if invocation:
        key = f"invocation:{invocation}"
    else:
        key = "signed:" + hashlib.sha256(f"{signature}\n{timestamp}\n".encode() + push.body).hexdigest()
    event = PushEvent(key, ticket_id, {"ticket_id": ticket_id, "webhook_id": push.header(WEBHOOK_ID_HEADER),
                                       "invocation_id": invocation, "signed_at": timestamp})
    assert signature is not None and timestamp is not None  # verified above
    expires = datetime.fromtimestamp(parse_timestamp(timestamp) + DEFAULT_TOLERANCE, tz=UTC) + REPLAY_MARGIN
    return PushReceipt([event], Ack(200, {"status": "stored", "ticket_id": ticket_id}),
                       duplicate=Ack(200, {"status": "duplicate", "ticket_id": ticket_id}),
                       replay_key=replay_digest(timestamp, signature), replay_until=expires)


def _ticket_id(event: PushEvent) -> str | None:
    ticket_id = str(event.external_id or event.payload.get("ticket_id") or "")
    return ticket_id if TICKET_ID.fullmatch(ticket_id) else None  # e.g. "²", which isdigit() lets through


def records_for_event(ctx: ConnectionContext, event: PushEvent) -> list[SourceRecord]:
    """The ticket a push names, with requester and organization; nothing when it is not flagged."""
    return records_for_events(ctx, [event])


def records_for_events(ctx: ConnectionContext, events: Sequence[PushEvent]) -> list[SourceRecord]:
    """The tickets pushes name: one ticket with ``show``, several with ``show_many`` (100 a call), requester and
    organization sideloaded; a ticket gone (404, or absent from ``show_many``) is a deletion; unflagged ones are
    left out."""
    ids = list(dict.fromkeys(tid for tid in map(_ticket_id, events) if tid is not None))
    if not ids:
        return []
    settings = adapter_settings(ctx)
    client = make_client(ctx)
    try:
        found = [client.get_ticket(int(ids[0]))] if len(ids) == 1 else \
            client.show_many_tickets(int(i) for i in ids)
    except NotFound:  # show: the one ticket asked for is gone
        found = []
    except ZendeskError as exc:
        raise as_source_error(exc) from exc
    by_id = {str(ticket.get("id")): ticket for ticket in found}
    chosen = selections(ctx, settings)
    records: list[SourceRecord] = []
    for ticket_id in ids:
        ticket = by_id.get(ticket_id)
        if ticket is None or ticket.get("status") == "deleted":
            records.append(SourceRecord(ticket_id, ticket or {"id": int(ticket_id), "status": "deleted"},
                                        settings.ticket_url(ticket_id) if ticket else None, deleted=True))
        elif flagged(ticket, chosen):
            records.append(SourceRecord(ticket_id, ticket, settings.ticket_url(ticket_id), dispute=disputed(ticket)))
    return records
