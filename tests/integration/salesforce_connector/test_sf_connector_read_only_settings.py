"""Settings that authorization and sync record (org id, instance URL, API usage) are read-only to admins.

The org id is what inbound Outbound Messages are checked against: an admin (or a stolen admin token) that could
change it could make the connector accept another org's pushes.
"""

from __future__ import annotations

import pytest
from click.testing import Result
from integration.salesforce_connector.mock_org import (
    CLIENT_ID,
    INSTANCE,
    ORG_ID,
    MockOrg,
    connection,
    envelope,
    post,
    record_id,
    sf_record,
    sync,
)
from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, Connection, InboundEvent

FOREIGN_ORG = "00D5g000009OtHeRAA"


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize(("setting", "value"), [
    ("org_id", FOREIGN_ORG),
    ("instance_url", "https://evil.example"),
    ("api_usage_share", 0.0),
])
def test_patch_of_a_setting_authorization_or_sync_owns_is_refused(client, admin, org: MockOrg, connected, app,
                                                                   setting: str, value: object) -> None:
    org.add(sf_record(1))
    sync(client, admin)  # sync records api_usage_share
    before = connection(client, admin)
    actions = audit_actions(app)

    r = client.patch("/api/v1/connections/sf", headers=admin,
                     json={"settings": {setting: value, "object": "Opportunity"}})

    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "read_only_setting" and setting in body["message"]
    assert list(body["details"]["fields"]) == [f"settings.{setting}"]
    assert connection(client, admin)["settings"] == before["settings"]  # nothing changed, not even `object`
    assert audit_actions(app) == actions


def test_a_refused_org_id_change_keeps_foreign_outbound_messages_out(client, admin, org: MockOrg, connected,
                                                                      app) -> None:
    r = client.patch("/api/v1/connections/sf", headers=admin, json={"settings": {"org_id": FOREIGN_ORG}})
    assert r.status_code == 422
    assert connection(client, admin)["settings"]["org_id"] == ORG_ID

    pushed = post(client, envelope([record_id(1)], ["04l5g0000001CCCAA0"], org_id=FOREIGN_ORG))

    assert pushed.status_code == 403 and pushed.get_json()["code"] == "org_mismatch"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 0


def test_create_with_authorization_owned_settings_is_refused(client, admin, org: MockOrg) -> None:
    r = client.post("/api/v1/connections", headers=admin, json={"name": "sf", "kind": "salesforce", "settings": {
        "client_id": CLIENT_ID, "client_secret": "s", "org_id": ORG_ID, "instance_url": INSTANCE}})

    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "read_only_setting"
    assert set(body["details"]["fields"]) == {"settings.org_id", "settings.instance_url"}
    assert "org_id" in body["message"] and "instance_url" in body["message"]
    assert client.get("/api/v1/connections/sf", headers=admin).status_code == 404


def test_cli_add_refuses_authorization_owned_settings(app) -> None:
    result: Result = app.test_cli_runner().invoke(args=[
        "connector", "connections", "add", "salesforce", "sf-cli", "--set", f"client_id={CLIENT_ID}",
        "--set", f"org_id={FOREIGN_ORG}"])

    assert result.exit_code == 1, result.output
    assert "org_id" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Connection)) == 0


def test_authorization_and_sync_still_record_them(client, admin, org: MockOrg, connected) -> None:
    org.add(sf_record(1))
    sync(client, admin)
    settings = connection(client, admin)["settings"]
    assert settings["org_id"] == ORG_ID and settings["instance_url"] == INSTANCE
    assert settings["api_usage_share"] > 0
    # an admin change of an ordinary setting keeps what authorization recorded
    r = client.patch("/api/v1/connections/sf", headers=admin, json={"settings": {"daily_limit_share": 0.5}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["settings"]["org_id"] == ORG_ID and r.get_json()["settings"]["daily_limit_share"] == 0.5


def test_the_read_only_settings_are_exactly_those_the_connector_records() -> None:
    from connector.sources import get_kind

    assert set(get_kind("salesforce").managed_settings()) == {"org_id", "instance_url", "api_usage_share", "push_url",
                                                               "integration_user"}
