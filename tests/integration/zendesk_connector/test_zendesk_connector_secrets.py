"""Tokens and secrets of a Zendesk connection are never stored in clear nor logged."""

from __future__ import annotations

import json
import logging

import responses

from connector import delivery, sync

ACCESS_1, REFRESH_1 = "zd-access-token-first-0001", "zd-refresh-token-first-0001"
ACCESS_2, REFRESH_2 = "zd-access-token-rotated-0002", "zd-refresh-token-rotated-0002"
API_TOKEN = "zd-legacy-api-token-0003"


def test_no_token_or_secret_reaches_the_database_in_clear_or_the_logs(zd, app, caplog):
    caplog.set_level(logging.DEBUG)
    zd.create()
    zd.create("zd-legacy", auth="api_token", email="admin@acme.example.com", api_token=API_TOKEN,
              client_id=None, client_secret=None)
    zd.authorize(access=ACCESS_1, refresh=REFRESH_1)
    answers = [401, 200]

    def export(request):
        if answers.pop(0) == 401:
            return 401, {}, json.dumps({"error": "invalid_token", "error_description": "expired"})
        return 200, {}, json.dumps(zd.export_body([zd.ticket(1001)], "c1", True))

    zd.http.add_callback(responses.GET, zd.EXPORT, callback=export)
    zd.http.post(zd.TOKENS, json=zd.token_body(ACCESS_2, REFRESH_2))
    assert zd.sync()["created"] == 1
    zd.http.get(f"{zd.BASE}/api/v2/tickets/1001.json",
                json={"ticket": zd.ticket(1001), "users": [zd.REQUESTER], "organizations": [zd.ORGANIZATION]})
    assert zd.webhook({"ticket_id": "1001"}).status_code == 200
    assert zd.webhook({"ticket_id": "1001"}, secret="forged").status_code == 401
    zd.http.put(f"{zd.BASE}/api/v2/tickets/update_many.json", status=500, json={"error": "InternalError"})
    with app.app_context():
        sync.process_events()
        delivery.drain()
    assert zd.connection().token["refresh_token"] == REFRESH_2

    secrets = [zd.CLIENT_SECRET, zd.WEBHOOK_SECRET, API_TOKEN, ACCESS_1, REFRESH_1, ACCESS_2, REFRESH_2]
    stored = zd.database_text()
    assert "zd-legacy" in stored and "ada.lovelace@northwind.example.com" in stored  # the search does see data
    assert [s for s in secrets if s in stored] == []
    assert caplog.records and [s for s in secrets if s in caplog.text] == []
