"""The hash-chained audit log (SPEC §6): the one place events are appended, verified and exported.

Appends happen in the transaction of the change they record. An append only prepares its event (redacted,
copied); the events a transaction appended are chained and inserted together as it commits (``write_pending``,
a ``before_commit`` hook), with the chain head read under a lock (a transaction-scoped advisory lock on
PostgreSQL; SQLite's write lock, taken by ``BEGIN IMMEDIATE``), so concurrent writers still produce one linear
chain while each holds the lock only for computing and inserting its rows and committing, not for the whole
request. A query on ``AuditEvent`` inside the transaction writes the pending events first (it reads its own
writes).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import rfc8785
from sqlalchemy import event, select, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from connector.db import db, insert_many
from connector.governance.review import APPROVALS
from connector.models import AuditEvent, AuditSample, ExceptionRequest, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK_ID = 0x4C4558_0001  # "LEX" audit chain
_PENDING_KEY = "audit_pending"
_SECRET_KEY = re.compile(
    r"(^|_)(secret|secrets|token|password|private_key|authorization|session_id|code_verifier|api_key|"
    r"access_token|refresh_token|api_token|client_secret|webhook_secret|assertion)$",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def jsonable(value: Any) -> Any:
    """Plain JSON values (canonical JSON has no dates or decimals)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_MAX_SAFE_INT = 2**53 - 1
#: a float with a fraction whose magnitude is in this range is written alike by orjson, Python and RFC 8785
#: (the shortest round-trip digits, without an exponent); outside it their exponent notations differ
_PLAIN_FLOATS = (1e-4, 1e15)


def _plain_text(value: str) -> bool:
    """Whether JSON writes ``value`` as RFC 8785 does: no characters beyond the Basic Multilingual Plane."""
    return value.isascii() or all(ord(ch) < 0xD800 or 0xE000 <= ord(ch) < 0x10000 for ch in value)


def _plain_float(value: float) -> bool:
    """Whether orjson writes ``value`` as RFC 8785 does (a risk score does; 1e20 or 1e-7 do not)."""
    return not value.is_integer() and _PLAIN_FLOATS[0] <= abs(value) < _PLAIN_FLOATS[1]


def _plain(value: Any) -> bool:
    """True when orjson gives the RFC 8785 bytes: safe integers, floats it writes alike, BMP-only strings."""
    if value is None or value is True or value is False:
        return True
    if isinstance(value, str):
        return _plain_text(value)
    if isinstance(value, float):
        return math.isfinite(value) and _plain_float(value)
    if isinstance(value, int):
        return -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def canonical(seq: int, occurred_at: datetime, actor: str, action: str, subject: str | None,
              data: Any) -> bytes:
    """RFC 8785 canonical JSON of one event.

    For plain values (see ``_plain``: no astral-plane characters, no float orjson writes otherwise) orjson's sorted,
    compact JSON is byte-for-byte
    the RFC 8785 form and far faster; anything else goes through the ``rfc8785`` library.
    A test checks the two agree.
    """
    event = {"seq": seq, "time": occurred_at.isoformat(), "actor": actor, "action": action,
             "subject": subject, "data": data}
    if _plain(event):
        return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    return rfc8785.dumps(event)


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def _head(session: Session) -> tuple[int, str]:
    """The chain's head, read under the chain's lock (held until the transaction ends)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID})
    table = AuditEvent.__table__
    row = session.execute(select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def append(actor: str, action: str, subject: str | None = None, data: Mapping[str, Any] | None = None,
           *, at: datetime | None = None) -> None:
    """Append one event to the chain in the current transaction (written as it commits)."""
    _queue([(actor, action, subject, data)], at)


_SECRET_NAMES: dict[str, bool] = {}


def is_secret_name(key: str) -> bool:
    """Whether a setting or data key names a secret (``client_secret``, ``private_key``, ``api_token`` …)."""
    return _is_secret_name(key)


def _is_secret_name(key: str) -> bool:
    known = _SECRET_NAMES.get(key)
    if known is None:
        known = bool(_SECRET_KEY.search(key))
        if len(_SECRET_NAMES) < 10_000:  # event keys are the code's own: a small, fixed set
            _SECRET_NAMES[key] = known
    return known


def _safe_int(value: int) -> tuple[Any, bool]:
    """RFC 8785 has no integers beyond 2**53 (JSON numbers are doubles): record such an integer as its decimal
    text, so an event never fails to append and its stored data is exactly what was hashed."""
    if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        return value, True
    return str(value), True


def _prepare(value: Any) -> tuple[Any, bool]:
    """Redacted, JSON-plain copy of event data, and whether orjson gives its RFC 8785 form (one walk).

    Values canonical JSON cannot hold are recorded as text: integers beyond 2**53, NaN and the infinities.
    The exact built-in types come first, by identity (the sync appends thousands of events a page).
    """
    if value is None or value is True or value is False:
        return value, True
    kind = type(value)
    if kind is str:
        return value, _plain_text(value)
    if kind is int:
        return _safe_int(value)
    if kind is list and all(type(v) is str and v.isascii() for v in value):
        return list(value), True
    if kind is dict:
        return _prepare_mapping(value)
    if kind is float:
        return _prepare_float(value)
    return _prepare_other(value)


def _prepare_other(value: Any) -> tuple[Any, bool]:
    """``_prepare`` for subclasses (a ``StrEnum`` is recorded as its plain text), other containers, floats,
    dates and decimals."""
    if isinstance(value, str):
        text = str.__str__(value)
        return text, _plain_text(text)
    if isinstance(value, int):
        return _safe_int(int(value))
    if isinstance(value, Mapping):
        return _prepare_mapping(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_prepare(v) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    if isinstance(value, float):
        return _prepare_float(value)
    cleaned = jsonable(value)
    return cleaned, isinstance(cleaned, str) and cleaned.isascii()


def _prepare_float(value: float) -> tuple[Any, bool]:
    if not math.isfinite(value):
        return str(value), True
    if value.is_integer() and abs(value) <= _MAX_SAFE_INT:
        return int(value), True
    return value, _plain_float(value)


def _prepare_mapping(value: Mapping[Any, Any]) -> tuple[dict[str, Any], bool]:
    out: dict[str, Any] = {}
    plain = True
    for key, item in value.items():
        key = str(key)
        if _is_secret_name(key):
            out[key] = REDACTED
            continue
        out[key], ok = _prepare(item)
        plain = plain and ok and key.isascii()
    return out, plain


def append_many(events: Iterable[tuple[str, str, str | None, Mapping[str, Any] | None]],
                *, at: datetime | None = None) -> int:
    """Append several events (the sync hot path uses this; they are written with one head read and one bulk
    insert, like every event of the transaction); returns how many were appended."""
    return _queue(events, at)


#: one prepared event: when, actor, action, subject, redacted data, whether orjson gives its RFC 8785 form
_Pending = tuple[datetime, str, str, str | None, Any, bool]


def _queue(events: Iterable[tuple[str, str, str | None, Mapping[str, Any] | None]], at: datetime | None) -> int:
    """Prepare events (redacted copies, taken now: later changes to ``data`` are not recorded) for the commit."""
    session = db.session()
    occurred = at or utcnow()
    pending: list[_Pending] = session.info.setdefault(_PENDING_KEY, [])
    before = len(pending)
    for actor, action, subject, data in events:
        clean, plain = _prepare(dict(data or {}))
        plain = plain and actor.isascii() and action.isascii() and (subject is None or subject.isascii())
        pending.append((occurred, actor, action, subject, clean, plain))
    return len(pending) - before


def write_pending(session: Session, *_: Any) -> int:
    """Chain and insert the events the transaction appended, in one statement: the head is read under the lock
    here, at the end of the transaction, so the lock is held only for this and the commit. How many were written."""
    pending: list[_Pending] | None = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return 0
    seq, prev = _head(session)
    rows: list[dict[str, Any]] = []
    for occurred, actor, action, subject, clean, plain in pending:
        seq += 1
        event = {"seq": seq, "time": occurred.isoformat(), "actor": actor, "action": action, "subject": subject,
                 "data": clean}
        body = orjson.dumps(event, option=orjson.OPT_SORT_KEYS) if plain else rfc8785.dumps(event)
        digest = chain_hash(prev, body)
        rows.append({"seq": seq, "occurred_at": occurred, "actor": actor, "action": action, "subject": subject,
                     "data": clean, "prev_hash": prev, "hash": digest})
        prev = digest
    insert_many(AuditEvent.__table__, rows)  # one executemany, no ORM objects
    return len(rows)


def _read_own_writes(state: ORMExecuteState) -> None:
    """A query on the audit log inside a transaction that appended events sees them: they are written first."""
    if state.is_select and state.session.info.get(_PENDING_KEY) and any(
            mapper.class_ is AuditEvent for mapper in state.all_mappers):
        write_pending(state.session)


def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    """Events of a transaction that ended without committing them (rolled back) are dropped with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def install_session_hooks() -> None:
    """Write a transaction's events as it commits, before a query on the log inside it, and drop them when it
    rolls back (a savepoint's end keeps them: they belong to the enclosing transaction)."""
    for name, hook in (("before_commit", write_pending), ("do_orm_execute", _read_own_writes),
                       ("after_transaction_end", _forget_pending)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head": {"seq": self.head_seq, "hash": self.head_hash},
                "broken_seq": self.broken_seq, "reason": self.reason}


def iter_events(after: int = 0, batch: int = 2000) -> Iterator[AuditEvent]:
    last = after
    while True:
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        db.session.expunge_all()


def verify() -> Verification:
    """Recompute the whole chain; name the first event whose link or content does not match."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for ev in iter_events():
        if ev.seq != expected_seq:
            return Verification(False, checked, expected_seq - 1, prev, ev.seq,
                                f"sequence gap: expected {expected_seq}, found {ev.seq}")
        if ev.prev_hash != prev:
            return Verification(False, checked, ev.seq - 1, prev, ev.seq, "prev_hash does not match")
        digest = chain_hash(prev, canonical(ev.seq, ev.occurred_at, ev.actor, ev.action, ev.subject, ev.data))
        if digest != ev.hash:
            return Verification(False, checked, ev.seq - 1, prev, ev.seq, "content does not match its hash")
        prev, expected_seq, checked = digest, expected_seq + 1, checked + 1
    return Verification(True, checked, expected_seq - 1, prev)


def head() -> dict[str, Any]:
    row = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash, AuditEvent.occurred_at).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    if row is None:
        return {"seq": 0, "hash": GENESIS, "time": None}
    return {"seq": row[0], "hash": row[1], "time": row[2].isoformat()}


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    return {"seq": ev.seq, "time": ev.occurred_at.isoformat(), "actor": ev.actor, "action": ev.action,
            "subject": ev.subject, "data": ev.data, "prev_hash": ev.prev_hash, "hash": ev.hash}


def draw_sample(size: int, seed: str | None, actor: str) -> AuditSample:
    """A reproducible random sample of approved exceptions: the same seed over the same population, same sample."""
    seed = seed or secrets.token_hex(8)
    population = db.session.scalars(
        select(ExceptionRequest.id)
        .where(ExceptionRequest.outcome.in_(APPROVALS))
        .order_by(ExceptionRequest.pk)
    ).all()
    chosen = random.Random(seed).sample(list(population), min(size, len(population)))
    sample = AuditSample(seed=seed, size=size, population=len(population), items=chosen, findings=[],
                         created_by=actor, created_at=utcnow())
    db.session.add(sample)
    db.session.flush()
    append(actor, "audit.sampled", f"sample:{sample.id}",
           {"sample_id": sample.id, "seed": seed, "size": size, "population": len(population), "items": chosen})
    return sample


def record_finding(sample: AuditSample, request_id: str, finding: str, note: str, actor: str) -> None:
    sample.findings = [*sample.findings, {"request_id": request_id, "finding": finding, "note": note,
                                          "by": actor, "at": utcnow().isoformat()}]
    append(actor, "audit.finding_recorded", f"sample:{sample.id}",
           {"sample_id": sample.id, "request_id": request_id, "finding": finding, "note": note})


def sample_dict(sample: AuditSample) -> dict[str, Any]:
    return {"id": sample.id, "seed": sample.seed, "size": sample.size, "population": sample.population,
            "items": sample.items, "findings": sample.findings, "created_by": sample.created_by,
            "created_at": sample.created_at.isoformat()}
