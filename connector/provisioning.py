"""Setting up a source for the connector (``POST /api/v1/connections/<name>/provision``, ``connections provision``
and the connections page's Provision button).

The kind does the talking, through the source contract (``Provisioner``: Zendesk creates its ticket fields, the
webhook and its trigger and installs the ticket sidebar app; Salesforce deploys its package); this module stores
what came back on the connection — public settings, the webhook's signing secret encrypted — and audits it without
the secret. No database transaction is open while the kind talks HTTP: a token refresh on the way commits on its
own (on SQLite a waiting request transaction would otherwise block it).

A kind that installs an app reading the connector (``installs_app``) is handed a fresh ``source_app`` token
(``source-app:<connection>``, no expiry) to put in the app's secure settings; it is stored (hashed), replacing the
connection's previous one, only once the kind succeeded, so a failed run leaves the installed app working with the
token it has. The clear token goes nowhere else: not in the summary, the audit, the settings or a log.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from connector import audit, auth, connections
from connector.db import db, released
from connector.governance.errors import StateConflict
from connector.models import Connection, Principal, utcnow
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
    app_token = auth.new_token_secret() if kind.installs_app else None
    if app_token is not None:
        ctx = dataclasses.replace(ctx, app_token=app_token)
    try:
        with released():
            result = kind.provision(ctx)
    except SourceError as exc:
        details: dict[str, Any] = {"status": exc.status}
        if exc.problems:
            details["problems"] = exc.problems
        raise StateConflict("provisioning_failed", f"Provisioning '{name}' stopped: {exc.message} Run it again "
                            "once that is fixed: whatever was already created is found and reused.",
                            details) from exc
    fresh = db.session.get(Connection, conn_id)
    if fresh is None:
        raise StateConflict("connection_gone", f"Connection '{name}' was deleted while it was being provisioned.")
    conn = fresh
    conn.settings = {**(conn.settings or {}), **result.settings}
    if result.secrets:
        conn.secrets = {**(conn.secrets or {}), **result.secrets}
    conn.updated_at = utcnow()
    connections.forget_source_fields(conn)  # the new fields exist now
    summary = {**result.summary, **_app_token(name, app_token, actor)}
    audit.append(actor, "connection.provisioned", f"connection:{name}",
                 {"settings": result.settings, "secrets_changed": sorted(result.secrets), **summary})
    return {"connection": name, **summary, "settings": dict(conn.settings),
            "secrets_set": sorted((conn.secrets or {}).keys())}


def _app_token(name: str, secret: str | None, actor: str) -> dict[str, Any]:
    """Store the token the kind gave its app, revoking the connection's previous ones; what to report of it (never
    the token)."""
    if secret is None:
        return {}
    principal_name = f"{auth.SOURCE_APP_PREFIX}{name}"
    principal = db.session.scalar(select(Principal).where(Principal.name == principal_name))
    replaced = len(auth.live_tokens(principal)) if principal is not None else 0
    issued = auth.issue_token(principal_name, auth.SOURCE_APP, actor=actor, expires_in_days=0, replace=True,
                              secret=secret)
    return {"app_token": {"principal": principal_name, "token_id": issued.row.id, "prefix": issued.row.prefix,
                          "action": "rotated" if replaced else "issued", "replaced": replaced}}
