"""Test databases: a migrated template per session, a fresh copy per test (SQLite file or PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from connector import create_app

PG_URL = os.environ.get("CONNECTOR_TEST_DATABASE_URL", "").strip()
ENCRYPTION_KEY = Fernet.generate_key().decode()


def is_postgres() -> bool:
    return bool(PG_URL)


def admin_engine(base: URL) -> Any:
    return create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=None)


class Dropper:
    """Drops test databases on background threads. PostgreSQL forces a checkpoint for every DROP DATABASE and waits
    for it: dropping while the next tests run, a few at a time (one checkpoint serves the drops waiting on it),
    keeps that wait out of the tests and off the end of the session (it was 35-170 s there per xdist worker)."""

    def __init__(self, admin: Any, threads: int = 4) -> None:
        self._admin = admin
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="drop-database")
        self._pending: list[Future[None]] = []

    def drop(self, name: str) -> None:
        self._pending.append(self._pool.submit(self._drop, name))

    def _drop(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Wait for every drop; a failed one fails here."""
        self._pool.shutdown(wait=True)
        for future in self._pending:
            future.result()


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"CONNECTOR_DATABASE_URL": url, "CONNECTOR_SECRET_KEY": "test"})
    with app.app_context():
        upgrade(directory=app.extensions["license_exception_connector"]["migrations"])
        from connector.db import db

        db.engine.dispose()


def store_default_policy(url: str) -> None:
    """What the ``app`` fixture's ``ensure_default_policy()`` stores (policy version 1 and its audit event), done
    once in a template: parsing and simulating the policy costs a few tenths of a second, on every test."""
    from connector.db import db
    from connector.policy_store import ensure_default_policy

    app = create_app(app_config(url))
    with app.app_context():
        assert ensure_default_policy()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def fresh_database(db_template: dict[str, Any], tmp_path: Path, migrated: bool = True,
                   with_policy: bool = False) -> str:
    """A new database: a copy of the migrated template (``with_policy``: of the one that also holds the default
    policy), or (``migrated=False``) an empty one."""
    if db_template["kind"] == "sqlite":
        target = tmp_path / f"db-{uuid.uuid4().hex[:8]}.db"
        if migrated:
            shutil.copy(db_template["policy_path" if with_policy else "path"], target)
        return f"sqlite:///{target}"
    base: URL = db_template["base"]
    name = f"{base.database}_{uuid.uuid4().hex[:10]}"
    template = db_template["policy_template" if with_policy else "template"]
    source = f' TEMPLATE "{template}" STRATEGY WAL_LOG' if migrated else ""
    with db_template["admin"].connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
    db_template["created"].append(name)
    return base.set(database=name).render_as_string(hide_password=False)


def app_config(database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "CONNECTOR_DATABASE_URL": database_url,
        "CONNECTOR_SECRET_KEY": "test-secret",
        "CONNECTOR_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "CONNECTOR_BASE_URL": "http://connector.test",
        "TESTING": True,
        **extra,
    }
