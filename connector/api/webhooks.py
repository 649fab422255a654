"""Inbound pushes: Salesforce Outbound Messages and Zendesk webhooks, verified, stored, then acknowledged.

The kind sees the push as plain data (``InboundPush``) and says what to answer (``Ack``); this blueprint turns
the request into the one and the other into a response. The answer (``<Ack>true</Ack>``, or 2xx for Zendesk) is
produced only after the events are committed: the blueprint's transaction hook commits before the response
leaves, and answers 503 if that fails, so the provider retries instead of losing the push. Duplicates (same
notification id / invocation, or a signed request replayed) are acknowledged and ignored.

Before a push is read it must come from the connection's ``allowed_push_networks`` (403), stay within the
connection's push rate (429 with ``Retry-After``) and have the kind's media type (415); see
``connector.push_governance``.
"""

from __future__ import annotations

import logging

from flask import abort, jsonify, request
from werkzeug.wrappers import Response

from connector import connections, push_governance, sync
from connector.api.blueprint import make_blueprint
from connector.api.errors import error_response
from connector.client_address import current_client_address
from connector.models import Connection, utcnow
from connector.observability import WEBHOOK_EVENTS
from connector.push_governance import Refusal
from connector.sources import Ack, InboundPush, PushReceipt, SourceKind, WebhookRefused, get_kind

log = logging.getLogger(__name__)
blp = make_blueprint("webhooks", __name__, "Signed or verified pushes from the sources (not under /api/v1).")


def inbound_push() -> InboundPush:
    """The current request as the plain data a kind verifies."""
    address = current_client_address()
    return InboundPush(body=request.get_data(cache=True), headers=dict(request.headers.items()),
                       received_at=utcnow(), remote_addr=str(address) if address is not None else None)


def response_of(ack: Ack) -> Response:
    """A kind's answer as the HTTP response: a dict as JSON, bytes as they are."""
    if isinstance(ack.body, dict):
        response = jsonify(ack.body)
        response.status_code = ack.status
        response.headers.update(ack.headers)
        return response
    return Response(ack.body, status=ack.status, headers=ack.headers)


def refusal(conn: Connection, source: SourceKind) -> Refusal | None:
    """Where the push comes from (403), how many came this minute (429), its media type (415): in that order,
    so pushes from outside the allowed networks cannot use up the connection's rate."""
    refused = push_governance.network_refusal(conn.settings or {}, current_client_address())
    if refused is None:
        refused = push_governance.rate_refusal(conn.id, utcnow())
    if refused is None and source.push_content_types and request.mimetype not in source.push_content_types:
        wanted = " or ".join(f"'{kind}'" for kind in source.push_content_types)
        refused = Refusal(415, "unsupported_media_type", f"Send the {source.label} push as {wanted}; "
                          f"{request.mimetype or 'no Content-Type'} is not accepted. Nothing was stored.")
    return refused


def replayed(conn: Connection, receipt: PushReceipt) -> bool:
    """Whether this signed request was received before (its signature is remembered until it expires)."""
    if receipt.replay_key is None or receipt.replay_until is None:
        return False
    return not push_governance.first_receipt(conn.id, receipt.replay_key, receipt.replay_until)


@blp.route("/webhooks/<kind>/<name>", methods=["POST"])
@blp.response(200, description="Stored and acknowledged (or a duplicate, acknowledged and ignored); 4xx when "
                                "refused (nothing stored).")
@blp.alt_response(403, description="Not from the connection's allowed_push_networks, or not from its org.")
@blp.alt_response(415, description="Not the source's media type (Zendesk: application/json; Salesforce: "
                                   "text/xml or application/soap+xml).")
@blp.alt_response(429, description="Over the connection's push rate (CONNECTOR_PUSH_RATE_LIMIT a minute); "
                                   "Retry-After says when to retry.")
def receive(kind: str, name: str) -> Response:
    conn = connections.find(name)
    if conn is None or conn.kind != kind:
        abort(404, f"No {kind} connection named '{name}'.")
    source = get_kind(conn.kind)
    refused = refusal(conn, source)
    if refused is not None:
        WEBHOOK_EVENTS.labels(name, "refused").inc()
        return error_response(refused.status, refused.code, refused.message, headers=refused.headers)
    try:
        receipt = source.receive_webhook(connections.context(conn, with_mapping=False), inbound_push())
    except WebhookRefused as exc:
        log.warning("refused %s webhook for %s: %s", kind, name, exc.code)
        WEBHOOK_EVENTS.labels(name, "refused").inc()
        return error_response(exc.status, exc.code, exc.message)
    if replayed(conn, receipt):
        WEBHOOK_EVENTS.labels(name, "duplicate").inc(len(receipt.events))
        return response_of(receipt.answer(0))
    stored = sync.store_events(conn, receipt.events)
    WEBHOOK_EVENTS.labels(name, "received").inc(stored)
    if len(receipt.events) > stored:
        WEBHOOK_EVENTS.labels(name, "duplicate").inc(len(receipt.events) - stored)
    return response_of(receipt.answer(stored))
