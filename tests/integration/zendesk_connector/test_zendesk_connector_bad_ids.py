"""Ticket ids that ``str.isdigit`` accepts but ``int`` does not ("²", Arabic-Indic digits): a 4xx for the preview,
nothing fetched for a push, never a 500 or a stuck event."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector import sync
from connector.db import db
from connector.models import Connection, InboundEvent, utcnow


@pytest.mark.parametrize("value", ["²", "١٢٣", "12³", "9" * 5000])
def test_preview_with_a_non_ascii_digit_external_id_is_refused_without_a_call(connected, value):
    zd = connected
    calls = len(zd.http.calls)
    r = zd.client.post("/api/v1/connections/zd/mapping/preview", headers=zd.admin, json={"external_id": value})
    assert r.status_code == 409, r.get_json()
    assert "A Zendesk ticket id is a number" in r.get_json()["message"]
    assert len(zd.http.calls) == calls


def test_a_push_naming_a_non_ascii_digit_ticket_is_refused_or_processed_as_nothing(connected, app):
    zd = connected
    r = zd.webhook({"ticket_id": "²"})
    assert r.status_code == 400 and r.get_json()["code"] == "invalid_ticket_id"  # the webhook parser refuses it
    with app.app_context():  # an event stored before that check existed (or by another path) names the same id
        conn = db.session.scalar(select(Connection).where(Connection.name == "zd"))
        assert conn is not None
        db.session.add(InboundEvent(connection_id=conn.id, event_key="legacy-1", external_id="²",
                                    payload={"ticket_id": "²"}, status="pending", attempts=0, received_at=utcnow()))
        db.session.commit()
    calls = len(zd.http.calls)
    with app.app_context():
        assert sync.process_events() == {"processed": 1, "failed": 0}  # nothing to fetch: done, not retried
    assert len(zd.http.calls) == calls
    assert zd.requests() == []
