"""Settings provisioning records (the webhook's, triggers' and app's ids) are read-only to admins, through API and CLI;
``field_ids`` stays the admin's to set (a field made by hand), and provisioning keeps filling all of them."""

from __future__ import annotations

from integration.zendesk_connector.mock_account import Account
from sqlalchemy import func, select

from connector.db import db
from connector.models import Connection


def test_create_with_provisioning_owned_ids_is_refused(zd, app) -> None:
    r = zd.client.post("/api/v1/connections", headers=zd.admin, json={"name": "zd", "kind": "zendesk", "settings": {
        **zd.SETTINGS, "webhook_id": "01HQ8ZK2V3XW9Y7R4M5N6P7Q8R", "trigger_ids": [360000600001]}})

    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "read_only_setting"
    assert set(body["details"]["fields"]) == {"settings.webhook_id", "settings.trigger_ids"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Connection)) == 0


def test_provisioned_ids_cannot_be_patched_and_field_ids_can(zd) -> None:
    zd.create(field_ids=None, webhook_secret=None)
    zd.authorize()
    Account(zd.http)
    assert zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin).status_code == 200
    before = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()["settings"]
    assert before["webhook_id"] == "01HQ8ZK2V3XW9Y7R4M5N6P7Q8R" and before["trigger_ids"]

    assert before["app_id"] and before["app_installation_id"]
    for change in ({"webhook_id": "01HQATTACKERS0WEBHOOK0000"}, {"trigger_ids": []}, {"app_installation_id": 1}):
        r = zd.client.patch("/api/v1/connections/zd", headers=zd.admin, json={"settings": {**change, "tag": "x"}})
        assert r.status_code == 422, r.get_json()
        assert list(r.get_json()["details"]["fields"]) == [f"settings.{next(iter(change))}"]
    assert zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()["settings"] == before

    ids = {**before["field_ids"], "requested_seats": 360099000001}
    r = zd.client.patch("/api/v1/connections/zd", headers=zd.admin, json={"settings": {"field_ids": ids}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["settings"]["field_ids"]["requested_seats"] == 360099000001


def test_cli_add_refuses_provisioning_owned_ids(app) -> None:
    result = app.test_cli_runner().invoke(args=[
        "connector", "connections", "add", "zendesk", "zd-cli", "--set", "subdomain=acme",
        "--set", "client_id=lec-connector", "--set", "webhook_id=01HQATTACKERS0WEBHOOK0000"])

    assert result.exit_code == 1, result.output
    assert "webhook_id" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Connection)) == 0


def test_the_read_only_settings_are_exactly_those_provisioning_records() -> None:
    from connector.sources import get_kind

    assert set(get_kind("zendesk").managed_settings()) == {"webhook_id", "trigger_ids", "app_id",
                                                           "app_installation_id"}  # not field_ids
