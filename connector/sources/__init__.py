"""The source contract: what a source kind (Salesforce, Zendesk, a third one) is given and gives back.

The connector's generic machinery (connections, sync, the webhooks inbox, provisioning, the connection sender)
calls a kind with plain data only — a ``ConnectionContext`` (a snapshot of one connection with a token store),
an ``InboundPush`` (a pushed body and its headers), ``PushEvent``s it stored, ``WriteBackItem``s to write back —
and gets plain data back: ``SourcePage``s, ``SourceRecord``s, a ``PushReceipt`` with the ``Ack`` to answer,
``Outcome``s, ``Provisioned``. No Flask request or response and no database row crosses this module, so a kind
runs without an app or a session, and the wire format stays in its adapter package.

Kinds are found through the entry-point group ``license_exception_connector.sources`` (the built-in two register
the same way in ``pyproject.toml``): a third kind ships as its own distribution.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from marshmallow import Schema

from adapters.tokens import TokenStore
from mappings import MappingDocument
from mappings.dialect import SourceDialect  # part of the contract: each kind declares one

#: the entry-point group a distribution registers its source kinds under (name = the kind's ``name``)
ENTRY_POINT_GROUP = "license_exception_connector.sources"


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
    #: the policy's templates (write-back: the wording of the notices a kind posts), by name
    templates: Mapping[str, str] = field(default_factory=dict)
    #: provisioning only, for a kind that installs an app in the source (``SourceKind.installs_app``): the clear
    #: ``source_app`` token the app reads the connector with, to store in the source's secure settings (never in
    #: a setting, a summary or a log); the connector stores its hash once provisioning succeeded
    app_token: str | None = field(default=None, repr=False)


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


# --- pushes -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboundPush:
    """A push as it arrived: the raw body, its headers (looked up without regard to case), when and from where."""

    body: bytes
    headers: Mapping[str, str]
    received_at: datetime
    remote_addr: str | None = None

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name on the wire."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


@dataclass(frozen=True)
class Ack:
    """The answer to a push: a JSON body (a dict) or raw bytes, with their headers."""

    status: int
    body: bytes | dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushEvent:
    """One event a push carried: stored once per ``event_key`` (de-duplication), processed later by the worker,
    which hands it back with its stored ``id`` to ``records_for_event``."""

    event_key: str
    external_id: str | None
    payload: Mapping[str, Any]
    id: int | None = None


@dataclass(frozen=True)
class PushReceipt:
    """What a verified push carried, and the answer to send once its events are stored (``duplicate``: the
    answer when every one of them had been stored before; the same as ``ack`` when None).

    ``replay_key`` identifies the signed request itself (a digest of its signature): the connector remembers it
    until ``replay_until`` (when the signature could no longer be accepted), and the same key again is answered
    ``duplicate`` and stores nothing, whatever else of the request changed."""

    events: list[PushEvent]
    ack: Ack
    duplicate: Ack | None = None
    replay_key: str | None = None
    replay_until: datetime | None = None

    def answer(self, stored: int) -> Ack:
        return self.ack if stored or self.duplicate is None else self.duplicate


# --- write-back ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WriteBackItem:
    """One delivery to write back: the ``change`` that queued it, the request as it stands now (``view``, its
    public representation), what an announcement pinned when it was queued (``announces``: the decision and
    entitlement a reply tells), and which ``attempt`` this is (1 the first time: a later one may find part of
    it already written)."""

    change: str
    view: Mapping[str, Any]
    announces: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1
    delivery_id: int | None = None
    message_id: str | None = None

    @property
    def retried(self) -> bool:
        """Whether an earlier attempt may have written part of it (a reply without its note)."""
        return self.attempt > 1


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


# --- provisioning -------------------------------------------------------------------------------------------------

@dataclass
class Provisioned:
    """What provisioning created or found: settings to merge, secrets to store encrypted, a report to show."""

    settings: dict[str, Any]
    secrets: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Provisioner(Protocol):
    """A kind that creates what it needs in the source (Zendesk: ticket fields, a webhook, triggers)."""

    def provision(self, ctx: ConnectionContext) -> Provisioned: ...


# --- errors -------------------------------------------------------------------------------------------------------

class SourceError(Exception):
    """A source problem with a connection status to show (``needs_authorization``, ``paused``, ``error``)."""

    def __init__(self, status: str, message: str, retry_after: float | None = None,
                 problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after
        #: what the source refused, one line each (a deployment's components, an app build's checks)
        self.problems = list(problems)


class WebhookRefused(Exception):
    """A push that fails verification or is malformed: answered 4xx, nothing stored."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# --- the kind -----------------------------------------------------------------------------------------------------

class SourceKind:
    """Base class: a kind overrides what it supports; the rest says plainly that it is not supported."""

    name: ClassVar[str]
    #: how people call the source ("Salesforce"): forms, messages
    label: ClassVar[str]
    settings_schema: ClassVar[type[Schema]]
    secret_fields: ClassVar[tuple[str, ...]] = ()
    #: what the kind's records look like to a mapping (validation takes it instead of branching on the kind)
    dialect: ClassVar[SourceDialect]
    #: The source is told a decision or an ending once, in words a later state cannot carry (a Zendesk reply and
    #: internal note): such write-backs are never superseded. A source that is only ever set to the request's
    #: current state (Salesforce fields) lets the newest write-back replace older unsent ones.
    keeps_announcements: ClassVar[bool] = False
    #: the media types a push may have (``Content-Type`` without its parameters); others are refused with 415
    push_content_types: ClassVar[tuple[str, ...]] = ()
    #: provisioning installs an app in the source that reads the connector (the Zendesk ticket sidebar): the
    #: connector issues it a ``source_app`` token each time (``ConnectionContext.app_token``), replacing the last
    installs_app: ClassVar[bool] = False

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

    def host_problems(self, settings: Mapping[str, Any], allowed_hosts: Sequence[str]) -> dict[str, str]:
        """The settings (by name, with why) holding a URL the connector would call on a host nobody allowed.

        Checked when a connection is created or changed (a 422 there), besides where the URL is used: an admin
        learns at once that ``http://169.254.169.254`` will never be called. ``allowed_hosts`` is
        ``CONNECTOR_ALLOWED_INSTANCE_HOSTS``; a kind without URL settings has nothing to say."""
        return {}

    def default_mapping(self) -> MappingDocument:
        """The mapping a new connection of this kind starts with."""
        raise NotImplementedError

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

    def deliver(self, ctx: ConnectionContext, items: Sequence[WriteBackItem]) -> list[Outcome]:
        """One outcome per item, in order."""
        raise NotImplementedError

    def receive_webhook(self, ctx: ConnectionContext, push: InboundPush) -> PushReceipt:
        """Verify and read a push (``WebhookRefused`` when it is not to be stored)."""
        raise NotImplementedError

    def records_for_event(self, ctx: ConnectionContext, event: PushEvent) -> list[SourceRecord]:
        raise NotImplementedError

    def records_for_events(self, ctx: ConnectionContext, events: Sequence[PushEvent]) -> list[SourceRecord]:
        """The records several pending events point at (one event per record), fetched together where the
        source allows it (a kind overrides this: one query for many ids); by default one event at a time."""
        return [record for event in events for record in self.records_for_event(ctx, event)]


# --- the registry -------------------------------------------------------------------------------------------------

@functools.cache
def kinds() -> dict[str, SourceKind]:
    """Every installed kind by name, read once from the entry-point group (``clear_registry`` reads again).

    An entry point names a ``SourceKind`` subclass (instantiated here) or an instance; its name must be the
    kind's ``name``.
    """
    found: dict[str, SourceKind] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found:
            continue  # the same distribution seen twice on the path: the first one wins, as imports do
        loaded = entry.load()
        kind = loaded() if isinstance(loaded, type) else loaded
        if not isinstance(kind, SourceKind) or kind.name != entry.name:
            raise TypeError(f"entry point {entry.name} = {entry.value} in {ENTRY_POINT_GROUP} is not a source kind "
                            f"named {entry.name!r}")
        found[entry.name] = kind
    return dict(sorted(found.items()))


def clear_registry() -> None:
    """Forget the kinds read so far (a distribution installed or removed while the process runs)."""
    kinds.cache_clear()


def get_kind(name: str) -> SourceKind:
    """The installed kind ``name``; ``KeyError`` when none is."""
    return kinds()[name]

