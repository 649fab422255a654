"""What a push must pass before it can cost anything: where it comes from, how many came, whether it is a replay.

Each connection may name the networks its pushes come from (``allowed_push_networks``: Salesforce's and Zendesk's
published egress ranges, or a proxy's); a push from elsewhere is refused (403) before it is read. Each connection's
push endpoint takes at most ``CONNECTOR_PUSH_RATE_LIMIT`` requests a minute (429 with ``Retry-After`` beyond):
the count lives in the database, so every web worker and machine shares it. A signed push whose signature was
received before is a replay (a duplicate, whatever else changed): the signatures are remembered in the database
until they could no longer be accepted, and the worker prunes them, and the minutes counted, afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from connector.config import settings
from connector.db import db, unit_of_work
from connector.models import PushSignature, PushWindow
from connector.networks import IPAddress, IPNetwork, parse_networks, within

#: the connection setting naming the networks pushes may come from (empty or absent: anywhere)
NETWORKS_SETTING = "allowed_push_networks"


@dataclass(frozen=True)
class Refusal:
    """A push refused before it is read: the status, the error code and message, and headers to send."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def _statement(name: str) -> Any:
    """``count`` (add one to a connection's minute, returning the count) or ``remember`` (insert a signature
    digest unless present, returning it), built once per backend so their compiled forms are cached."""
    dialect = db.session.get_bind().dialect.name
    statement = _STATEMENTS.get((dialect, name))
    if statement is None:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        windows, signatures = PushWindow.__table__, PushSignature.__table__
        if name == "count":
            statement = insert(windows).on_conflict_do_update(
                index_elements=["connection_id", "minute"], set_={"count": windows.c.count + 1},
            ).returning(windows.c.count)
        else:
            statement = insert(signatures).on_conflict_do_nothing(
                index_elements=["connection_id", "digest"]).returning(signatures.c.digest)
        _STATEMENTS[(dialect, name)] = statement
    return statement


_STATEMENTS: dict[tuple[str, str], Any] = {}


def push_networks(settings_of_connection: Mapping[str, Any]) -> tuple[IPNetwork, ...]:
    """The networks a connection accepts pushes from; empty: any."""
    return parse_networks(settings_of_connection.get(NETWORKS_SETTING) or (), NETWORKS_SETTING)


def network_refusal(settings_of_connection: Mapping[str, Any], address: IPAddress | None) -> Refusal | None:
    """403 when the connection names networks and the client address lies in none of them."""
    try:
        networks = push_networks(settings_of_connection)
    except ValueError:  # stored unvalidated (settings are validated on input): refuse rather than open up
        return Refusal(403, "push_network_refused", f"This connection's {NETWORKS_SETTING} cannot be read; "
                       "correct it. Nothing was stored.")
    if not networks or within(address, networks):
        return None
    return Refusal(403, "push_network_refused",
                   f"Pushes to this connection are accepted only from its allowed_push_networks; "
                   f"{address or 'an unknown address'} is not in them. Nothing was stored.")


def rate_refusal(connection_id: int, now: datetime) -> Refusal | None:
    """Count this push in its minute (committed at once, so refused and failed pushes count too); 429 with
    ``Retry-After`` (the seconds left in the minute) beyond ``CONNECTOR_PUSH_RATE_LIMIT``."""
    limit = settings().push_rate_limit
    if limit <= 0:
        return None
    seconds = int(now.timestamp())
    minute = seconds // 60
    with unit_of_work():
        count = int(db.session.execute(_statement("count"), {
            "connection_id": connection_id, "minute": minute, "count": 1}).scalar_one())
    if count <= limit:
        return None
    retry_after = 60 - seconds % 60
    return Refusal(429, "push_rate_limited",
                   f"This connection's push endpoint takes {limit} requests a minute; retry in {retry_after} s. "
                   "Nothing was stored (the next sync reads every change anyway).",
                   {"Retry-After": str(retry_after)})


def first_receipt(connection_id: int, digest: str, expires_at: datetime) -> bool:
    """Remember a signed push's digest (in the request's transaction, with its events); False when it was
    received before (a replay, or a concurrent copy that committed first)."""
    inserted = db.session.execute(_statement("remember"), {
        "connection_id": connection_id, "digest": digest, "expires_at": expires_at}).first()
    return inserted is not None

def prune(now: datetime) -> int:
    """Forget signatures that could no longer be accepted and minutes already over (the worker runs this)."""
    signatures = cast(CursorResult[Any], db.session.execute(
        delete(PushSignature).where(PushSignature.expires_at < now)))
    windows = cast(CursorResult[Any], db.session.execute(
        delete(PushWindow).where(PushWindow.minute < int(now.timestamp()) // 60 - 1)))
    return int(signatures.rowcount or 0) + int(windows.rowcount or 0)
