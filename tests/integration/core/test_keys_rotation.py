"""Secrets at rest: encrypted with the first key, readable with any listed key, re-encrypted by `keys rotate`."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from support.database import app_config

from connector import create_app
from connector.db import db
from connector.models import Connection


def test_rotation_moves_every_secret_to_the_newest_key(app, client, token_for, database_url):
    admin = token_for("admin")
    r = client.post("/api/v1/connections", headers=admin, json={"name": "sf", "kind": "salesforce", "settings": {
        "client_id": "3MVG9x", "client_secret": "rotate-me-please", "login_url": "https://login.salesforce.com"}})
    assert r.status_code == 201
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secrets FROM connections")).scalar()
    assert "rotate-me-please" not in stored
    old_key = app.config["CONNECTOR_ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    rotated = create_app(app_config(database_url, CONNECTOR_ENCRYPTION_KEYS=f"{new_key},{old_key}"))
    result = rotated.test_cli_runner().invoke(args=["connector", "keys", "rotate"])
    assert result.exit_code == 0 and "re-encrypted 1 value" in result.output
    only_new = create_app(app_config(database_url, CONNECTOR_ENCRYPTION_KEYS=new_key))
    with only_new.app_context():
        conn = db.session.query(Connection).one()
        assert conn.secrets == {"client_secret": "rotate-me-please"}
        db.session.remove()
        db.engine.dispose()
    with rotated.app_context():
        db.engine.dispose()
    engine.dispose()
    if database_url.startswith("sqlite"):
        raw = open(database_url.removeprefix("sqlite:///"), "rb").read()  # noqa: SIM115
        assert b"rotate-me-please" not in raw
