"""One creation path: the API's intake and a sync page create requests the same way (submit is submit_many
with a page of one), with one key builder and one shape of ``request.created``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connector import operations
from connector.db import db
from connector.governance.schema import dump_fields, load_fields
from connector.governance.states import RequestState
from connector.models import AuditEvent, Connection, Delivery, ExceptionRequest


def _created_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "request.created")
                                   .order_by(AuditEvent.seq)))


def _submission(external_id: str, body: dict[str, Any]) -> operations.Submission:
    typed = load_fields(dict(body))
    return operations.Submission(external_id, typed, dump_fields(typed), {})


def test_the_api_and_a_sync_page_write_one_shape_of_request_created(app, client, token_for, small):
    r = client.post("/api/v1/requests", headers=token_for("intake"), json=small)
    assert r.status_code == 201, r.text
    with app.app_context():
        conn = Connection(name="sf", kind="salesforce", settings={})
        db.session.add(conn)
        db.session.flush()
        outcomes = operations.submit_many([_submission("006A", small)], source="salesforce", connection=conn,
                                          mapping_version=None, actor="sync")
        assert outcomes == [("created", RequestState.IN_REVIEW)]
        api_event, sync_event = _created_events()
        assert set(api_event.data) == set(sync_event.data) == {
            "key", "source", "external_id", "state", "track", "risk", "intake", "mapping_version"}
        assert api_event.data["risk"] == sync_event.data["risk"] and set(api_event.data["risk"]) == {"score", "band"}
        assert api_event.data["intake"] == sync_event.data["intake"] == {"missing": [], "errors": {},
                                                                         "conflicts": []}
        keys = [req.key for req in db.session.scalars(select(ExceptionRequest).order_by(ExceptionRequest.pk))]
        assert keys == [api_event.data["key"], sync_event.data["key"]]
        assert keys == [operations.request_key(pk) for pk in
                        db.session.scalars(select(ExceptionRequest.pk).order_by(ExceptionRequest.pk))]
        assert keys[0].startswith("LEX-10")
        # only the source's request is written back: the API's has no connection
        assert [d.target for d in db.session.scalars(select(Delivery))] == ["connection:sf"]
        db.session.rollback()


def test_a_record_repeated_within_a_page_updates_the_request_its_first_occurrence_created(app, small):
    changed = {**small, "title": small["title"] + " (edited)"}
    with app.app_context():
        conn = Connection(name="zd", kind="zendesk", settings={})
        db.session.add(conn)
        db.session.flush()
        page = [_submission("1", small), _submission("2", small), _submission("1", changed),
                _submission("2", small)]
        outcomes = operations.submit_many(page, source="zendesk", connection=conn, mapping_version=3, actor="sync")
        assert [outcome for outcome, _ in outcomes] == ["created", "created", "updated", "unchanged"]
        rows = db.session.scalars(select(ExceptionRequest).order_by(ExceptionRequest.pk)).all()
        assert [(r.external_id, r.title) for r in rows] == [("1", changed["title"]), ("2", small["title"])]
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                   if e.subject in {f"request:{r.id}" for r in rows}]
        assert actions == ["request.created", "request.created", "request.updated"]
        db.session.rollback()
