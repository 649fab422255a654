"""SQLAlchemy models: the durable state of every request, vote, decision, entitlement and event."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from connector.crypto import EncryptedJSON
from connector.db import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_public_id() -> str:
    return uuid.uuid4().hex


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_public_ids(count: int) -> list[str]:
    """``count`` ids of the same form as ``new_public_id`` (random version-4 UUIDs, hex) from one read of the
    system's random source: a backfill page needs thousands, and a read per id was a twentieth of its CPU."""
    pool = os.urandom(16 * count)
    return [format((int.from_bytes(pool[i:i + 16]) & _UUID4_CLEAR) | _UUID4_SET, "032x")
            for i in range(0, 16 * count, 16)]


class Principal(db.Model):  # type: ignore[name-defined,misc]
    """Who acts through the API: a person or a system, with one role and any committee roles."""

    __tablename__ = "principals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    committee_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A bearer token, stored as its SHA-256 only; the clear token is shown once at creation."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    #: the role and committee roles the token was issued with: fixed for its life (its principal's must match)
    role: Mapped[str] = mapped_column(String(20))
    committee_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None: never expires (tokens issued before expiry existed, or ``--expires-in 0``)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: written at most once a minute, so authenticating costs no write on most requests
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    principal: Mapped[Principal] = relationship()


class PolicyVersion(db.Model):  # type: ignore[name-defined,misc]
    """One version of the governance policy document; the highest version is in force."""

    __tablename__ = "policy_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Connection(db.Model):  # type: ignore[name-defined,misc]
    """A Salesforce org or Zendesk account the connector syncs with."""

    __tablename__ = "connections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), default="needs_authorization")
    status_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, nullable=True)
    token: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, nullable=True)
    mapping_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ExceptionRequest(db.Model):  # type: ignore[name-defined,misc]
    """One governed license exception request, whatever its source."""

    __tablename__ = "exception_requests"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    key: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    source: Mapped[str] = mapped_column(String(20), index=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"), nullable=True, index=True)
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    external_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: "<connection id or api>:<external id>": one request per source record.
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True, nullable=True)
    mapping_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw_payload: Mapped[Any] = mapped_column(JSON, nullable=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    title: Mapped[str | None] = mapped_column(String(255), nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    customer_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    track: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    risk_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    risk_band: Mapped[str | None] = mapped_column(String(10), nullable=True, index=True)
    risk_overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    intake: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    info_request: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    review_round: Mapped[int] = mapped_column(Integer, default=1)
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    disputes: Mapped[int] = mapped_column(Integer, default=0)
    changed_after_decision: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_change: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    connection: Mapped[Connection | None] = relationship()
    votes: Mapped[list[Vote]] = relationship(back_populates="request", order_by="Vote.id")
    decisions: Mapped[list[Decision]] = relationship(back_populates="request", order_by="Decision.id")
    entitlements: Mapped[list[EntitlementBoundary]] = relationship(
        back_populates="request", order_by="EntitlementBoundary.version"
    )


class Vote(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "votes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    voter: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    vote: Mapped[str] = mapped_column(String(20))
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    review_round: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ExceptionRequest] = relationship(back_populates="votes")


class Decision(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"), index=True)
    outcome: Mapped[str] = mapped_column(String(30))
    rationale: Mapped[str] = mapped_column(Text)
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    customer_summary: Mapped[str] = mapped_column(Text)
    internal_note: Mapped[str] = mapped_column(Text)
    entitlement_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    review_round: Mapped[int] = mapped_column(Integer)
    #: against the category's predefined outcome: False standard, True bespoke, None when there is no standard
    #: (a denial, or a category without one); ``departures`` names how a bespoke decision departs
    bespoke: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    departures: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    request: Mapped[ExceptionRequest] = relationship(back_populates="decisions")


class EntitlementBoundary(db.Model):  # type: ignore[name-defined,misc]
    """One version of what an approved exception grants, and until when."""

    __tablename__ = "entitlement_boundaries"
    __table_args__ = (UniqueConstraint("request_pk", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(20))  # approved | amended | renewed | revoked | expired
    status: Mapped[str] = mapped_column(String(20))  # active | superseded | revoked | expired
    grants: Mapped[dict[str, Any]] = mapped_column(JSON)
    effective_from: Mapped[date] = mapped_column(Date)
    expires_at: Mapped[date] = mapped_column(Date)
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    renewal_mode: Mapped[str] = mapped_column(String(10), default="manual")
    notice_days: Mapped[int] = mapped_column(Integer, default=30)
    success_metrics: Mapped[list[str]] = mapped_column(JSON, default=list)
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rationale: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoke_effective: Mapped[date | None] = mapped_column(Date, nullable=True)
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ExceptionRequest] = relationship(back_populates="entitlements")


class Dispute(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20), default="api")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """One link of the hash chain. The database refuses UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class DeliveryStatus(StrEnum):
    """Where an outbox row stands (a ``StrEnum``: equal to the strings stored and sent in JSON)."""

    PENDING = "pending"  # waiting to be sent, or leased by a worker sending it (``lease_until``)
    DELIVERED = "delivered"
    DEAD = "dead"  # failed for good, or still failing at its deadline: an admin may retry it
    SUPERSEDED = "superseded"  # a newer change to the same (request, target) replaced it before it was sent


class Delivery(db.Model):  # type: ignore[name-defined,misc]
    """An outbox row: one change to send to one target, written in the transaction of the change."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"), index=True)
    target: Mapped[str] = mapped_column(String(120), index=True)  # "billing" or "connection:<name>"
    change: Mapped[str] = mapped_column(String(30))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)  # a DeliveryStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: After this moment a failing delivery is dead (creation or an admin's retry, plus the maximum age).
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    request: Mapped[ExceptionRequest] = relationship()


class DeliveryTarget(db.Model):  # type: ignore[name-defined,misc]
    """A target's health: an endpoint that answered 410 Gone is disabled, visibly, until an admin retries."""

    __tablename__ = "delivery_targets"
    target: Mapped[str] = mapped_column(String(120), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | disabled
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditSample(db.Model):  # type: ignore[name-defined,misc]
    """A reproducible random sample of approved exceptions drawn for periodic review, with its findings."""

    __tablename__ = "audit_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[str]] = mapped_column(JSON)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OAuthState(db.Model):  # type: ignore[name-defined,misc]
    """A pending authorization: single-use ``state`` bound to one connection, with its PKCE verifier."""

    __tablename__ = "oauth_states"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    code_verifier: Mapped[Any] = mapped_column(EncryptedJSON)
    redirect_uri: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MappingVersion(db.Model):  # type: ignore[name-defined,misc]
    """One version of a connection's field mapping (the public mapping document, as JSON)."""

    __tablename__ = "mapping_versions"
    __table_args__ = (UniqueConstraint("connection_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Watermark(db.Model):  # type: ignore[name-defined,misc]
    """How far a connection's sync has durably got (SystemModstamp, export cursor); advanced per committed page."""

    __tablename__ = "watermarks"
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class InboundEvent(db.Model):  # type: ignore[name-defined,misc]
    """A pushed notification (Outbound Message, Zendesk webhook), stored before it is acknowledged."""

    __tablename__ = "inbound_events"
    #: (connection, external id): the pending pushes about one record are fetched together, and a record fetched
    #: recently is not fetched again before a sync interval has passed
    __table_args__ = (UniqueConstraint("connection_id", "event_key"),
                      Index("ix_inbound_events_connection_record", "connection_id", "external_id"),
                      Index("ix_inbound_events_received_at", "received_at"))  # the retention job's range
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    event_key: Mapped[str] = mapped_column(String(200))  # the provider's id: duplicates are ignored
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|processed|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PushSignature(db.Model):  # type: ignore[name-defined,misc]
    """A signed push already received (the digest of its signature): the same signature again is a replay,
    whatever else changed. Kept until the signature could no longer be accepted anyway (``expires_at``)."""

    __tablename__ = "push_signatures"
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PushWindow(db.Model):  # type: ignore[name-defined,misc]
    """How many pushes a connection's endpoint took in one minute (``minute``: Unix time // 60); shared by every
    web worker, pruned by the worker once the minute is over."""

    __tablename__ = "push_windows"
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class UserAccount(db.Model):  # type: ignore[name-defined,misc]
    """A person's sign-in to the web UI, acting as one principal (as an API token does for scripts).

    The password is stored as a salted hash; an account without one signs in through OpenID Connect only.
    """

    __tablename__ = "user_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"), unique=True)
    #: stored lower-cased: sign-in and the OpenID Connect email match case-insensitively
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: part of every session's fingerprint: raised when the account is disabled, so its sessions end at once
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    principal: Mapped[Principal] = relationship()


class WorkerHeartbeat(db.Model):  # type: ignore[name-defined,misc]
    """The last sign of life of each worker process (for ``GET /metrics`` and operators)."""

    __tablename__ = "worker_heartbeats"
    worker: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    #: the worker's last error (stage, exception type, first line; never a secret) and when it happened
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignInFailure(db.Model):  # type: ignore[name-defined,misc]
    """A failed password sign-in, kept for the throttling window (in the database: every web worker counts it).

    The email and the client address are stored as SHA-256 digests, never as typed: what someone types into the
    email field is sometimes their password."""

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: None once the account signs in successfully (the address still counts the failure)
    email_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    address_key: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SignInLock(db.Model):  # type: ignore[name-defined,misc]
    """Sign-in refused (429) for one email or one client address until ``locked_until``."""

    __tablename__ = "sign_in_locks"
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # email | address
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # digest, as in SignInFailure
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime)


class Scenario(db.Model):  # type: ignore[name-defined,misc]
    """A change to the product or its ecosystem (``governance.scenarios``), kept to be run again as the exceptions
    change; ``last_result`` summarises its last run (how many it touched, by suggested action, which keys)."""

    __tablename__ = "scenarios"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    #: the validated document in its JSON form (ISO dates, decimals as text)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class PolicyReview(db.Model):  # type: ignore[name-defined,misc]
    """A periodic review of the policy: the issuance-pattern report over its period, its owners' findings, and
    who closed it."""

    __tablename__ = "policy_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open | closed
    owners: Mapped[list[str]] = mapped_column(JSON, default=list)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)


class Feedback(db.Model):  # type: ignore[name-defined,misc]
    """What a customer or channel partner said about a decision, through the signed link in its customer summary:
    how clear it was (1-5) and what they needed. Shown to reviewers and counted in reports."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"), index=True)
    #: which decision message the link was in (1: the first decision, 2: the next amendment or decision, ...)
    decision_number: Mapped[int] = mapped_column(Integer)
    respondent: Mapped[str] = mapped_column(String(20))  # customer | partner
    clarity: Mapped[int] = mapped_column(Integer)
    needed: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    request: Mapped[ExceptionRequest] = relationship()


class PracticeAttempt(db.Model):  # type: ignore[name-defined,misc]
    """A reviewer's practice vote and decision on an anonymised past request, with what the committee really
    decided at the time (copied when answered, so the score stays what it was). Practice never changes the
    request it is drawn from."""

    __tablename__ = "practice_attempts"
    __table_args__ = (UniqueConstraint("principal_id", "request_pk"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"), index=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"), index=True)
    vote: Mapped[str] = mapped_column(String(20))
    vote_rationale: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(30))
    rationale: Mapped[str] = mapped_column(Text, default="")
    grants: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    duration_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    real_outcome: Mapped[str] = mapped_column(String(30))
    real_grants: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    real_duration_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome_match: Mapped[bool] = mapped_column(Boolean)
    #: 0..1, how near the practice boundaries are to the real ones; None unless both approved
    closeness: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationPreference(db.Model):  # type: ignore[name-defined,misc]
    """Who is told what, and how: one row per principal (a person's own) or per committee role (a team channel).

    The Slack and Teams incoming-webhook URLs are secrets (anyone holding one can post): stored encrypted."""

    __tablename__ = "notification_preferences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"), unique=True,
                                                     nullable=True)
    role: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # email | slack | teams
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(10), default="immediate")  # immediate | digest
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    webhooks: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    principal: Mapped[Principal | None] = relationship()


class NotificationItem(db.Model):  # type: ignore[name-defined,misc]
    """One event waiting for a person's daily digest; ``digest_id`` is set when a digest takes it."""

    __tablename__ = "notification_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"), index=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("exception_requests.pk"))
    event: Mapped[str] = mapped_column(String(20))
    #: the rendered message (``connector.notifications.Message`` as a dict): its internal part is dropped for a
    #: channel the policy marks external when the digest is written
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("notification_digests.id"), nullable=True, index=True)


class NotificationDigest(db.Model):  # type: ignore[name-defined,misc]
    """A person's digest of one UTC day: the unique (principal, day) makes it one per day, whoever runs the job."""

    __tablename__ = "notification_digests"
    __table_args__ = (UniqueConstraint("principal_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    items: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncRun(db.Model):  # type: ignore[name-defined,misc]
    """One sync of a connection, from whoever started it (the web's "Sync now" queues one for a worker; the API,
    the CLI and the schedule record theirs as they run): its state and how far it got, so a progress bar with a
    total and an ETA can follow it from any page or process."""

    __tablename__ = "sync_runs"
    #: the worker's round asks for queued runs by state; a connection's page for its latest run by id
    __table_args__ = (Index("ix_sync_runs_state", "state"), Index("ix_sync_runs_connection_id", "connection_id", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    #: queued, running, completed, stopped (the source refused: see ``message``) or interrupted
    state: Mapped[str] = mapped_column(String(20))
    #: who asked: web, api, cli or schedule
    trigger: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the last page committed (a running sync not heard of for a while was cut short: see ``connector.sync_runs``)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: records gone through (fetched and skipped) and the source's count of what there is (None: unknown)
    examined: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the worker process that claimed it last (host:pid:nonce): a process whose database went away mid-run finds
    #: its own runs by this and goes on with them, even when it could not tell whether its claim was committed
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
