"""The CLI says what went wrong in one line a person can act on and exits non-zero: never a traceback."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select

from connector import worker
from connector.config import reconfigure
from connector.db import db
from connector.models import Connection

SF = ["--set", "client_id=3MVG9example", "--set", "login_url=https://login.salesforce.com"]


def run(app, *args):
    return app.test_cli_runner().invoke(args=["connector", *args])


def no_traceback(result):
    assert "Traceback" not in result.output and not isinstance(result.exception, (ValueError, KeyError))


def test_text_settings_keep_their_value_as_typed(app):
    result = run(app, "connections", "add", "salesforce", "sf", *SF, "--set", "client_secret=1234567890",
                 "--set", "api_version=62.0", "--set", "daily_limit_share=0.5")
    assert result.exit_code == 0, result.output
    with app.app_context():
        conn = db.session.scalar(select(Connection).where(Connection.name == "sf"))
        assert conn is not None
        assert conn.settings["api_version"] == "62.0" and conn.settings["daily_limit_share"] == 0.5
        assert conn.secrets == {"client_secret": "1234567890"}


def test_a_domain_refusal_is_one_error_line_and_exit_1(app):
    assert run(app, "connections", "add", "salesforce", "sf", *SF, "--set", "client_secret=s").exit_code == 0
    result = run(app, "connections", "provision", "sf")
    assert result.exit_code == 1 and result.output.startswith("error: ")
    no_traceback(result)


def test_sync_all_skips_connections_awaiting_authorization(app):
    run(app, "connections", "add", "salesforce", "sf", *SF, "--set", "client_secret=s")
    result = run(app, "sync", "--all")
    assert result.exit_code == 0, result.output
    assert "nothing to sync" in result.output


def test_worker_once_exits_1_when_a_periodic_job_fails(app, monkeypatch):
    def broken() -> None:
        raise RuntimeError("the job broke")

    monkeypatch.setattr(worker, "periodic_jobs", lambda: {"sync": broken})
    result = run(app, "worker", "--once")
    assert result.exit_code == 1 and "periodic job(s) failed: sync" in result.output


def test_unreadable_files_and_wrong_keys_are_one_error_line(app, tmp_path):
    binary = tmp_path / "policy.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    result = run(app, "policy", "validate", str(binary))
    assert result.exit_code == 1 and "error:" in result.output
    no_traceback(result)
    run(app, "connections", "add", "salesforce", "sf", *SF, "--set", "client_secret=s")
    reconfigure(app, CONNECTOR_ENCRYPTION_KEYS=Fernet.generate_key().decode())  # the old key left out
    result = run(app, "keys", "rotate")
    assert result.exit_code == 1 and "cannot be decrypted with CONNECTOR_ENCRYPTION_KEYS" in result.output


def test_mapping_validate_says_when_the_live_source_was_not_checked(app, tmp_path):
    run(app, "connections", "add", "salesforce", "sf", *SF, "--set", "client_secret=s")
    shown = run(app, "mapping", "show", "sf")
    assert shown.exit_code == 0, shown.output
    document = tmp_path / "mapping.yaml"
    document.write_text(shown.output)
    result = run(app, "mapping", "validate", "sf", str(document))
    assert result.exit_code == 0, result.output
    assert "not checked against the live source's fields (the connection is needs_authorization)" in result.output
