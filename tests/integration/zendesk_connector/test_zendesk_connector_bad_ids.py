"""Ticket ids that ``str.isdigit`` accepts but ``int`` does not ("²", Arabic-Indic digits): a 4xx for the preview,
nothing fetched for a push, never a 500 or a stuck event."""

from __future__ import annotations

import pytest

from connector import sync


@pytest.mark.parametrize("value", ["²", "١٢٣", "12³", "9" * 5000])
def test_preview_with_a_non_ascii_digit_external_id_is_refused_without_a_call(connected, value):
    zd = connected
    calls = len(zd.http.calls)
    r = zd.client.post("/api/v1/connections/zd/mapping/preview", headers=zd.admin, json={"external_id": value})
    assert r.status_code == 409, r.get_json()
    assert "A Zendesk ticket id is a number" in r.get_json()["message"]
    assert len(zd.http.calls) == calls


def test_a_push_naming_a_non_ascii_digit_ticket_is_processed_as_nothing_to_fetch(connected, app):
    zd = connected
    r = zd.webhook({"ticket_id": "²"})
    if r.status_code == 400:  # the webhook parser (adapters/zendesk/webhook.py) refusing it up front is fine too
        return
    assert r.status_code == 200, r.get_data(as_text=True)
    calls = len(zd.http.calls)
    with app.app_context():
        assert sync.process_events() == {"processed": 1, "failed": 0}
    assert len(zd.http.calls) == calls
    assert zd.requests() == []
