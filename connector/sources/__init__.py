"""Source kinds (Salesforce, Zendesk): a registry, each kind declaring its settings and what it can do.

The connector's generic machinery (connections API, OAuth callback, sync, webhooks inbox, deliveries) calls
these methods with a ``ConnectionContext`` — a plain snapshot of one connection with a database-backed token
store — and never knows the provider's wire format; each kind talks to its adapter package.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from marshmallow import Schema

from mappings.dialect import SourceDialect

if TYPE_CHECKING:
    from flask import Request, Response

    from adapters.tokens import TokenStore
    from connector.models import Delivery, InboundEvent
    from mappings import MappingDocument


@dataclass(frozen=True)
class ConnectionContext:
    """What a source kind needs to talk to one connection; no database session, no Flask app."""

    id: int
    name: str
    kind: str
    settings: Mapping[str, Any]  # non-secret settings and secrets, merged
    token_store: TokenStore
    base_url: str  # the connector's public URL (webhook endpoints, links)
    allowed_instance_hosts: tuple[str, ...] = ()
    http_timeout: float = 30.0
    #: the connection's current mapping with placeholders resolved (fields to read, outbound values to write)
    mapping: MappingDocument | None = None


@dataclass
class SourceRecord:
    """One record of the source, as its API returns it (kept raw, never lost)."""

    external_id: str
    raw: dict[str, Any]
    external_url: str | None = None
    deleted: bool = False
    #: set when the source asks to dispute the decision (e.g. a Zendesk tag): the reason to record
    dispute: str | None = None


@dataclass
class SourcePage:
    """A page of records and the watermark to store once the page is committed."""

    records: list[SourceRecord]
    watermark: dict[str, Any]
    http_calls: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuthorizationResult:
    token: dict[str, Any]
    settings_update: dict[str, Any] = field(default_factory=dict)  # e.g. the Salesforce org id


@dataclass
class WebhookReceipt:
    """What a push carried: events to store (``event_key`` de-duplicates) and the answer to send once stored."""

    events: list[dict[str, Any]]  # {"event_key", "external_id", "payload"}
    respond: Any  # callable (stored: bool) -> flask Response


@dataclass(frozen=True)
class Outcome:
    """The result of one send: ``delivered``, ``retry``, ``dead``, ``gone`` (410: disable the target) or
    ``held`` (not attempted: released for later without counting an attempt). ``partial``: held after part of
    it reached the target (a reply without its note); the attempt counts, so the retry looks at what is there."""

    result: str
    detail: str = ""
    status_code: int | None = None
    retry_after: float | None = None
    partial: bool = False


class SourceError(Exception):
    """A source problem with a connection status to show (``needs_authorization``, ``paused``, ``error``)."""

    def __init__(self, status: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


class WebhookRefused(Exception):
    """A push that fails verification or is malformed: answered 4xx, nothing stored."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SourceKind:
    """Base class: a kind overrides what it supports; the rest says plainly that it is not supported."""

    name: ClassVar[str]
    settings_schema: ClassVar[type[Schema]]
    secret_fields: ClassVar[tuple[str, ...]] = ()
    default_mapping_kind: ClassVar[str]
    #: what the kind's records look to a mapping (validation takes it instead of branching on the kind)
    dialect: ClassVar[SourceDialect]
    #: The source is told a decision or an ending once, in words a later state cannot carry (a Zendesk reply and
    #: internal note): such write-backs are never superseded. A source that is only ever set to the request's
    #: current state (Salesforce fields) lets the newest write-back replace older unsent ones.
    keeps_announcements: ClassVar[bool] = False

    def managed_settings(self) -> dict[str, str]:
        """Settings the connector writes itself, by name, with what says so: read-only to admins.

        Authorization, sync and provisioning store facts about the source on the connection (the Salesforce org
        id inbound Outbound Messages are checked against, Zendesk's webhook and trigger ids); an admin who could
        change them could make the connector trust another org or forget its own webhook. A kind's settings
        schema marks such a setting with ``metadata={"managed": True}``, so the schema stays the one place a
        setting is declared; its description says who sets it.
        """
        return {schema_field.data_key or name: str(schema_field.metadata.get("description") or "Set by the connector.")
                for name, schema_field in self.settings_schema().fields.items() if schema_field.metadata.get("managed")}

    def authorization_url(self, ctx: ConnectionContext, state: str, redirect_uri: str) -> tuple[str, str]:
        """(URL to send the admin to, PKCE code verifier to keep until the callback)."""
        raise NotImplementedError

    def complete_authorization(self, ctx: ConnectionContext, code: str, code_verifier: str,
                               redirect_uri: str) -> AuthorizationResult:
        raise NotImplementedError

    def authorize_without_browser(self, ctx: ConnectionContext) -> AuthorizationResult | None:
        """Server-to-server flows (JWT bearer, client credentials, API token); None when a browser is needed."""
        return None

    def pages(self, ctx: ConnectionContext, watermark: Mapping[str, Any] | None) -> Iterator[SourcePage]:
        raise NotImplementedError

    def fetch_record(self, ctx: ConnectionContext, external_id: str) -> SourceRecord:
        raise NotImplementedError

    def source_fields(self, ctx: ConnectionContext) -> set[str] | None:
        """Field names the live source has (for mapping validation); None when unknown."""
        return None

    def mapping_placeholders(self, settings: Mapping[str, Any]) -> dict[str, str | int]:
        return {}

    def deliver(self, ctx: ConnectionContext, deliveries: Sequence[Delivery]) -> list[Outcome]:
        raise NotImplementedError

    def receive_webhook(self, ctx: ConnectionContext, request: Request) -> WebhookReceipt:
        raise NotImplementedError

    def records_for_event(self, ctx: ConnectionContext, event: InboundEvent) -> list[SourceRecord]:
        raise NotImplementedError

    def respond_refused(self, status: int, code: str, message: str) -> Response:
        from connector.api import error_response

        return error_response(status, code, message)


KINDS: dict[str, SourceKind] = {}


def register(kind: SourceKind) -> SourceKind:
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> SourceKind:
    load_builtin_kinds()
    return KINDS[name]


def load_builtin_kinds() -> dict[str, SourceKind]:
    """Import the built-in kinds (each registers itself)."""
    import importlib

    for module in ("connector.sources.salesforce", "connector.sources.zendesk"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return KINDS
