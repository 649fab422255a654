"""Inbound pushes: Salesforce Outbound Messages and Zendesk webhooks, verified, stored, then acknowledged.

The answer (``<Ack>true</Ack>``, or 2xx for Zendesk) is produced only after the events are committed: the
blueprint's transaction hook commits before the response leaves, and answers 503 if that fails, so the
provider retries instead of losing the push. Duplicates (same notification id / invocation) are ignored.
"""

from __future__ import annotations

import logging

from flask import abort, request
from werkzeug.wrappers import Response

from connector import connections, sync
from connector.api.blueprint import make_blueprint
from connector.api.errors import error_response
from connector.observability import WEBHOOK_EVENTS
from connector.sources import WebhookRefused, get_kind

log = logging.getLogger(__name__)
blp = make_blueprint("webhooks", __name__, "Signed or verified pushes from the sources (not under /api/v1).")


@blp.route("/webhooks/<kind>/<name>", methods=["POST"])
@blp.response(200, description="Stored and acknowledged; 4xx when refused (nothing stored).")
def receive(kind: str, name: str) -> Response:
    conn = connections.find(name)
    if conn is None or conn.kind != kind:
        abort(404, f"No {kind} connection named '{name}'.")
    source = get_kind(conn.kind)
    try:
        receipt = source.receive_webhook(connections.context(conn, with_mapping=False), request)
    except WebhookRefused as exc:
        log.warning("refused %s webhook for %s: %s", kind, name, exc.code)
        WEBHOOK_EVENTS.labels(name, "refused").inc()
        return error_response(exc.status, exc.code, exc.message)
    stored = sync.store_events(conn, receipt.events)
    WEBHOOK_EVENTS.labels(name, "received").inc(stored)
    if len(receipt.events) > stored:
        WEBHOOK_EVENTS.labels(name, "duplicate").inc(len(receipt.events) - stored)
    return receipt.respond(stored)  # type: ignore[no-any-return]
