"""What an app inside a source shows about one record (the Zendesk ticket sidebar): where the exception stands,
in the source's own terms — the ticket fields still to fill by id and label, the roles whose votes it waits for,
the decision, the granted boundaries and when they end — or, for a record the connector has not seen, the form
that flags it (the custom fields the connection reads and the tag that selects tickets).

Everything here is read-only and narrow: it answers for one connection's records only, and carries no internal
note, no vote rationale and no customer data beyond what the record itself holds.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from connector import connections
from connector.db import db
from connector.models import Connection, ExceptionRequest
from connector.representation import request_view
from mappings import ZENDESK_PLACEHOLDER_FIELDS, MappingDocument
from mappings.outbound import fields_to_fill, summarize_intake

CUSTOM_FIELD = "custom_fields."


def _mapping(conn: Connection) -> MappingDocument | None:
    if conn.mapping_version is None:
        return None
    return connections.resolved(conn, connections.current_mapping(conn)[1])


def _field_specs(conn: Connection) -> dict[int, dict[str, Any]]:
    """The ticket fields the connector created for this connection, by id: label, type, options."""
    ids = (conn.settings or {}).get("field_ids") or {}
    specs: dict[int, dict[str, Any]] = {}
    for name, spec in ZENDESK_PLACEHOLDER_FIELDS.items():
        if name in ids and spec.get("direction") == "inbound":
            specs[int(ids[name])] = {"name": name, "field_id": int(ids[name]), "label": spec["title"],
                                     "type": spec["type"], "options": list(spec.get("options") or [])}
    return specs


def flag_form(conn: Connection) -> dict[str, Any]:
    """The fields an agent fills to flag a ticket (in the mapping's order) and the tag that selects it."""
    doc, specs = _mapping(conn), _field_specs(conn)
    order = [rule.source for rule in (doc.inbound.values() if doc else ()) if rule.source]
    form = [specs[int(source[len(CUSTOM_FIELD):])] for source in order
            if source.startswith(CUSTOM_FIELD) and source[len(CUSTOM_FIELD):].isdigit()
            and int(source[len(CUSTOM_FIELD):]) in specs]
    tag = str(((doc.select or {}).get("tag") if doc else None) or "license_exception")
    return {"tag": tag, "form": form}


def _missing(conn: Connection, doc: MappingDocument | None, intake: Any) -> dict[str, Any]:
    specs = _field_specs(conn)
    sources = [s.strip() for s in (fields_to_fill(doc, intake) if doc else "").split(",") if s.strip()]
    fields = [specs[int(s[len(CUSTOM_FIELD):])] for s in sources
              if s.startswith(CUSTOM_FIELD) and s[len(CUSTOM_FIELD):].isdigit() and int(s[len(CUSTOM_FIELD):]) in specs]
    return {"summary": summarize_intake(intake), "fields": fields,
            "other": [s for s in sources if not s.startswith(CUSTOM_FIELD)]}


def _lines(grants: Any) -> list[str]:
    if not isinstance(grants, dict):
        return []
    return [f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in grants.items() if value not in (None, "", [])]


def record_status(conn: Connection, external_id: str, today: date) -> dict[str, Any]:
    """The status of the record ``external_id`` of ``conn``; ``flagged: false`` with the flag form if unknown."""
    req = db_request(conn, external_id)
    if req is None:
        return {"flagged": False, **flag_form(conn)}
    view = request_view(req)
    entitlement = view.get("entitlement") or {}
    decision = view.get("decision") or {}
    expires = entitlement.get("expires_at")
    return {
        "flagged": True, "key": view["key"], "state": view["state"], "track": view["track"],
        "risk_band": (view.get("risk") or {}).get("band"),
        "missing": _missing(conn, _mapping(conn), view.get("intake")),
        "votes_waiting": list((view.get("review") or {}).get("waiting") or []),
        "decision": {"outcome": decision.get("outcome"), "rationale": decision.get("rationale")}
        if decision else None,
        "boundaries": _lines(entitlement.get("grants")),
        "effective_from": entitlement.get("effective_from"), "expires_at": expires,
        "expires_in_days": (date.fromisoformat(expires[:10]) - today).days if expires else None,
        "url": view.get("url"),
    }


def db_request(conn: Connection, external_id: str) -> ExceptionRequest | None:
    return db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.connection_id == conn.id,
                                                            ExceptionRequest.external_id == str(external_id)))


__all__ = ["flag_form", "record_status"]
