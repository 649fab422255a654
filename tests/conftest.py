"""Shared fixtures: a fresh, migrated database per test on SQLite or PostgreSQL.

Set ``CONNECTOR_TEST_DATABASE_URL`` to a PostgreSQL URL to run everything on PostgreSQL: a template database is
migrated once per session and each test gets its own copy (``CREATE DATABASE … TEMPLATE``), dropped afterwards.
Without it, a migrated SQLite file is copied per test. Under pytest-xdist (``-n``) each worker migrates a template
of its own (``{db}_tmpl_gw0``, …): two workers must not drop or rebuild the template the other is copying.
"""

from __future__ import annotations

import copy
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from support.contract import add_worker_calls, summary
from support.database import (
    PG_URL,
    Dropper,
    admin_engine,
    app_config,
    fresh_database,
    is_postgres,
    migrate,
    store_default_policy,
)

from connector import create_app, normalize_database_url, operations
from connector.db import db
from connector.governance.schema import load_fields


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller, as each worker finishes: add up the contract cases it counted."""
    add_worker_calls(node.config, getattr(node, "workeroutput", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    line = summary(config)
    if line:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if is_postgres():
        base = make_url(normalize_database_url(PG_URL))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        template = f"{base.database}_tmpl" + (f"_{worker}" if worker else "")
        admin = admin_engine(base)
        policy_template = f"{template}_policy"
        with admin.connect() as conn:
            for name in (policy_template, template):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{template}"'))
        migrate(base.set(database=template).render_as_string(hide_password=False))
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{policy_template}" TEMPLATE "{template}"'))
        store_default_policy(base.set(database=policy_template).render_as_string(hide_password=False))
        info: dict[str, Any] = {"kind": "postgresql", "base": base, "template": template,
                                "policy_template": policy_template, "admin": admin, "created": []}
        info["dropper"] = dropper = Dropper(admin)
        yield info
        for name in info["created"]:
            dropper.drop(name)
        dropper.close()
        with admin.connect() as conn:
            for name in (policy_template, template):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        folder = tmp_path_factory.mktemp("template")
        path, policy_path = folder / "template.db", folder / "template-policy.db"
        migrate(f"sqlite:///{path}")
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(path, policy_path)
        store_default_policy(f"sqlite:///{policy_path}")
        with sqlite3.connect(policy_path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield {"kind": "sqlite", "path": path, "policy_path": policy_path}


@pytest.fixture
def database_url(db_template: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A copy of the migrated template. For a test that uses the ``app`` fixture, a copy of the one that already
    holds the default policy ``app`` would store (unless ``app_overrides`` names another policy file). On
    PostgreSQL the copy is dropped in the background once the test is over."""
    with_policy = "app" in request.fixturenames and "CONNECTOR_POLICY_FILE" not in request.getfixturevalue(
        "app_overrides")
    url = fresh_database(db_template, tmp_path, with_policy=with_policy)
    yield url
    if db_template["kind"] == "postgresql":
        name = make_url(url).database
        db_template["created"].remove(name)
        db_template["dropper"].drop(name)


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Override in a test module to pass extra configuration to the app."""
    return {}


@pytest.fixture
def app(database_url: str, app_overrides: dict[str, Any]) -> Iterator[Flask]:
    from connector.policy_store import ensure_default_policy

    application = create_app(app_config(database_url, **app_overrides))
    with application.app_context():
        ensure_default_policy()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token_for(app: Flask) -> Callable[..., dict[str, str]]:
    """``token_for("reviewer", "licensing", name=...)`` → Authorization headers for a new principal."""
    from connector.auth import create_token

    counter = {"n": 0}

    def make(role: str, *committee_roles: str, name: str | None = None) -> dict[str, str]:
        counter["n"] += 1
        with app.app_context():
            token = create_token(name or f"{role}-{'-'.join(committee_roles) or 'x'}-{counter['n']}", role,
                                 committee_roles, actor="test")
            db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def submit(app: Flask) -> Callable[[dict[str, Any]], str]:
    """Create a request through the operations (as intake would) and return its key."""

    def make(body: dict[str, Any]) -> str:
        with app.app_context():
            req, _ = operations.submit(typed=load_fields(copy.deepcopy(body)), source="api", actor="test")
            db.session.commit()
            return str(req.key)

    return make
