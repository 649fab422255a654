"""Both sandboxes in their own processes and an app with a connection to each (``sf``: Salesforce, ``zd``:
Zendesk), synced, with a chair (``iso-chair``) to decide: the setup of the reliability tests that write back."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connector import create_app, delivery, sync
from connector.auth import create_token
from connector.db import db
from connector.policy_store import ensure_default_policy
from support.database import app_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from harness import SandboxProcess, connect


@contextmanager
def sandboxed_sources(database_url: str, records: int, drain: bool = True, synced: bool = True,
                      **config: Any) -> Iterator[Any]:
    """The app; ``synced``: both connections synced once; ``drain``: intake's own write-backs are sent before it is
    handed over."""
    sandboxes = [SandboxProcess("salesforce", records),
                 SandboxProcess("zendesk", records, ["--export-lag", "0", "--all-flagged"])]
    try:
        hosts = ",".join(s.info["base_url"].split("://", 1)[1] for s in sandboxes)
        app = create_app(app_config(database_url, CONNECTOR_ALLOWED_INSTANCE_HOSTS=hosts,
                                    CONNECTOR_BASE_URL="http://127.0.0.1:9", TESTING=False, **config))
        with app.app_context():
            ensure_default_policy()
            db.session.commit()
        sf, zd = sandboxes[0].info, sandboxes[1].info
        connect(app, "salesforce", "sf", {"login_url": sf["base_url"], "client_id": sf["client_id"],
                                          "client_secret": sf["client_secret"], "auth": "web_server"})
        connect(app, "zendesk", "zd", {"subdomain": "iso", "base_url": zd["base_url"], "client_id": zd["client_id"],
                                       "client_secret": zd["client_secret"], "auth": "oauth",
                                       "field_ids": zd["field_ids"], "export_requests_per_minute": 0})
        with app.app_context():
            for name in ("sf", "zd") if synced else ():
                counts = sync.sync(name, actor="test")
                assert not counts.stopped, counts.stopped
            if drain:
                delivery.drain()
            create_token("iso-chair", "reviewer", ["licensing"], actor="test")
            db.session.commit()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        for sandbox in sandboxes:
            sandbox.stop()
