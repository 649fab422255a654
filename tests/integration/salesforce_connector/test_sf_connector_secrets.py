"""Tokens, client secrets, private keys and Outbound Message sessions never reach the database in clear, nor logs."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from integration.salesforce_connector.mock_org import (
    CLIENT_SECRET,
    MockOrg,
    authorize_web,
    create_connection,
    envelope,
    post,
    record_id,
    sf_record,
    sync,
)
from sqlalchemy.engine import make_url

from connector import delivery
from connector.sync import process_events

SESSION_ID = "00D5g000004XyZa!AROAQOutboundMessageSessionIdNeverStored"


def database_text(database_url: str) -> str:
    """Everything the database holds, as text: the SQLite files' bytes, or a pg_dump of the data."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        base = Path(str(url.database))
        return "".join(Path(f"{base}{suffix}").read_bytes().decode("latin-1")
                       for suffix in ("", "-wal", "-shm") if Path(f"{base}{suffix}").exists())
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    url = url.set(drivername="postgresql")
    dump = subprocess.run([pg_dump, "--data-only", url.render_as_string(hide_password=False)], check=True,
                          capture_output=True, text=True, timeout=60)
    assert "COPY public.connections" in dump.stdout
    return dump.stdout


def test_no_secret_in_database_or_logs(client, admin, org: MockOrg, app, database_url, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    create_connection(client, admin)
    create_connection(client, admin, name="sf-jwt", auth="jwt", username="integration@acme.example",
                      private_key=private_pem)
    authorize_web(client, admin)
    org.add(sf_record(1), sf_record(2))
    org.expire_sessions()  # the sync renews the session: a second access token to keep out of sight
    assert sync(client, admin)["created"] == 2
    assert post(client, envelope([record_id(1)], ["04l5g0000001SSSAA0"], session_id=SESSION_ID)).status_code == 200
    org.revoke_refresh_tokens()
    with app.app_context():
        process_events()  # fails with invalid_grant: the error path logs too
    authorize_web(client, admin)
    with app.app_context():
        process_events()
        assert delivery.drain()["delivered"] == 2

    secrets = [CLIENT_SECRET, SESSION_ID, *org.issued]
    key_body = "".join(private_pem.splitlines()[1:3])
    assert len(org.issued) >= 5  # 3 authorizations' access + refresh tokens, and a refreshed access token
    stored = database_text(database_url)
    for secret in [*secrets, key_body]:
        assert secret not in stored
    assert "sf-jwt" in stored and record_id(1) in stored  # the dump is real: names and records are there
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in [*secrets, key_body]:
        assert secret not in logged
