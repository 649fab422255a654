"""The application shell: extension mounting, OpenAPI, health, policy API and CLI, migrations."""

from __future__ import annotations

import hashlib
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import create_engine, select, text
from support.database import app_config, fresh_database

from connector import LicenseExceptionConnector, create_app
from connector.db import db
from connector.governance.policy import default_policy_text
from connector.models import ApiToken, AuditEvent


def test_health_and_openapi(client):
    assert client.get("/api/v1/health").get_json() == {"status": "ok", "database": "ok"}
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/requests", "/api/v1/requests/{ref}/decision", "/api/v1/policy",
                 "/api/v1/metrics/governance", "/api/v1/reports/summary"):
        assert path in spec["paths"], path
    assert client.get("/api/v1/docs").status_code == 200


def test_api_docs_load_swagger_ui_from_the_app_itself(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/api/v1/docs/assets/") for a in assets), assets
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200 and len(r.data) > 1000, asset
    assert "http://" not in page and "https://" not in page


def test_unknown_api_route_is_json_404(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"


def test_extension_mounts_in_a_bare_host_app_under_a_prefix(database_url, token_for_host=None):
    host = Flask("host")

    @host.route("/")
    def home() -> str:
        return "host home"

    host.config.update(app_config(database_url, CONNECTOR_URL_PREFIX="/governance"))
    ext = LicenseExceptionConnector()
    ext.init_app(host)
    assert "license_exception_connector" in host.extensions
    assert not hasattr(ext, "app")
    client = host.test_client()
    assert client.get("/").get_data(as_text=True) == "host home"
    assert client.get("/governance/api/v1/health").get_json()["status"] == "ok"
    assert client.get("/api/v1/health").status_code == 404
    assert "/governance/api/v1/requests" in client.get("/governance/api/v1/openapi.json").get_json()["paths"]
    from connector.auth import create_token

    with host.app_context():
        token = create_token("mounted", "intake")
        db.session.commit()
    r = client.post("/governance/api/v1/requests", json={"title": "via host"},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201 and r.get_json()["url"].endswith(f"/governance/requests/{r.get_json()['key']}")


def test_policy_api_validates_versions_and_audits(app, client, token_for):
    admin = token_for("admin")
    current = client.get("/api/v1/policy", headers=admin).get_json()
    assert current["version"] == 1 and current["policy"]["committee"]["chair"] == "licensing"
    bad = default_policy_text().replace("chair: licensing", "chair: marketing").replace(
        "max_duration_days: 730", "max_duration_days: -1")
    r = client.put("/api/v1/policy", data=bad, content_type="application/yaml", headers=admin)
    assert r.status_code == 422
    assert {"committee.chair", "exceptions.max_duration_days"} <= set(r.get_json()["details"]["fields"])
    changed = default_policy_text().replace("max_duration_days: 730", "max_duration_days: 400")
    r = client.put("/api/v1/policy", data=changed, content_type="application/yaml", headers=admin)
    assert r.status_code == 200 and r.get_json()["version"] == 2
    assert client.get("/api/v1/policy", headers=admin).get_json()["policy"]["exceptions"]["max_duration_days"] == 400
    r = client.put("/api/v1/policy", json={"document": "templates: ["}, headers=admin)
    assert r.status_code == 422
    assert client.put("/api/v1/policy", data=changed, content_type="application/yaml",
                      headers=token_for("reviewer", "licensing")).status_code == 403
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("policy.changed") == 2


def test_policy_template_errors_are_refused(client, token_for):
    broken = default_policy_text().replace("{{ request.title }}", "{{ request.title ")
    r = client.put("/api/v1/policy", data=broken, content_type="application/yaml", headers=token_for("admin"))
    assert r.status_code == 422
    assert "templates.customer_summary" in r.get_json()["details"]["fields"]


def test_cli_init_tokens_and_policy(app, tmp_path):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["connector", "init"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(args=["connector", "init"]).exit_code == 0
    r = runner.invoke(args=["connector", "tokens", "create", "--name", "chair", "--role", "reviewer",
                            "--committee-role", "licensing", "--committee-role", "legal"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("lec_")
    with app.app_context():
        hashes = db.session.scalars(select(ApiToken.token_hash)).all()
        assert hashlib.sha256(token.encode()).hexdigest() in hashes
        assert all(token not in str(e.data) for e in db.session.scalars(select(AuditEvent)))
    assert app.test_client().get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    bad_role = runner.invoke(args=["connector", "tokens", "create", "--name", "x", "--role", "intake",
                                   "--committee-role", "legal"])
    assert bad_role.exit_code != 0
    shown = runner.invoke(args=["connector", "policy", "show"])
    assert "committee:" in shown.output
    good = tmp_path / "policy.yaml"
    good.write_text(default_policy_text().replace("reminder_fraction: 0.5", "reminder_fraction: 0.6"))
    assert runner.invoke(args=["connector", "policy", "validate", str(good)]).exit_code == 0
    assert "version 2" in runner.invoke(args=["connector", "policy", "set", str(good)]).output
    bad = tmp_path / "bad.yaml"
    bad.write_text(default_policy_text().replace("reminder_fraction: 0.5", "reminder_fraction: 7"))
    result = runner.invoke(args=["connector", "policy", "set", str(bad)])
    assert result.exit_code == 1 and "sla.reminder_fraction" in result.output


def test_migrations_from_zero_have_no_drift(db_template, tmp_path):
    from flask_migrate import upgrade

    url = fresh_database(db_template, tmp_path, migrated=False)
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(directory=app.extensions["license_exception_connector"]["migrations"])
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diff == []
        db.engine.dispose()


def test_audit_table_refuses_update_and_delete(app):
    with app.app_context():
        engine = create_engine(app.config["CONNECTOR_DATABASE_URL"])
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() >= 1
        for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        engine.dispose()
