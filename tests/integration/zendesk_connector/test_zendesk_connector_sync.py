"""Zendesk connections: OAuth with PKCE, the cursor export, rate limits and rotating refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import responses
from responses import matchers
from sqlalchemy import select

from connector.db import db
from connector.models import Connection


def test_authorize_sends_the_admin_to_zendesk_with_pkce_and_the_callback_connects(zd):
    zd.create()
    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert view["status"] == "needs_authorization"
    assert view["secrets_set"] == ["client_secret", "webhook_secret"]
    assert zd.CLIENT_SECRET not in json.dumps(view) and zd.WEBHOOK_SECRET not in json.dumps(view)

    flow = zd.authorize()

    assert flow["location"].startswith(f"{zd.BASE}/oauth/authorizations/new?")
    query = flow["query"]
    assert query["response_type"] == ["code"] and query["client_id"] == ["lec-connector"]
    assert query["redirect_uri"] == ["http://connector.test/oauth/callback"]
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["read write"]
    sent = json.loads(flow["token_request"].body)
    assert flow["token_request"].headers["Content-Type"] == "application/json"
    assert sent["grant_type"] == "authorization_code" and sent["code"] == "zd-code-123"
    assert sent["client_id"] == "lec-connector" and sent["client_secret"] == zd.CLIENT_SECRET
    challenge = base64.urlsafe_b64encode(hashlib.sha256(sent["code_verifier"].encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == [challenge.decode()]
    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert view["status"] == "connected" and view["authorized"] is True
    assert zd.connection().token["refresh_token"] == "R1"


def test_the_cursor_export_skips_unflagged_tickets_and_resumes_from_the_stored_cursor(connected):
    zd = connected
    support_ticket = zd.ticket(1002, tags=("billing",), values={}, subject="Invoice shows the wrong VAT number")
    form_ticket = zd.ticket(1003, tags=("vip",), subject="Deploy on a second environment")
    form_ticket["ticket_form_id"] = 360000299999
    zd.http.get(zd.EXPORT, match=[matchers.query_param_matcher({"start_time": "0"}, strict_match=False)],
                json=zd.export_body([zd.ticket(1001), support_ticket, form_ticket], "c1", False))
    zd.http.get(zd.EXPORT, match=[matchers.query_param_matcher({"cursor": "c1"}, strict_match=False)],
                status=503, json={"error": "ServiceUnavailable", "description": "Try again later"})

    first = zd.sync()

    assert first["created"] == 1 and first["fetched"] == 1 and first["pages"] == 1
    assert "unavailable" in first["stopped"]
    assert zd.watermark() == {"after_cursor": "c1"}  # page 1 was committed before page 2 failed
    [only] = zd.requests()
    assert only["external_id"] == "1001" and only["state"] == "in_review"
    assert only["external_url"] == f"{zd.BASE}/agent/tickets/1001"
    assert only["customer"]["name"] == "Northwind Analytics"
    assert only["requester"]["email"] == "ada.lovelace@northwind.example.com"
    assert only["requested_terms"]["seats"] == 120 and only["category"] == "seat_expansion"

    zd.http.replace(responses.GET, zd.EXPORT,
                    match=[matchers.query_param_matcher({"cursor": "c1"}, strict_match=False)],
                    json=zd.export_body([zd.ticket(1004, values={**zd.COMPLETE, "revenue_impact": None}),
                                         zd.ticket(1005, status="deleted")], "c2", True))
    zd.http.get(zd.EXPORT, match=[matchers.query_param_matcher({"cursor": "c2"}, strict_match=False)],
                json=zd.export_body([zd.ticket(1001, subject="Northwind needs 150 seats"),
                                     zd.ticket(1004, status="deleted")], "c3", True))

    second = zd.sync()
    third = zd.sync()

    calls = zd.export_calls()
    assert [c.get("cursor") for c in calls] == [None, ["c1"], ["c1"], ["c2"]]
    assert "start_time" not in calls[1] and calls[0]["include"] == ["users,organizations"]
    assert second["created"] == 1 and second["needs_info"] == 1 and second["stopped"] is None
    assert third["updated"] == 1 and third["withdrawn"] == 1
    assert zd.watermark() == {"after_cursor": "c3"}
    by_id = {r["external_id"]: r for r in zd.requests()}
    assert set(by_id) == {"1001", "1004"}
    assert by_id["1001"]["title"] == "Northwind needs 150 seats"
    assert by_id["1004"]["state"] == "withdrawn"
    assert zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()["status"] == "connected"


def test_a_long_retry_after_pauses_the_sync_without_retrying_early(connected):
    zd = connected
    zd.http.get(zd.EXPORT, status=429, headers={"Retry-After": "300"},
                json={"error": "APIRateLimitExceeded", "description": "Rate limit for this account exceeded"})

    counts = zd.sync()

    assert len(zd.export_calls()) == 1
    assert counts["created"] == 0 and "300 s" in counts["stopped"]
    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert view["status"] == "paused" and "300 s" in view["status_detail"]
    assert zd.watermark() is None


def test_a_short_retry_after_is_waited_out_before_the_same_page_is_asked_again(connected):
    zd = connected
    seen: list[float] = []
    answers = [(429, {"Retry-After": "1"}, {"error": "APIRateLimitExceeded", "description": "slow down"}),
               (200, {}, zd.export_body([zd.ticket(1001)], "c1", True))]

    def export(request):
        seen.append(time.monotonic())
        status, headers, body = answers.pop(0)
        return status, headers, json.dumps(body)

    zd.http.add_callback(responses.GET, zd.EXPORT, callback=export)

    counts = zd.sync()

    assert counts["created"] == 1 and len(seen) == 2
    assert seen[1] - seen[0] >= 1.0


def test_an_expired_access_token_is_refreshed_once_and_the_rotated_refresh_token_is_the_one_used_next(connected):
    zd = connected
    bearer: list[str] = []
    answers = [401, 200, 401, 200]

    def export(request):
        bearer.append(request.headers["Authorization"])
        status = answers.pop(0)
        if status == 401:
            return 401, {"WWW-Authenticate": 'Bearer realm="Zendesk", error="invalid_token"'}, json.dumps(
                {"error": "invalid_token", "error_description": "The access token provided is expired, revoked, "
                 "malformed or invalid for other reasons."})
        return 200, {}, json.dumps(zd.export_body([zd.ticket(1001)], "c1", True))

    zd.http.add_callback(responses.GET, zd.EXPORT, callback=export)
    refreshes: list[dict] = []
    pairs = [("A2", "R2"), ("A3", "R3")]

    def token(request):
        refreshes.append(json.loads(request.body))
        access, refresh = pairs.pop(0)
        return 200, {}, json.dumps(zd.token_body(access, refresh))

    zd.http.add_callback(responses.POST, zd.TOKENS, callback=token)

    assert zd.sync()["created"] == 1
    assert bearer == ["Bearer A1", "Bearer A2"]
    assert [r["refresh_token"] for r in refreshes] == ["R1"] and refreshes[0]["grant_type"] == "refresh_token"
    assert zd.connection().token["refresh_token"] == "R2"  # stored before it was used

    zd.sync()

    assert bearer == ["Bearer A1", "Bearer A2", "Bearer A2", "Bearer A3"]
    assert [r["refresh_token"] for r in refreshes] == ["R1", "R2"]
    assert zd.connection().token["access_token"] == "A3"


def test_a_refused_refresh_asks_for_authorization_and_loses_nothing(connected):
    zd = connected
    zd.http.get(zd.EXPORT, status=401, json={"error": "invalid_token", "error_description": "expired"})
    zd.http.post(zd.TOKENS, status=400, json={"error": "invalid_grant", "error_description": "The provided "
                                              "authorization grant is invalid, expired, or revoked"})

    counts = zd.sync()

    assert "authorize the connection again" in counts["stopped"]
    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert view["status"] == "needs_authorization" and "nothing is lost" in view["status_detail"]


def test_legacy_api_token_auth_is_checked_once_and_sent_as_basic_auth(zd):
    zd.create(auth="api_token", email="admin@acme.example.com", api_token="legacy-api-token-0001",
              client_id=None, client_secret=None)
    me = zd.http.get(f"{zd.BASE}/api/v2/users/me.json", json={"user": {"id": 360000000001, "role": "admin"}})
    zd.http.get(zd.EXPORT, json=zd.export_body([zd.ticket(1001)], "c1", True))

    r = zd.client.get("/api/v1/connections/zd/authorize", headers=zd.admin)

    assert r.status_code == 200 and r.get_json()["status"] == "connected"
    expected = "Basic " + base64.b64encode(b"admin@acme.example.com/token:legacy-api-token-0001").decode()
    assert me.calls[0].request.headers["Authorization"] == expected
    assert zd.sync()["created"] == 1
    assert zd.http.calls[-1].request.headers["Authorization"] == expected


def test_settings_are_validated_and_a_foreign_base_url_is_refused(zd, app):
    bad = zd.client.post("/api/v1/connections", headers=zd.admin, json={
        "name": "zd-bad", "kind": "zendesk", "settings": {"subdomain": "Acme Corp", "tag": "two words",
                                                          "field_ids": {"shoe_size": 5}, "colour": "red"}})
    assert bad.status_code == 422
    fields = bad.get_json()["details"]["fields"]
    assert {"settings.subdomain", "settings.tag", "settings.colour"} <= set(fields)
    assert any(f.startswith("settings.field_ids") for f in fields)
    no_client = zd.client.post("/api/v1/connections", headers=zd.admin, json={
        "name": "zd-bad", "kind": "zendesk", "settings": {"subdomain": "acme"}})
    assert no_client.status_code == 422 and "settings.client_id" in no_client.get_json()["details"]["fields"]

    foreign = zd.client.post("/api/v1/connections", headers=zd.admin, json={
        "name": "zd-sandbox", "kind": "zendesk", "settings": {**zd.SETTINGS, "base_url": "http://10.0.0.7:8080"}})
    assert foreign.status_code == 422 and foreign.get_json()["code"] == "host_not_allowed"
    assert "CONNECTOR_ALLOWED_INSTANCE_HOSTS" in foreign.get_json()["details"]["fields"]["settings.base_url"][0]
    zd.create("zd-sandbox")  # stored before hosts were checked when set: still refused where it would be used
    with app.app_context():
        conn = db.session.scalar(select(Connection).where(Connection.name == "zd-sandbox"))
        conn.settings = {**conn.settings, "base_url": "http://10.0.0.7:8080"}
        db.session.commit()
    r = zd.client.get("/api/v1/connections/zd-sandbox/authorize", headers=zd.admin)
    assert r.status_code == 409 and "CONNECTOR_ALLOWED_INSTANCE_HOSTS" in r.get_json()["message"]
    assert not zd.http.calls  # no token or code ever goes to a host nobody allowed


def test_live_ticket_fields_validate_mappings_and_preview_fetches_a_ticket(connected):
    zd = connected
    fields = [{"id": 360009000001 + i, "type": t, "title": t.title(), "removable": False}
              for i, t in enumerate(("subject", "description", "status"))]
    fields += [{"id": field_id, "type": "text", "title": name, "removable": True}
               for name, field_id in zd.FIELD_IDS.items()]
    zd.http.get(f"{zd.BASE}/api/v2/ticket_fields.json",
                json={"ticket_fields": fields, "meta": {"has_more": False, "after_cursor": None},
                      "links": {"next": None, "prev": None}})
    mapping = zd.client.get("/api/v1/connections/zd/mapping", headers=zd.admin).get_json()["mapping"]
    mapping["inbound"]["user_base"] = {"from": "custom_fields.999", "type": "integer"}
    mapping["inbound"]["justification"] = "subjekt"

    refused = zd.client.put("/api/v1/connections/zd/mapping", headers=zd.admin, json=mapping)

    assert refused.status_code == 422
    problems = {(p["field"], p["rule"]) for p in refused.get_json()["details"]["problems"]}
    assert ("inbound.user_base", "unknown_source_field") in problems
    assert ("inbound.justification", "unknown_source_field") in problems

    mapping["inbound"]["user_base"] = {"from": f"custom_fields.{zd.FIELD_IDS['user_base']}", "type": "integer"}
    mapping["inbound"]["justification"] = "subject"
    assert zd.client.put("/api/v1/connections/zd/mapping", headers=zd.admin, json=mapping).status_code == 200

    zd.http.get(f"{zd.BASE}/api/v2/tickets/1001.json",
                json={"ticket": zd.ticket(1001), "users": [zd.REQUESTER], "organizations": [zd.ORGANIZATION]})
    preview = zd.client.post("/api/v1/connections/zd/mapping/preview", headers=zd.admin,
                             json={"external_id": "1001"})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["request"]["customer"]["name"] == "Northwind Analytics" and body["intake"]["complete"] is True
    assert zd.requests() == []  # a preview writes nothing
