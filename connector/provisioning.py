"""Setting up a source for the connector (``POST /api/v1/connections/<name>/provision``).

The kind does the talking, through the source contract (``Provisioner``: Zendesk creates its ticket fields, the
webhook and its trigger); this module stores what came back on the connection — public settings, the webhook's
signing secret encrypted — and audits it without the secret. No database transaction is open while the kind
talks HTTP: a token refresh on the way commits on its own (on SQLite a waiting request transaction would
otherwise block it).
"""

from __future__ import annotations

from typing import Any

from connector import audit, connections
from connector.db import db, released
from connector.governance.errors import StateConflict
from connector.models import Connection, utcnow
from connector.sources import Provisioner, SourceError, get_kind


def provision(conn: Connection, actor: str) -> dict[str, Any]:
    """Create what the connection's source needs, idempotently, and remember it on the connection."""
    kind = get_kind(conn.kind)
    if not isinstance(kind, Provisioner):
        raise StateConflict("nothing_to_provision", f"{kind.label} connections need nothing created in the "
                            "source; authorize the connection and sync.", {"kind": conn.kind})
    if not conn.token:
        raise StateConflict("not_authorized", f"Authorize connection '{conn.name}' before provisioning it.",
                            {"status": conn.status})
    ctx, conn_id, name = connections.context(conn), conn.id, conn.name
    try:
        with released():
            result = kind.provision(ctx)
    except SourceError as exc:
        raise StateConflict("provisioning_failed", f"Provisioning '{name}' stopped: {exc.message} Run it again "
                            "once that is fixed: whatever was already created is found and reused.",
                            {"status": exc.status}) from exc
    fresh = db.session.get(Connection, conn_id)
    if fresh is None:
        raise StateConflict("connection_gone", f"Connection '{name}' was deleted while it was being provisioned.")
    conn = fresh
    conn.settings = {**(conn.settings or {}), **result.settings}
    if result.secrets:
        conn.secrets = {**(conn.secrets or {}), **result.secrets}
    conn.updated_at = utcnow()
    connections.forget_source_fields(conn)  # the new fields exist now
    audit.append(actor, "connection.provisioned", f"connection:{name}",
                 {"settings": result.settings, "secrets_changed": sorted(result.secrets), **result.summary})
    return {"connection": name, **result.summary, "settings": dict(conn.settings),
            "secrets_set": sorted((conn.secrets or {}).keys())}
