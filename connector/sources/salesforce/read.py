"""Reading Salesforce: ``queryAll`` pages on ``SystemModstamp`` with a look-back, single records, Outbound
Messages (pushes) and the records they name."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from adapters.salesforce import (
    OutboundMessageError,
    SalesforceClient,
    SalesforceError,
    ack_response,
    build_incremental_query,
    build_records_query,
    parse_outbound_message,
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
from connector.sources.salesforce.settings import (
    DEFAULT_OBJECT,
    RECORD_ID,
    adapter_settings,
    as_source_error,
    make_client,
    read_fields,
    sobject_of,
)

log = logging.getLogger(__name__)

#: How far before the stored watermark each sync starts reading again: a transaction that commits late can
#: carry a ``SystemModstamp`` earlier than records already read.
LOOKBACK = timedelta(minutes=5)
#: Record ids per ``Id IN (…)`` query: 200 quoted ids keep the query (sent in the URL of a GET) near 5,000
#: characters, far inside SOQL's 100,000-character statement limit and the URL lengths proxies accept.
IDS_PER_QUERY = 200
#: The answer to an Outbound Message once its notifications are stored.
ACK = Ack(200, ack_response(True), {"Content-Type": "text/xml; charset=utf-8"})


def parse_stamp(value: Any) -> datetime:
    """A REST datetime (``2026-11-20T10:30:00.000+0000``, or ISO 8601 with ``Z``) as an aware datetime."""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"SystemModstamp without an offset: {value!r}")
    return moment


def seen_key(record: Mapping[str, Any]) -> str:
    return f"{record['Id']}@{record['SystemModstamp']}"


@dataclass
class SyncWatermark:
    """``{"system_modstamp", "last_ids"}``: the newest ``SystemModstamp`` stored, and ``Id@SystemModstamp`` of
    the last page's records within the look-back window (re-read by the overlap, skipped when unchanged)."""

    stamp_text: str | None = None
    stamp: datetime | None = None
    last_ids: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, value: Mapping[str, Any] | None) -> SyncWatermark:
        text = (value or {}).get("system_modstamp")
        if not text:
            return cls()
        return cls(str(text), parse_stamp(text), [str(v) for v in (value or {}).get("last_ids") or ()])

    def since(self) -> datetime | None:
        return self.stamp - LOOKBACK if self.stamp is not None else None

    def already_seen(self, record: Mapping[str, Any], stamp: datetime, seen: frozenset[str]) -> bool:
        return self.stamp is not None and stamp <= self.stamp and seen_key(record) in seen

    def advance(self, page: Sequence[tuple[Mapping[str, Any], datetime]]) -> None:
        """Move to the newest record of a page (never backwards) and keep that page's window of ids."""
        if not page:
            return
        newest_record, newest = max(page, key=lambda item: item[1])
        if self.stamp is None or newest > self.stamp:
            self.stamp, self.stamp_text = newest, str(newest_record["SystemModstamp"])
        assert self.stamp is not None
        floor = self.stamp - LOOKBACK
        self.last_ids = sorted({seen_key(record) for record, stamp in page if stamp >= floor})

    def to_dict(self) -> dict[str, Any]:
        return {"system_modstamp": self.stamp_text, "last_ids": list(self.last_ids)}


def link_maker(client: SalesforceClient, sobject: str) -> Callable[[str], str]:
    """``record id → Lightning URL``, reading the token's instance URL once instead of once per record."""
    template = client.record_url(sobject, "{id}")
    return lambda record_id: template.replace("{id}", record_id)


def check_allocation(ctx: ConnectionContext, client: SalesforceClient) -> None:
    """When the last sync saw usage above the share, read ``/limits`` (one call) before querying."""
    last = ctx.settings.get("api_usage_share")
    if isinstance(last, int | float) and last > client.settings.daily_limit_share:
        client.limits()
        client.check_daily_limit()


# --- pages --------------------------------------------------------------------------------------------------------

def pages(ctx: ConnectionContext, watermark: Mapping[str, Any] | None) -> Iterator[SourcePage]:
    """``queryAll`` on ``SystemModstamp`` from the watermark minus the look-back, one page per commit."""
    settings = adapter_settings(ctx)
    sobject = sobject_of(ctx, settings)
    mark = SyncWatermark.load(watermark)
    try:
        soql = build_incremental_query(sobject, read_fields(ctx), mark.since())
    except ValueError as exc:
        raise SourceError("error", f"The mapping cannot be read from Salesforce: {exc}.") from exc
    client = make_client(ctx, settings)
    try:
        check_allocation(ctx, client)
        yield from _pages(client, soql, sobject, mark)
    except SalesforceError as exc:
        raise as_source_error(exc) from exc
    except (KeyError, ValueError) as exc:
        raise SourceError("error", f"Salesforce returned a record without a usable Id or SystemModstamp: "
                                   f"{exc}.") from exc


def _pages(client: SalesforceClient, soql: str, sobject: str, mark: SyncWatermark) -> Iterator[SourcePage]:
    """The query's pages as source records, skipping what the look-back re-reads unchanged."""
    seen = frozenset(mark.last_ids)
    skipped = deleted = 0
    calls = client.http_calls
    for page in client.query_pages(soql):
        link = link_maker(client, sobject) if page.records else str
        stamped = [(raw, parse_stamp(raw["SystemModstamp"])) for raw in page.records]
        records: list[SourceRecord] = []
        for raw, stamp in stamped:
            if mark.already_seen(raw, stamp, seen):
                skipped += 1
                continue
            gone = bool(raw.get("IsDeleted"))
            deleted += gone
            records.append(SourceRecord(str(raw["Id"]), raw, link(str(raw["Id"])), gone))
        mark.advance(stamped)
        # total: how many records the query holds (Salesforce's totalSize), for a progress bar with an end
        detail: dict[str, Any] = {"skipped_already_seen": skipped, "deleted_in_source": deleted,
                                  "total": page.total_size}
        if client.usage_share is not None:
            detail["api_usage_share"] = round(client.usage_share, 4)
        yield SourcePage(records, mark.to_dict(), http_calls=client.http_calls - calls, detail=detail)
        calls = client.http_calls


# --- single records -----------------------------------------------------------------------------------------------

def records(ctx: ConnectionContext, ids: list[str],
            include_deleted: bool) -> tuple[list[dict[str, Any]], SalesforceClient, str]:
    """The records ``ids`` with the mapping's fields (the daily share respected as the sync does)."""
    settings = adapter_settings(ctx)
    sobject = sobject_of(ctx, settings)
    try:
        soql = build_records_query(sobject, read_fields(ctx), ids)
    except ValueError as exc:
        raise SourceError("error", f"Cannot query these records: {exc}.") from exc
    client = make_client(ctx, settings)
    try:
        check_allocation(ctx, client)
        return client.query_all(soql, include_deleted=include_deleted), client, sobject
    except SalesforceError as exc:
        raise as_source_error(exc) from exc


def fetch_record(ctx: ConnectionContext, external_id: str) -> SourceRecord:
    """One live record with the mapping's fields (for the mapping preview)."""
    record_id = str(external_id).strip()
    if not RECORD_ID.match(record_id):
        raise SourceError("error", f"A Salesforce record id has 15 or 18 letters and digits, not {external_id!r}.")
    rows, client, sobject = records(ctx, [record_id], include_deleted=False)
    if not rows:
        raise SourceError("error", f"No {sobject} record {record_id} is visible to the connector's user.")
    return SourceRecord(str(rows[0]["Id"]), rows[0], link_maker(client, sobject)(str(rows[0]["Id"])))


def source_fields(ctx: ConnectionContext) -> set[str] | None:
    """Field and relationship names of the object, per ``describe`` (mapping validation when live)."""
    settings = adapter_settings(ctx)
    try:
        return set(make_client(ctx, settings).describe(settings.object).field_names)
    except SalesforceError as exc:
        raise as_source_error(exc) from exc


# --- pushes: Outbound Messages ------------------------------------------------------------------------------------

def receive_webhook(ctx: ConnectionContext, push: InboundPush) -> PushReceipt:
    """An Outbound Message: parsed, checked to come from the connection's org, one event per notification
    (keyed by the notification ``Id``); the Ack is sent only once the events are stored."""
    sobject = str(ctx.settings.get("object") or DEFAULT_OBJECT)
    try:
        message = parse_outbound_message(push.body, expected_object=sobject)
    except OutboundMessageError as exc:
        raise WebhookRefused(400, "malformed_outbound_message",
                             f"Outbound Message refused: {exc.message}.") from exc
    org_id = str(ctx.settings.get("org_id") or "")
    if not org_id:
        raise WebhookRefused(403, "org_unknown", "This connection has not been authorized yet, so its org is "
                             "unknown; authorize it before sending Outbound Messages. Nothing was stored.")
    if message.organization_id[:15] != org_id[:15]:
        raise WebhookRefused(403, "org_mismatch", f"The Outbound Message comes from org "
                             f"{message.organization_id}, not from the org this connection is authorized for; "
                             "nothing was stored.")
    missing = [n.id for n in message.notifications if not n.record_id or not RECORD_ID.match(n.record_id)]
    if missing:
        raise WebhookRefused(400, "record_id_missing", f"Notification {missing[0]} carries no record Id: add "
                             "the Id field to the Outbound Message. Nothing was stored.")
    events = [PushEvent(f"notification:{n.id}", n.record_id,
                        {"notification_id": n.id, "record_id": n.record_id, "object": n.sobject_type,
                         "action_id": message.action_id})
              for n in message.notifications]
    return PushReceipt(events, ACK)


def records_for_event(ctx: ConnectionContext, event: PushEvent) -> list[SourceRecord]:
    """The record a notification names, read now with the mapping's fields (``queryAll``: deletions too)."""
    return records_for_events(ctx, [event])


def records_for_events(ctx: ConnectionContext, events: Sequence[PushEvent]) -> list[SourceRecord]:
    """The records notifications name, read now with the mapping's fields: one ``queryAll … WHERE Id IN (…)``
    for up to ``IDS_PER_QUERY`` ids (deletions too), however many notifications named them."""
    ids: list[str] = []
    for event in events:
        record_id = str(event.external_id or event.payload.get("record_id") or "")
        if RECORD_ID.match(record_id):
            ids.append(record_id)
        else:
            log.warning("outbound message event %s names no record id", event.id)
    ids = list(dict.fromkeys(ids))
    found: list[SourceRecord] = []
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start:start + IDS_PER_QUERY]
        rows, client, sobject = records(ctx, chunk, include_deleted=True)
        missing = set(chunk) - {str(row["Id"]) for row in rows}
        if missing:  # purged, or not shared with the integration user: nothing to say about them
            log.warning("%d %s record(s) of connection %s are not visible; their pushes are ignored",
                        len(missing), sobject, ctx.name)
        link = link_maker(client, sobject)
        found += [SourceRecord(str(row["Id"]), row, link(str(row["Id"])), bool(row.get("IsDeleted"))) for row in rows]
    return found
