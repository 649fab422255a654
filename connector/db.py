"""The SQLAlchemy handle shared by models and operations, and engine tuning per backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, MetaData, Table, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

try:  # the driver's own errors, for code that talks to a raw connection (PostgreSQL is an optional extra)
    from psycopg import InterfaceError as DriverInterfaceError
    from psycopg import OperationalError as DriverOperationalError
    _DRIVER_ERRORS: tuple[type[Exception], ...] = (DriverOperationalError, DriverInterfaceError)
except ImportError:  # pragma: no cover - SQLite-only installs
    _DRIVER_ERRORS = ()

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))


#: what a lost, refusing or overloaded database raises (SQLAlchemy's wrappers and the driver's own): the request
#: that meets one is answered 503 ``unavailable`` with ``Retry-After``, never a 500, and the pool (``pool_pre_ping``)
#: reconnects by itself once the database is back
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError, InterfaceError, DisconnectionError, PendingRollbackError, PoolTimeout, *_DRIVER_ERRORS)
#: seconds a client is told to wait before retrying while the database is unavailable
RETRY_AFTER_SECONDS = 5
#: seconds to wait for a new PostgreSQL connection: a database that does not answer fails the request (503)
#: instead of holding it for as long as the operating system keeps trying
CONNECT_TIMEOUT_SECONDS = 10


def rollback() -> None:
    """Roll back the session, even on a dead connection: the rollback then fails too, and the session is dropped
    (its connection invalidated; the pool opens a new one when one is next needed)."""
    try:
        db.session.rollback()
    except DATABASE_UNAVAILABLE:
        db.session.remove()


def discard_failed_transaction(exc: BaseException) -> None:
    """Roll back after ``exc`` (a database failure) so the next request starts clean. Only the error's class is
    logged: a driver's message can name the host and the user."""
    rollback()
    current_app.logger.warning("database unavailable (%s); answered 503", type(exc).__name__)


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "sqlite"


#: page size of a new SQLite database (``PRAGMA page_size`` only applies before the first table is written)
SQLITE_PAGE_SIZE = 16384


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave like a serialising database.

    Every transaction starts with ``BEGIN IMMEDIATE`` so that two processes never read the same audit head
    or claim the same delivery; WAL keeps readers unblocked and ``busy_timeout`` makes writers wait, not fail.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # a new database gets 16 KiB pages (an existing one keeps its own): a request row with its raw source
        # record is about 3 KB, so a 4 KiB page held one row and a quarter of every page stayed empty
        cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # a connection marked read-only (``READ_ONLY``) takes no write lock: WAL lets it read while a writer works
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("connector_read_only") else "BEGIN IMMEDIATE")


@contextmanager
def unit_of_work() -> Iterator[None]:
    """One unit of work (a CLI command, a worker step): commits once when the block ends, rolls back on any
    exception. Operations inside never commit; they flush."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


@contextmanager
def released(keep_loaded: bool = False) -> Iterator[None]:
    """End the unit of work so far (commit what it wrote), run the block with no transaction open, and let the
    next database access begin a new one.

    The block calls a source or a receiver over HTTP with plain data snapshotted before it: a transaction held
    across that call would keep SQLite's write lock (every transaction is ``BEGIN IMMEDIATE``) and PostgreSQL's row
    locks for as long as the remote side takes. ``keep_loaded`` keeps the session's objects readable without a
    new transaction (their attributes are not expired by the commit); what changed meanwhile is re-read before
    an outcome is recorded.
    """
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = not keep_loaded
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    yield


#: execution options of a connection that only reads: on SQLite its transaction takes no write lock, so a
#: background read (a sync's token lookup while the previous page is being stored) never waits for a writer
READ_ONLY = {"connector_read_only": True}


def allocate_keys(table: str, column: str, count: int) -> list[int]:
    """``count`` fresh values for an integer primary key, in one statement, so a bulk insert can carry its keys
    (and anything derived from them) instead of reading them back.

    PostgreSQL draws them from the column's sequence; SQLite, whose transactions all begin with the write lock
    held (``BEGIN IMMEDIATE``), continues after the largest key, which is what it would assign itself.
    """
    if count <= 0:
        return []
    session = db.session
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        rows = session.execute(text("SELECT nextval(pg_get_serial_sequence(:t, :c)) FROM generate_series(1, :n)"),
                               {"t": table, "c": column, "n": count}).scalars().all()
        return sorted(int(v) for v in rows)
    if dialect == "sqlite":
        top = session.execute(text(f'SELECT coalesce(max("{column}"), 0) FROM "{table}"')).scalar_one()
        return list(range(int(top) + 1, int(top) + 1 + count))
    raise NotImplementedError(f"the connector supports SQLite and PostgreSQL, not {dialect}")


def insert_many(table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """One executemany of ``rows`` (all with the same keys), converting values the way the column types do,
    but each repeated scalar only once: a page's rows share their timestamps, connection and status, and
    per-value type processing was a tenth of the sync's CPU."""
    if not rows:
        return
    db.session.flush()  # pending ORM changes first, as ``session.execute`` would (foreign keys, order)
    connection = db.session.connection()
    dialect = connection.dialect
    sql, order, processors = _insert_plan(table, dialect, tuple(rows[0]))
    columns = []  # converted column by column, then zipped into rows: no per-value dispatch
    for name, (process, memoise) in zip(order, processors, strict=True):
        values = [row[name] for row in rows]
        if process is not None:
            convert = _memoised(process) if memoise and len(values) > 1 else process
            values = [convert(value) for value in values]
        columns.append(values)
    params: list[Any] = list(zip(*columns, strict=True))
    if not dialect.positional:
        params = [dict(zip(order, values, strict=True)) for values in params]
    connection.exec_driver_sql(sql, params)


_PLANS: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[str], list[tuple[Any, bool]]]] = {}


def _insert_plan(table: Table, dialect: Any,
                 names: tuple[str, ...]) -> tuple[str, list[str], list[tuple[Any, bool]]]:
    """The INSERT statement compiled once per table, backend and column set, with each column's converter
    (and whether its values repeat enough to memoise: every type but JSON)."""
    key = (table.name, dialect.name, names)
    plan = _PLANS.get(key)
    if plan is None:
        compiled = table.insert().compile(dialect=dialect, column_keys=list(names))
        order = list(compiled.positiontup or names) if dialect.positional else list(names)
        processors = []
        for name in order:
            column_type = table.c[name].type
            processors.append((column_type.dialect_impl(dialect).bind_processor(dialect),
                               not isinstance(column_type, JSON)))
        plan = _PLANS[key] = (str(compiled), order, processors)
    return plan


def _memoised(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            result = seen[value] = process(value)
            return result
        except TypeError:  # unhashable
            return process(value)

    return convert
