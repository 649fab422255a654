"""Provisioning installs the ticket sidebar app through the Apps API: the first run uploads, builds and installs it
with the connector's URL and a fresh ``source_app`` token in its secure setting; the next run updates the same app
and installation and rotates the token (the old one stops working, the new one reads). The token is never in the
answer, the audit, the settings or the database in clear; Zendesk's refusal of the upload is told in its words."""

from __future__ import annotations

import json
import logging

from integration.zendesk_connector.mock_account import Account
from sqlalchemy import select

from connector.db import db
from connector.models import ApiToken, AuditEvent, Principal

STATUS = "/api/v1/sources/zendesk/zd/tickets/4242/status"


def provisioned(zd):
    zd.create(field_ids=None, webhook_secret=None)
    zd.authorize()
    return Account(zd.http)


def audit_text(app) -> str:
    with app.app_context():
        return json.dumps([e.data for e in db.session.scalars(select(AuditEvent))], default=str)


def test_the_first_run_installs_the_app_and_the_next_updates_it_and_rotates_the_token(zd, app, caplog):
    caplog.set_level(logging.DEBUG)
    account = provisioned(zd)

    first = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert first.status_code == 200, first.get_json()
    report = first.get_json()
    apps = account.apps
    assert [what for what, _ in apps.calls] == ["upload", "create", "install"]
    [(_, created)] = [c for c in apps.calls if c[0] == "create"]
    assert created["name"] == "License Exception Connector (zd)" and created["upload_id"] == apps.calls[0][1]["id"]
    manifest = json.loads(apps.uploads[created["upload_id"]]["manifest.json"])
    assert manifest["domainWhitelist"] == ["connector.test"]  # secure settings go to the connector's host only
    [(_, install)] = [c for c in apps.calls if c[0] == "install"]
    app_id, [installation_id] = report["app"]["id"], list(apps.installations)
    assert install["app_id"] == app_id and [j["polls"] for j in apps.jobs.values()] == [2]  # polled while working
    token = install["settings"]["token"]
    assert install["settings"] == {"name": "License Exception Connector", "connector_url": "http://connector.test",
                                   "connection": "zd", "token": token} and token.startswith("lec_")
    assert report["app"] == {"id": app_id, "name": "License Exception Connector (zd)", "action": "created",
                             "upload_id": created["upload_id"]}
    assert report["installation"]["id"] == installation_id and report["installation"]["action"] == "created"
    assert report["app_token"]["principal"] == "source-app:zd" and report["app_token"]["action"] == "issued"
    assert report["settings"]["app_id"] == app_id and report["settings"]["app_installation_id"] == installation_id
    assert token not in first.get_data(as_text=True) and token not in audit_text(app)
    reads = zd.client.get(STATUS, headers={"Authorization": f"Bearer {token}"})
    assert reads.status_code == 200 and reads.get_json()["flagged"] is False

    again = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert again.status_code == 200, again.get_json()
    second = again.get_json()
    assert [what for what, _ in apps.calls[3:]] == ["upload", "update", "update_installation"]
    update, reinstall = apps.calls[4][1], apps.calls[5][1]
    assert update["app_id"] == app_id and update["upload_id"] == apps.calls[3][1]["id"]
    assert reinstall["id"] == installation_id and reinstall["enabled"] is True
    rotated = reinstall["settings"]["token"]
    assert rotated != token and len(apps.apps) == 1 and len(apps.installations) == 1
    assert second["app"]["action"] == "updated" and second["installation"]["action"] == "updated"
    assert second["app_token"]["action"] == "rotated" and second["app_token"]["replaced"] == 1
    assert zd.client.get(STATUS, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert zd.client.get(STATUS, headers={"Authorization": f"Bearer {rotated}"}).status_code == 200
    assert rotated not in audit_text(app) and rotated not in zd.database_text() and token not in zd.database_text()
    assert token not in caplog.text and rotated not in caplog.text  # nothing logged it, at any level


def test_an_app_deleted_in_zendesk_is_created_and_installed_again(zd):
    account = provisioned(zd)
    assert zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin).status_code == 200
    account.apps.apps.clear()
    account.apps.installations.clear()

    again = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert again.status_code == 200, again.get_json()
    assert [what for what, _ in account.apps.calls[3:]] == ["upload", "create", "install"]
    assert again.get_json()["settings"]["app_id"] == next(iter(account.apps.apps))


def test_a_refused_upload_is_told_in_zendesks_words_and_the_installed_token_keeps_working(zd, app):
    account = provisioned(zd)
    assert zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin).status_code == 200
    token = account.apps.calls[2][1]["settings"]["token"]
    account.apps.refuse = "Invalid manifest: location support.ticket_sidebar has no url"

    refused = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "provisioning_failed"
    assert "Zendesk refused the app" in body["message"]
    assert "location support.ticket_sidebar has no url" in body["message"]
    assert body["details"]["problems"] == ["Invalid manifest: location support.ticket_sidebar has no url"]
    assert [what for what, _ in account.apps.calls[3:]] == ["upload", "update"]  # never reinstalled
    assert zd.client.get(STATUS, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with app.app_context():
        principal = db.session.scalar(select(Principal).where(Principal.name == "source-app:zd"))
        assert principal is not None
        assert len(db.session.scalars(select(ApiToken).where(ApiToken.principal_id == principal.id)).all()) == 1


def test_a_first_run_refused_issues_no_token(zd, app):
    account = provisioned(zd)
    account.apps.refuse = "The upload is not a zip file"

    refused = zd.client.post("/api/v1/connections/zd/provision", headers=zd.admin)

    assert refused.status_code == 409 and "The upload is not a zip file" in refused.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(Principal).where(Principal.name == "source-app:zd")) is None
    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert "app_id" not in view["settings"]
