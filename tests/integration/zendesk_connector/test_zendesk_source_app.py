"""The narrow status endpoint the Zendesk app reads through ZAF secure requests: role ``source_app``, one
connection's tickets only, the ticket fields to fill by id, and the flag form for a ticket not yet seen."""

from __future__ import annotations

import json

from responses import matchers

from adapters.zendesk.app_build import read_zip
from connector.auth import issue_token
from connector.db import db


def app_token(app, connection: str = "zd") -> dict[str, str]:
    with app.app_context():
        secret = issue_token(f"source-app:{connection}", "source_app", actor="test").secret
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def synced(zd, *tickets) -> None:
    zd.http.get(zd.EXPORT, match=[matchers.query_param_matcher({"start_time": "0"}, strict_match=False)],
                json=zd.export_body(list(tickets), "c1", True))
    zd.sync()


def test_a_ticket_needing_information_names_the_fields_to_fill_by_id(app, client, connected):
    zd = connected
    synced(zd, zd.ticket(1001, values={**zd.COMPLETE, "justification": None, "revenue_impact": None}))
    r = client.get("/api/v1/sources/zendesk/zd/tickets/1001/status", headers=app_token(app))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["flagged"] is True and body["state"] == "needs_info" and body["key"].startswith("LEX-")
    filled = {f["name"]: f for f in body["missing"]["fields"]}
    assert "revenue_impact" in filled
    assert filled["revenue_impact"]["field_id"] == zd.FIELD_IDS["revenue_impact"]
    assert filled["revenue_impact"]["type"] == "decimal" and filled["revenue_impact"]["label"] == "Revenue impact"
    assert "revenue_impact" in body["missing"]["summary"]
    assert body["decision"] is None and body["boundaries"] == [] and body["url"].endswith(body["key"])


def test_a_decided_ticket_shows_its_decision_boundaries_and_expiry(app, client, connected, chair):
    zd = connected
    synced(zd, zd.ticket(1002))
    [req] = zd.requests()
    zd.http.put(f"{zd.BASE}/api/v2/tickets/update_many.json", json={"job_status": {"id": "j1", "status": "queued"}})
    decided = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair, json={
        "outcome": "approved", "rationale": "Pilot ahead of the renewal.", "entitlement": zd.entitlement(30)})
    assert decided.status_code == 201, decided.get_json()
    body = client.get("/api/v1/sources/zendesk/zd/tickets/1002/status", headers=app_token(app)).get_json()
    assert body["state"] == "approved" and body["decision"] == {"outcome": "approved",
                                                                "rationale": "Pilot ahead of the renewal."}
    assert body["boundaries"] and body["expires_in_days"] > 0 and body["votes_waiting"] == []
    assert "internal_note" not in str(body) and "customer_summary" not in str(body)


def test_an_unknown_ticket_gets_the_flag_form_with_the_inbound_fields_only(app, client, connected):
    headers = app_token(app)
    body = client.get("/api/v1/sources/zendesk/zd/tickets/99999/status", headers=headers).get_json()
    assert body["flagged"] is False and body["tag"] == "license_exception"
    names = [f["name"] for f in body["form"]]
    assert "category" in names and "justification" in names
    assert "governance_status" not in names and "decision" not in names  # written by the connector
    category = next(f for f in body["form"] if f["name"] == "category")
    assert category["type"] == "tagger" and category["options"][0]["value"].startswith("lec_category_")
    assert client.get("/api/v1/sources/zendesk/zd/flag-form", headers=headers).get_json() == {
        "tag": body["tag"], "form": body["form"]}


def test_a_token_reads_only_its_own_connection_and_only_source_apps_read(app, client, connected, token_for):
    connected.create("other")
    r = client.get("/api/v1/sources/zendesk/other/tickets/1/status", headers=app_token(app, "zd"))
    assert r.status_code == 403 and r.get_json()["code"] == "other_connection"
    assert client.get("/api/v1/sources/zendesk/zd/tickets/1/status",
                      headers=token_for("admin")).status_code == 403
    assert client.get("/api/v1/sources/zendesk/zd/tickets/1/status").status_code == 401
    missing = client.get("/api/v1/sources/zendesk/gone/tickets/1/status", headers=app_token(app, "gone"))
    assert missing.status_code == 404


def test_a_source_app_token_must_be_named_for_its_connection(client, token_for):
    r = client.post("/api/v1/tokens", headers=token_for("admin"), json={"name": "sidebar", "role": "source_app"})
    assert r.status_code == 422 and "source-app:<connection>" in r.get_json()["message"]
    ok = client.post("/api/v1/tokens", headers=token_for("admin"), json={"name": "source-app:zd", "role": "source_app"})
    assert ok.status_code == 201, ok.get_json()


def test_the_cli_writes_the_app_filled_in_for_this_connector(app, connected, tmp_path):
    out = tmp_path / "lec-app.zip"
    result = app.test_cli_runner().invoke(args=["connector", "zendesk", "app", "--out", str(out),
                                                "--connection", "zd"])
    assert result.exit_code == 0, result.output
    assert "--name source-app:zd --role source_app" in result.output
    files = read_zip(out.read_bytes())
    assert json.loads(files["manifest.json"])["domainWhitelist"] == ["connector.test"]
    again = app.test_cli_runner().invoke(args=["connector", "zendesk", "app", "--out", str(out), "--connection", "zd"])
    assert again.exit_code == 2 and "exists" in again.output
