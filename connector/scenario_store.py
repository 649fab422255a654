"""Change-impact scenarios against the stored requests: run one, keep one (audited), find those touching a request,
and the body of the lifecycle change a suggestion proposes (the chair sends it through the usual amend or revoke).

What a scenario is checked against: every open request (by what it asks) and every active exception (by what
its entitlement in force grants; what it once asked for no longer matters).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from connector import audit
from connector.audit import jsonable
from connector.db import db
from connector.governance.errors import InvalidInput, StateConflict
from connector.governance.scenarios import Impact, Subject, amended_grants, dump_scenario, impacts, load_scenario
from connector.governance.states import OPEN_STATES, RequestState
from connector.models import ExceptionRequest, Scenario, utcnow
from connector.representation import current_entitlement
from mappings.yaml_text import LOAD_ERRORS, unsafe_yaml

#: the stored scenarios a request page checks itself against (newest first)
TOUCHING_LIMIT = 200
#: fields a scenario names as text, though YAML reads ``version: 5.0`` as a number
TEXT_FIELDS = ("name", "feature", "renamed_to", "region", "environment", "version", "integration", "description")


def document_from(data: Any, field: str = "(body)", *, yaml_typed: bool = False) -> dict[str, Any]:
    """A scenario as sent (JSON) or read (YAML); anything but a mapping is refused naming ``field``. YAML types
    what it reads: there names and versions read as numbers are taken as the text written (``5.0`` stays
    ``5.0``), and dates become ISO text; JSON says what it means and is taken as sent."""
    if not isinstance(data, dict):
        raise InvalidInput("invalid_scenario", "Send the scenario as an object (JSON) or a mapping (YAML).",
                           {"fields": {field: ["Must be an object."]}})
    if not yaml_typed:
        return data
    text = {k: str(v) for k, v in data.items()
            if k in TEXT_FIELDS and isinstance(v, int | float) and not isinstance(v, bool)}
    return {str(k): v for k, v in jsonable({**data, **text}).items()}


def parse_yaml(text: str, field: str = "(body)") -> dict[str, Any]:
    """A scenario written as YAML (or JSON); refused with ``InvalidInput`` naming ``field`` when unreadable."""
    problem = unsafe_yaml(text)
    if problem is not None:
        raise InvalidInput(problem.code, f"{problem.message} Nothing was changed.",
                           {"fields": {field: [problem.message]}})
    try:
        data = yaml.safe_load(text)
    except LOAD_ERRORS as exc:
        raise InvalidInput("scenario_not_yaml", f"The scenario is not valid YAML: {exc}",
                           {"fields": {field: ["Not valid YAML."]}}) from exc
    return document_from(data, field, yaml_typed=True)


def _text(req: ExceptionRequest, granted: Mapping[str, Any] | None, conditions: Iterable[str]) -> str:
    stored = req.fields or {}
    parts = [req.title or "", stored.get("use_case") or "", stored.get("justification") or "",
             (stored.get("requested_terms") or {}).get("other") or "", (granted or {}).get("other") or "",
             *conditions]
    return "\n".join(str(p) for p in parts if p)


def subject_of(req: ExceptionRequest) -> Subject | None:
    """The request as scenarios read it, or None when it is neither open nor an exception in force."""
    if req.state in OPEN_STATES:
        requested = (req.fields or {}).get("requested_terms") or {}
        return Subject(req.id, req.key or req.id, req.state, requested, text=_text(req, None, ()))
    ent = current_entitlement(req)
    if req.state != RequestState.APPROVED or ent is None or ent.status != "active":
        return None
    return Subject(req.id, req.key or req.id, req.state, {}, dict(ent.grants or {}), ent.expires_at,
                   _text(req, ent.grants, ent.conditions or ()))


def subjects() -> list[tuple[Subject, ExceptionRequest]]:
    rows = db.session.scalars(
        select(ExceptionRequest).where(ExceptionRequest.state.in_([*OPEN_STATES, RequestState.APPROVED]))
        .options(selectinload(ExceptionRequest.entitlements)).order_by(ExceptionRequest.pk)).all()
    found = []
    for req in rows:
        subject = subject_of(req)
        if subject is not None:
            found.append((subject, req))
    return found


def _item(impact: Impact, req: ExceptionRequest, scenario_id: int | None) -> dict[str, Any]:
    item = impact.to_dict()
    ent = current_entitlement(req) if impact.subject.granted is not None else None
    item.update({"title": req.title, "customer": req.customer_name, "category": req.category,
                 "expires_at": ent.expires_at.isoformat() if ent is not None else None,
                 "grants": dict(ent.grants) if ent is not None else None,
                 "prefill": (f"scenarios/{scenario_id}/suggestions/{req.key or req.id}"
                             if scenario_id is not None and impact.suggestion != "notify" else None)})
    return item


def summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    """What a run found, in short (kept on the scenario as its last result)."""
    return {"touched": len(items), "open": sum(i["state"] in OPEN_STATES for i in items),
            "active": sum(i["state"] == RequestState.APPROVED for i in items),
            "by_suggestion": dict(sorted(Counter(i["suggestion"] for i in items).items())),
            "keys": [i["key"] for i in items]}


def run(document: Mapping[str, Any], scenario_id: int | None = None) -> dict[str, Any]:
    """The open requests and active exceptions the scenario touches (nothing is written)."""
    scenario = load_scenario(document)
    pairs = subjects()
    by_id = {s.request_id: req for s, req in pairs}
    items = [_item(i, by_id[i.subject.request_id], scenario_id) for i in impacts(scenario, [s for s, _ in pairs])]
    return {"scenario": dump_scenario(scenario), "items": items, "summary": summary(items),
            "run_at": utcnow().isoformat()}


def save(document: Mapping[str, Any], actor: str) -> tuple[Scenario, dict[str, Any]]:
    """Keep a scenario (audited) and answer its first run."""
    scenario = dump_scenario(load_scenario(document))
    row = Scenario(name=scenario["name"], kind=scenario["kind"], document=scenario, created_by=actor,
                   created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    result = rerun(row)
    audit.append(actor, "scenario.saved", f"scenario:{row.id}",
                 {"scenario_id": row.id, "document": scenario, "touched": result["summary"]["touched"],
                  "keys": result["summary"]["keys"]})
    return row, result


def rerun(row: Scenario) -> dict[str, Any]:
    """Run a kept scenario against the requests as they are now, and keep the summary as its last result."""
    result = run(row.document, row.id)
    row.last_run_at = utcnow()
    row.last_result = result["summary"]
    db.session.flush()
    return result


def scenario_view(row: Scenario, result: dict[str, Any] | None = None) -> dict[str, Any]:
    view = {"id": row.id, "name": row.name, "kind": row.kind, "document": row.document,
            "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "last_run_at": row.last_run_at.isoformat() if row.last_run_at else None,
            "last_result": row.last_result}
    if result is not None:
        view["impacts"] = result["items"]
    return view


def touching(req: ExceptionRequest) -> list[dict[str, Any]]:
    """The kept scenarios that touch this request now, newest first, each with what it hits and the suggestion."""
    subject = subject_of(req)
    if subject is None:
        return []
    rows = db.session.scalars(select(Scenario).order_by(Scenario.id.desc()).limit(TOUCHING_LIMIT)).all()
    found = []
    for row in rows:
        for impact in impacts(load_scenario(row.document), [subject]):
            found.append({"scenario_id": row.id, "name": row.name, "kind": row.kind,
                          "effective": row.document.get("effective"), "hits": list(impact.hits),
                          "why": impact.why, "suggestion": impact.suggestion})
    return found


def _boundaries(req: ExceptionRequest, grants: Mapping[str, Any]) -> dict[str, Any]:
    ent = current_entitlement(req)
    assert ent is not None
    return {"grants": dict(grants), "effective_from": ent.effective_from.isoformat(),
            "expires_at": ent.expires_at.isoformat(), "conditions": list(ent.conditions or []),
            "renewal": {"mode": ent.renewal_mode, "notice_days": ent.notice_days},
            "success_metrics": list(ent.success_metrics or [])}


def suggestion(row: Scenario, req: ExceptionRequest, today: date) -> dict[str, Any]:
    """The change the scenario suggests for this exception, as the body of the lifecycle call that makes it:
    ``amend`` (and ``renew``: the terms in force, for the chair to set the new ones) answer an amendment body,
    ``revoke`` a revocation body; the chair sends it as it is or edited, through the usual approval path."""
    scenario = load_scenario(row.document)
    subject = subject_of(req)
    found = impacts(scenario, [subject]) if subject is not None else []
    if not found or subject is None or subject.granted is None or found[0].suggestion == "notify":
        raise StateConflict("no_suggested_change", f"Scenario {row.id} suggests no change to "
                            f"{req.key or req.id} as it stands: only telling the customer, or nothing at all.",
                            {"scenario_id": row.id, "suggestion": found[0].suggestion if found else None})
    impact = found[0]
    note = f"Scenario '{row.name}' (#{row.id}): {impact.why}."
    grants = amended_grants(scenario, subject.granted)
    effective = scenario["effective"]
    if impact.suggestion == "revoke" or not grants:
        body: dict[str, Any] = {"reason": note}
        if effective > today:
            body["effective"] = effective.isoformat()
        action, path = "revoke", "revoke"
    else:
        body = {"rationale": note, "entitlement": _boundaries(req, grants)}
        action, path = impact.suggestion, "amend"
    return {"scenario_id": row.id, "request": req.key or req.id, "suggestion": impact.suggestion,
            "action": action, "method": "POST", "path": f"requests/{req.key or req.id}/{path}", "body": body,
            "why": impact.why, "hits": list(impact.hits)}
