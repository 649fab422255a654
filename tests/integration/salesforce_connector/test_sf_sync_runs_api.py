"""Syncs through the API: queue one for a worker (202 + Location), follow it, list a connection's syncs."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from integration.salesforce_connector.mock_org import MockOrg, create_connection, sf_record
from integration.salesforce_connector.mock_org import sync as api_sync

from connector import connections, sync


def test_queue_a_sync_follow_it_and_list_the_runs(app: Flask, client: FlaskClient, admin, org: MockOrg,
                                                   connected) -> None:
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 6)))
    r = client.post("/api/v1/connections/sf/syncs", headers=admin)
    assert r.status_code == 202, r.get_json()
    queued = r.get_json()
    assert (queued["state"], queued["queued"], queued["trigger"], queued["requested_by"]) == (
        "queued", True, "api", "sf-admin")
    assert (queued["percent"], queued["examined"], queued["total"], queued["live"]) == (None, 0, None, True)
    location = r.headers["Location"]
    assert location.endswith(f"/api/v1/connections/sf/syncs/{queued['id']}")

    again = client.post("/api/v1/connections/sf/syncs", headers=admin).get_json()
    assert (again["id"], again["queued"]) == (queued["id"], False)  # one sync at a time

    with app.app_context():  # the worker's lane for the connection (its schedule would sync it first, being due)
        assert sync.run_requested(connections.find("sf").id) == 1
    done = client.get(location, headers=admin).get_json()
    assert (done["state"], done["live"], done["examined"], done["total"], done["percent"]) == (
        "completed", False, 5, 5, 100.0)
    assert done["counts"]["created"] == 5 and done["counts"]["pages"] == 3 and "carried" not in done["counts"]
    assert done["started_at"] and done["finished_at"] and done["attempts"] == 1

    api_sync(client, admin)  # the synchronous call is recorded too
    first = client.get("/api/v1/connections/sf/syncs?limit=1", headers=admin).get_json()
    assert [run["trigger"] for run in first["items"]] == ["api"] and first["items"][0]["id"] > queued["id"]
    rest = client.get(f"/api/v1/connections/sf/syncs?limit=1&after={first['next']}", headers=admin).get_json()
    assert [run["id"] for run in rest["items"]] == [queued["id"]] and rest["next"] is None


def test_refusals_say_what_to_do(client: FlaskClient, admin, connected) -> None:
    create_connection(client, admin, name="later")
    r = client.post("/api/v1/connections/later/syncs", headers=admin)
    assert r.status_code == 409 and r.get_json()["code"] == "not_authorized"
    assert "needs authorization" in r.get_json()["message"]
    assert client.get("/api/v1/connections/sf/syncs/999", headers=admin).status_code == 404
    assert client.get("/api/v1/connections/nope/syncs", headers=admin).status_code == 404
    assert client.get("/api/v1/connections/sf/syncs?limit=0", headers=admin).status_code == 422
