"""A database outage simulated inside the engine (both databases): every statement, or only the commit, raises
what the driver raises when the server is gone. The real outage over TCP is ``tcp_proxy``'s (PostgreSQL only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from connector.db import db


def _refuse(*_: Any, **__: Any) -> None:
    raise OperationalError("(statement)", {}, ConnectionRefusedError("connection refused: the database is gone"))


@contextmanager
def database_lost(app: Flask, only_commit: bool = False) -> Iterator[None]:
    """Within the block every statement (``only_commit``: every commit) fails as on a lost connection."""
    with app.app_context():
        engine = db.engine
    name = "commit" if only_commit else "before_cursor_execute"
    event.listen(engine, name, _refuse)
    try:
        yield
    finally:
        event.remove(engine, name, _refuse)
