"""Inbound pushes: Salesforce Outbound Messages and Zendesk webhooks, verified, stored, then acknowledged.

The kind sees the push as plain data (``InboundPush``) and says what to answer (``Ack``); this blueprint turns
the request into the one and the other into a response. The answer (``<Ack>true</Ack>``, or 2xx for Zendesk) is
produced only after the events are committed: the blueprint's transaction hook commits before the response
leaves, and answers 503 if that fails, so the provider retries instead of losing the push. Duplicates (same
notification id / invocation) are ignored.
"""

from __future__ import annotations

import logging

from flask import abort, jsonify, request
from werkzeug.wrappers import Response

from connector import connections, sync
from connector.api.blueprint import make_blueprint
from connector.api.errors import error_response
from connector.models import utcnow
from connector.observability import WEBHOOK_EVENTS
from connector.sources import Ack, InboundPush, WebhookRefused, get_kind

log = logging.getLogger(__name__)
blp = make_blueprint("webhooks", __name__, "Signed or verified pushes from the sources (not under /api/v1).")


def inbound_push() -> InboundPush:
    """The current request as the plain data a kind verifies."""
    return InboundPush(body=request.get_data(cache=True), headers=dict(request.headers.items()),
                       received_at=utcnow(), remote_addr=request.remote_addr)


def response_of(ack: Ack) -> Response:
    """A kind's answer as the HTTP response: a dict as JSON, bytes as they are."""
    if isinstance(ack.body, dict):
        response = jsonify(ack.body)
        response.status_code = ack.status
        response.headers.update(ack.headers)
        return response
    return Response(ack.body, status=ack.status, headers=ack.headers)


@blp.route("/webhooks/<kind>/<name>", methods=["POST"])
@blp.response(200, description="Stored and acknowledged; 4xx when refused (nothing stored).")
def receive(kind: str, name: str) -> Response:
    conn = connections.find(name)
    if conn is None or conn.kind != kind:
        abort(404, f"No {kind} connection named '{name}'.")
    source = get_kind(conn.kind)
    try:
        receipt = source.receive_webhook(connections.context(conn, with_mapping=False), inbound_push())
    except WebhookRefused as exc:
        log.warning("refused %s webhook for %s: %s", kind, name, exc.code)
        WEBHOOK_EVENTS.labels(name, "refused").inc()
        return error_response(exc.status, exc.code, exc.message)
    stored = sync.store_events(conn, receipt.events)
    WEBHOOK_EVENTS.labels(name, "received").inc(stored)
    if len(receipt.events) > stored:
        WEBHOOK_EVENTS.labels(name, "duplicate").inc(len(receipt.events) - stored)
    return response_of(receipt.answer(stored))
