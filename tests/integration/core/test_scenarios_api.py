"""Change-impact scenarios over the API and the CLI: exactly the exceptions a change touches, kept and audited,
listed on the requests they touch, and a suggestion's amendment through the usual approval path."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from support.estate import COMMITTEE, create, decide, request_body

from connector.db import db
from connector.models import AuditEvent, Scenario

#: within the life of the exceptions granted (180 days): they must change before it
EFFECTIVE = (date.today() + timedelta(days=30)).isoformat()
SSO = {"name": "SSO removed in 5.0", "kind": "feature_removed", "feature": "sso", "version": "5.0",
       "effective": EFFECTIVE}
APAC = {"name": "APAC withdrawn", "kind": "region_withdrawn", "region": "APAC", "effective": EFFECTIVE}


@pytest.fixture
def board(token_for):
    return token_for("reviewer", *COMMITTEE, name="board")


@pytest.fixture
def estate(client, token_for, board):
    """Active exceptions granting (or not) sso and APAC, open and closed requests asking for them."""
    intake = token_for("intake")

    def make(name, requested, outcome=None, grants=None):
        req = create(client, intake, request_body(title=name, requested_terms=requested))
        if outcome is not None:
            req = decide(client, board, req, outcome, grants)
        return req["key"]

    keys = {
        "sso_emea": make("sso emea", {"features": ["sso"]}, "approved", {"features": ["sso", "audit_log"],
                                                                         "regions": ["EMEA"]}),
        "api_apac": make("api apac", {"regions": ["APAC"]}, "approved", {"features": ["api_access"],
                                                                         "regions": ["APAC"]}),
        "sso_apac_na": make("SSO apac na", {"features": ["SSO"]}, "approved", {"features": ["SSO"],
                                                                              "regions": ["APAC", "NA"]}),
        "asked_sso_granted_less": make("asked sso", {"features": ["sso"]}, "approved",
                                       {"features": ["audit_log"]}),
        "open_sso": make("open sso", {"features": ["sso"], "regions": ["APAC"]}),
        "denied_sso": make("denied sso", {"features": ["sso"], "regions": ["APAC"]}, "denied"),
        "plain": make("plain", {"seats": 110}, "approved", {"seats": 110}),
    }
    return keys


def touched(answer):
    return {i["key"]: i for i in answer["items"]}


def test_feature_removed_finds_exactly_the_active_exceptions_granting_it(client, board, estate):
    r = client.post("/api/v1/scenarios/run", json=SSO, headers=board)
    assert r.status_code == 200, r.get_json()
    found = touched(r.get_json())
    active = {k for k, i in found.items() if i["state"] == "approved"}
    assert active == {estate["sso_emea"], estate["sso_apac_na"]}
    assert {k for k, i in found.items() if i["state"] != "approved"} == {estate["open_sso"]}
    item = found[estate["sso_emea"]]
    assert item["hits"] == ["granted features"] and item["suggestion"] == "amend"
    assert item["why"] == f"feature sso is removed on {EFFECTIVE}"
    assert item["grants"]["features"] == ["sso", "audit_log"]
    assert found[estate["open_sso"]]["suggestion"] == "notify"
    assert found[estate["open_sso"]]["hits"] == ["requested features"]
    with client.application.app_context():
        assert db.session.query(Scenario).count() == 0  # run keeps nothing


def test_region_withdrawn_finds_exactly_the_active_exceptions_with_it(client, board, estate):
    found = touched(client.post("/api/v1/scenarios/run", json=APAC, headers=board).get_json())
    active = {k for k, i in found.items() if i["state"] == "approved"}
    assert active == {estate["api_apac"], estate["sso_apac_na"]}
    assert found[estate["api_apac"]]["suggestion"] == "revoke"  # APAC was its only region
    assert found[estate["sso_apac_na"]]["suggestion"] == "amend"
    assert set(found) - active == {estate["open_sso"]}


def test_a_kept_scenario_is_audited_rerun_and_listed_on_the_requests_it_touches(client, board, token_for, estate):
    r = client.post("/api/v1/scenarios", data="name: APAC withdrawn\nkind: region_withdrawn\nregion: APAC\n"
                    f"effective: {EFFECTIVE}\n", headers={**board, "Content-Type": "application/yaml"})
    assert r.status_code == 201, r.get_json()
    kept = r.get_json()
    assert kept["last_result"]["touched"] == 3 and kept["document"]["effective"] == EFFECTIVE
    sso = client.post("/api/v1/scenarios", json=SSO, headers=token_for("admin")).get_json()
    with client.application.app_context():
        event = db.session.query(AuditEvent).filter_by(action="scenario.saved",
                                                       subject=f"scenario:{kept['id']}").one()
        assert event.actor == "board" and event.data["touched"] == 3
    listing = client.get("/api/v1/scenarios", headers=token_for("auditor")).get_json()
    assert [s["id"] for s in listing["items"]] == [sso["id"], kept["id"]]
    both = client.get(f"/api/v1/requests/{estate['sso_apac_na']}/scenarios", headers=token_for("intake")).get_json()
    assert {(t["name"], t["suggestion"]) for t in both["items"]} == {("SSO removed in 5.0", "amend"),
                                                                      ("APAC withdrawn", "amend")}
    none = client.get(f"/api/v1/requests/{estate['plain']}/scenarios", headers=board).get_json()
    assert none["items"] == []
    again = client.get(f"/api/v1/scenarios/{kept['id']}", headers=board).get_json()
    assert {i["key"] for i in again["impacts"]} == set(kept["last_result"]["keys"])


def test_an_amendment_from_a_suggestion_goes_through_the_usual_approval_path(client, board, token_for, estate):
    kept = client.post("/api/v1/scenarios", json=SSO, headers=board).get_json()
    key = estate["sso_emea"]
    r = client.get(f"/api/v1/scenarios/{kept['id']}/suggestions/{key}", headers=board)
    assert r.status_code == 200, r.get_json()
    proposal = r.get_json()
    assert proposal["action"] == "amend" and proposal["path"] == f"requests/{key}/amend"
    assert proposal["body"]["entitlement"]["grants"] == {"features": ["audit_log"], "regions": ["EMEA"]}
    assert "SSO removed in 5.0" in proposal["body"]["rationale"]
    legal = token_for("reviewer", "legal")
    refused = client.post(f"/api/v1/{proposal['path']}", json=proposal["body"], headers=legal)
    assert refused.status_code == 403 and refused.get_json()["code"] == "chair_only"
    done = client.post(f"/api/v1/{proposal['path']}", json=proposal["body"], headers=board)
    assert done.status_code == 201, done.get_json()
    view = done.get_json()
    assert view["entitlement"]["version"] == 2 and view["entitlement"]["change"] == "amended"
    assert view["entitlement"]["grants"]["features"] == ["audit_log"]
    history = client.get(f"/api/v1/requests/{key}/history", headers=board).get_json()["items"]
    assert history[-1]["action"] == "entitlement.amended" and history[-1]["actor"] == "board"
    rerun = client.get(f"/api/v1/scenarios/{kept['id']}", headers=board).get_json()
    assert key not in {i["key"] for i in rerun["impacts"]}


def test_a_revocation_and_no_change_suggestions(client, board, estate):
    kept = client.post("/api/v1/scenarios", json=APAC, headers=board).get_json()
    revoke = client.get(f"/api/v1/scenarios/{kept['id']}/suggestions/{estate['api_apac']}", headers=board).get_json()
    assert revoke["action"] == "revoke" and revoke["body"]["effective"] == EFFECTIVE
    r = client.post(f"/api/v1/{revoke['path']}", json=revoke["body"], headers=board)
    assert r.status_code == 201 and r.get_json()["entitlement"]["revoke_effective"] == EFFECTIVE
    notify = client.get(f"/api/v1/scenarios/{kept['id']}/suggestions/{estate['open_sso']}", headers=board)
    assert notify.status_code == 409 and notify.get_json()["code"] == "no_suggested_change"
    assert client.get(f"/api/v1/scenarios/{kept['id']}/suggestions/LEX-999999", headers=board).status_code == 404
    assert client.get("/api/v1/scenarios/4242", headers=board).status_code == 404


@pytest.mark.parametrize(("body", "fields"), [
    ({"name": "x", "kind": "feature_renamed", "feature": "sso", "effective": "2027-01-01"}, {"renamed_to"}),
    ({"name": "x", "kind": "meteor", "effective": "soon"}, {"kind", "effective"}),
    ({"kind": "region_withdrawn", "region": "APAC", "effective": "2027-01-01", "colour": "red"}, {"name", "colour"}),
    ([1, 2], {"(body)"}),
])
def test_a_bad_scenario_is_refused_naming_each_field(client, board, body, fields):
    r = client.post("/api/v1/scenarios", json=body, headers=board)
    assert r.status_code == 422, r.get_json()
    assert set(r.get_json()["details"]["fields"]) == fields


def test_bad_yaml_and_roles(client, board, token_for):
    r = client.post("/api/v1/scenarios/run", data="name: [unclosed", headers={**board,
                                                                             "Content-Type": "application/yaml"})
    assert r.status_code == 422 and r.get_json()["code"] == "scenario_not_yaml"
    assert client.post("/api/v1/scenarios", json=SSO, headers=token_for("intake")).status_code == 403
    assert client.post("/api/v1/scenarios", json=SSO, headers=token_for("auditor")).status_code == 403
    assert client.get("/api/v1/scenarios", headers=token_for("billing")).status_code == 403


def test_cli_runs_a_scenario_file_as_a_table_or_json_and_keeps_it(app, estate, tmp_path):
    path = tmp_path / "sso.yaml"
    path.write_text("name: SSO removed in 5.0\nkind: feature_removed\nfeature: sso\nversion: 5.0\n"
                    f"effective: {EFFECTIVE}\n")
    runner = app.test_cli_runner()
    table = runner.invoke(args=["connector", "scenarios", "run", str(path)])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == "SSO removed in 5.0: touches 3 — 2 active exception(s), 1 open request(s)"
    assert lines[1].split() == ["KEY", "STATE", "SUGGESTED", "HITS", "WHY"]
    assert any(line.startswith(estate["sso_emea"]) and "amend" in line for line in lines[2:])
    as_json = runner.invoke(args=["connector", "scenarios", "run", str(path), "--json"])
    assert json.loads(as_json.output)["scenario"]["version"] == "5.0"
    saved = runner.invoke(args=["connector", "scenarios", "run", str(path), "--save", "--actor", "ops"])
    assert saved.exit_code == 0 and "(kept as scenario 1)" in saved.output
    with app.app_context():
        assert db.session.query(Scenario).one().created_by == "ops"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkind: region_withdrawn\neffective: 2099-01-01\n")
    refused = runner.invoke(args=["connector", "scenarios", "run", str(bad)])
    assert refused.exit_code == 1 and "region: Required for a region_withdrawn scenario." in refused.output
