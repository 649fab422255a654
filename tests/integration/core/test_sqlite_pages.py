"""A new SQLite database gets large pages; an existing one keeps the page size it was created with."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.database import is_postgres

from connector.db import SQLITE_PAGE_SIZE, configure_sqlite

pytestmark = pytest.mark.skipif(is_postgres(), reason="SQLite page size")


def _engine(path: Path):
    engine = create_engine(f"sqlite:///{path}")
    configure_sqlite(engine)
    return engine


def test_a_new_database_is_created_with_the_large_page_size(tmp_path):
    engine = _engine(tmp_path / "new.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
    engine.dispose()
    with sqlite3.connect(tmp_path / "new.db") as raw:
        assert raw.execute("PRAGMA page_size").fetchone()[0] == SQLITE_PAGE_SIZE == 16384
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_existing_database_keeps_its_page_size_and_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA page_size=4096")
        raw.execute("CREATE TABLE t (x TEXT)")
        raw.execute("INSERT INTO t VALUES ('kept')")
    engine = _engine(path)
    with engine.begin() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar_one() == 4096
        assert conn.execute(text("SELECT x FROM t")).scalar_one() == "kept"
    engine.dispose()
