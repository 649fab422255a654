"""The token store reads without waiting for a writer: a sync fetches its next page while the current one is
being stored in a long write transaction (on SQLite every other transaction takes the write lock)."""

from __future__ import annotations

import threading
import time

from connector import connections
from connector.db import db


def test_a_token_read_does_not_wait_for_an_open_write_transaction(app):
    with app.app_context():
        conn = connections.create("tokens", "salesforce", {"login_url": "https://login.salesforce.com",
                                                           "client_id": "c", "client_secret": "s"}, "test")
        db.session.flush()
        conn_id = conn.id
        db.session.commit()
    store = connections.ConnectionTokenStore(app, conn_id)
    store.save({"access_token": "first", "instance_url": "https://x.my.salesforce.com"})

    read: dict[str, float] = {}
    with app.app_context():
        writer = db.engine.connect()
        writer.execute(db.text("UPDATE connections SET status_detail = 'busy' WHERE id = :i"), {"i": conn_id})
        try:  # the write transaction stays open while another thread reads the token
            def load() -> None:
                started = time.monotonic()
                read["token"] = store.load()["access_token"]  # type: ignore[index]
                read["seconds"] = time.monotonic() - started

            reader = threading.Thread(target=load)
            reader.start()
            reader.join(10)
            assert not reader.is_alive(), "the token read waited for the writer"
        finally:
            writer.rollback()
            writer.close()
    assert read["token"] == "first" and read["seconds"] < 5
