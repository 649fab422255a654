"""Mapping preview: what a source record would become — mapped fields, field errors, intake — writing nothing."""

from __future__ import annotations

from typing import Any

from connector import audit, connections
from connector.db import released
from connector.governance.fields import GOVERNANCE_FIELDS
from connector.governance.intake import run_intake
from connector.governance.schema import dump_fields, load_lenient
from connector.governance.triage import decide_track, score_risk
from connector.models import Connection
from connector.policy_store import current_policy
from connector.sources import get_kind
from mappings import compile_inbound, load_mapping
from mappings.paths import placeholders_in

UNRESOLVED = "unresolved_placeholder"


def _unfilled(problems: list[dict[str, str]]) -> list[dict[str, str | None]]:
    """Each rule still holding a placeholder without a value (a Zendesk field not created yet), by name."""
    unfilled: list[dict[str, str | None]] = []
    for p in problems:
        if p["rule"] == UNRESOLVED:
            names = placeholders_in(p["message"])
            unfilled.append({"placeholder": names[0] if names else None, "field": p["field"],
                             "message": p["message"]})
    return unfilled


def preview(conn: Connection, *, record: dict[str, Any] | None = None, external_id: str | None = None,
            mapping: Any = None) -> dict[str, Any]:
    """What ``record`` (or the live record ``external_id``) would become under ``mapping`` (default: the current
    one). As when saving, an unfilled placeholder is a setup step, not a problem: its rules are simply not mapped
    (they read as missing) and ``unfilled_placeholders`` names them."""
    if mapping is not None:
        problems = connections.mapping_problems(conn, mapping)
        blocking = [p for p in problems if p["rule"] != UNRESOLVED]
        if blocking:
            return {"mapping_problems": blocking, "unfilled_placeholders": _unfilled(problems), "request": None,
                    "errors": {}, "intake": None}
        doc = connections.resolved(conn, load_mapping(mapping))
        version = None
    else:
        version, doc = connections.current_mapping(conn)
        problems = connections.mapping_problems(conn, doc)
        doc = connections.resolved(conn, doc)
    source_record = record
    if source_record is None:
        assert external_id is not None
        kind, ctx = get_kind(conn.kind), connections.context(conn)
        with released():  # nothing written here; no transaction (SQLite: no lock) while the source talks HTTP
            source_record = kind.fetch_record(ctx, external_id).raw
    mapped = compile_inbound(doc, GOVERNANCE_FIELDS)(source_record)
    typed, schema_errors = load_lenient(audit.jsonable(mapped.fields))
    errors = {**schema_errors, **mapped.errors}
    policy = current_policy()
    intake = run_intake(typed, policy, errors)
    track = decide_track(typed, policy)
    risk = score_risk(typed, policy)
    return {
        "mapping_version": version,
        "mapping_problems": [],
        "unfilled_placeholders": _unfilled(problems),
        "request": dump_fields(typed),
        "errors": errors,
        "intake": {**intake.to_dict(), "complete": intake.complete,
                   "state": "in_review" if intake.complete else "needs_info"},
        "track": {"track": track.track, "reasons": track.reasons},
        "risk": risk.to_dict(),
        "source_record": source_record,
    }
