"""Pages prepared by the helper process are stored exactly as pages prepared in the syncing process."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from integration.salesforce_connector.mock_org import MockOrg, sf_record, sync
from sqlalchemy import select

from connector import connections, operations
from connector.db import db
from connector.governance.normalize import normalize
from connector.models import AuditEvent, ExceptionRequest
from connector.page_intake import MIN_PAGE, PagePreparer
from connector.policy_store import current_policy

PAGE = MIN_PAGE + 100
RECORDS = 3 * PAGE  # three pages: the first prepared here, the next two by the helper


def varied(n: int) -> dict[str, Any]:
    """Records that take every path: complete, incomplete, conflicting, large, with unmappable values."""
    kinds = [
        {},
        {"Use_Case__c": None, "Requester__r": None},
        {"Requested_Seats__c": 90.0},
        {"Revenue_Impact__c": 4_800_000.0, "Data_Sensitivity__c": "Regulated", "User_Base__c": 250_000.0,
         "Category__c": "Usage Rights", "Requested_Usage_Rights__c": "OEM Redistribution;Embedding"},
        {"Category__c": "Something New", "Requested_Seats__c": 105.5},
    ]
    return sf_record(n, **kinds[n % len(kinds)])


def stored(app) -> dict[str, dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(select(ExceptionRequest).order_by(ExceptionRequest.pk)).all()
        return {r.external_id: {"fields": r.fields, "intake": r.intake, "risk": r.risk, "state": r.state,
                                "track": r.track, "content_hash": r.content_hash, "due_at": r.due_at,
                                "completed_at": r.completed_at, "created_at": r.created_at, "raw": r.raw_payload}
                for r in rows}


def recomputed(app, row: dict[str, Any]) -> dict[str, Any]:
    """What the syncing process itself makes of a stored record's raw payload at the same moment."""
    with app.app_context():
        conn = connections.find("sf")
        assert conn is not None
        _version, program, _doc = connections.inbound_program(conn)
        mapped = program(row["raw"])
        typed, fields, errors = normalize(mapped.fields)
        errors.update(mapped.errors)
        values, _result = operations.assess(typed, errors, current_policy(), row["created_at"])
        return {"fields": fields, "intake": values["intake"], "risk": values["risk"], "state": values["state"],
                "track": values["track"], "content_hash": operations.fast_hash(fields, errors),
                "due_at": values["due_at"]}


@pytest.fixture
def used(monkeypatch) -> list[bool]:
    """One entry per stored page: whether the helper's preparation was used."""
    seen: list[bool] = []
    original = PagePreparer.result

    def result(self, future, expected):
        prepared = original(self, future, expected)
        seen.append(prepared is not None)
        return prepared

    monkeypatch.setattr(PagePreparer, "result", result)
    return seen


def test_helper_pages_equal_pages_prepared_here(client, admin, org: MockOrg, connected, app, used) -> None:
    org.page_size = PAGE
    org.add(*(varied(n) for n in range(1, RECORDS + 1)))
    result = sync(client, admin)
    assert (result["fetched"], result["created"], result["pages"]) == (RECORDS, RECORDS, 3)
    assert used == [False, True, True]
    rows = stored(app)
    assert len(rows) == RECORDS and {r["state"] for r in rows.values()} == {"needs_info", "in_review"}
    for external_id, row in rows.items():
        expected = recomputed(app, row)
        assert {k: row[k] for k in expected} == expected, external_id
    with app.app_context():  # every created request has its audit event, with the intake summary
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.created")).all()
        assert len(events) == RECORDS and all({"missing", "errors", "conflicts"} <= set(e.data) for e in events)

    again = sync(client, admin)
    assert (again["created"], again["updated"]) == (0, 0)


def test_a_failing_helper_changes_nothing_but_speed(client, admin, org: MockOrg, connected, app, used,
                                                   monkeypatch) -> None:
    def broken(self, rules, raws, now):
        future: Future[Any] = Future()
        future.set_exception(RuntimeError("helper died"))
        return future

    monkeypatch.setattr(PagePreparer, "submit", broken)
    org.page_size = PAGE
    org.add(*(varied(n) for n in range(1, 2 * PAGE + 1)))
    result = sync(client, admin)
    assert (result["created"], result["stopped"]) == (2 * PAGE, None)
    assert used == [False, False]
    for row in stored(app).values():
        expected = recomputed(app, row)
        assert {k: row[k] for k in expected} == expected
