"""The ``zendesk`` source kind: tickets flagged by tag or ticket form, synced in, decisions posted back.

Everything Zendesk-specific on the wire lives in ``adapters.zendesk``; this package turns a connection's settings
into adapter calls (``settings``), the incremental export and signed webhooks into source records (``read``), a
write-back into ticket updates — comments, the connector's custom fields, state tags and, when the admin asks for
it, a status (``writeback``) —, sets up the account's fields, webhook and triggers and installs the ticket sidebar
app (``provisioning``), and declares what a ticket looks like to a mapping (``dialect``). This module is the kind
the registry loads (entry point ``zendesk``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from marshmallow import Schema

from adapters.zendesk import ZendeskError
from adapters.zendesk import oauth as zendesk_oauth
from connector.sources import (
    AuthorizationResult,
    ConnectionContext,
    InboundPush,
    Outcome,
    Provisioned,
    PushEvent,
    PushReceipt,
    SourceDialect,
    SourceKind,
    SourcePage,
    SourceRecord,
    WriteBackItem,
)
from connector.sources.zendesk import provisioning, read, writeback
from connector.sources.zendesk.dialect import ZENDESK
from connector.sources.zendesk.settings import (
    LABEL,
    ZendeskSettingsSchema,
    adapter_settings,
    as_source_error,
    base_url_problem,
    make_client,
)
from mappings import MappingDocument, default_mapping

log = logging.getLogger(__name__)


class ZendeskKind(SourceKind):
    name: ClassVar[str] = "zendesk"
    label: ClassVar[str] = LABEL
    settings_schema: ClassVar[type[Schema]] = ZendeskSettingsSchema
    dialect: ClassVar[SourceDialect] = ZENDESK
    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret", "api_token", "webhook_secret")
    keeps_announcements: ClassVar[bool] = True  # a decision's reply and note, an ending's notice
    push_content_types: ClassVar[tuple[str, ...]] = ("application/json",)  # webhooks are JSON, signed as sent
    installs_app: ClassVar[bool] = True  # the ticket sidebar app, reading the connector with a source_app token

    def default_mapping(self) -> MappingDocument:
        return default_mapping("zendesk")

    def host_problems(self, settings: Mapping[str, Any], allowed_hosts: Sequence[str]) -> dict[str, str]:
        problem = base_url_problem(settings.get("base_url"), allowed_hosts)
        return {"base_url": problem} if problem is not None else {}

    # authorization -------------------------------------------------------------------------------------------

    def authorization_url(self, ctx: ConnectionContext, state: str, redirect_uri: str) -> tuple[str, str]:
        settings = adapter_settings(ctx, redirect_uri)
        try:
            return zendesk_oauth.authorization_url(settings, state)
        except ZendeskError as exc:
            raise as_source_error(exc) from exc

    def complete_authorization(self, ctx: ConnectionContext, code: str, code_verifier: str,
                               redirect_uri: str) -> AuthorizationResult:
        settings = adapter_settings(ctx, redirect_uri)
        try:
            token = zendesk_oauth.exchange_code(settings, code, code_verifier, timeout=ctx.http_timeout)
        except ZendeskError as exc:
            raise as_source_error(exc) from exc
        return AuthorizationResult(token=token)

    def authorize_without_browser(self, ctx: ConnectionContext) -> AuthorizationResult | None:
        """Legacy API-token auth (Zendesk retires API tokens in 2027): check the credentials once."""
        if (ctx.settings.get("auth") or "oauth") != "api_token":
            return None
        log.warning("Zendesk connection %s uses API-token auth, which Zendesk retires in 2027; switch to OAuth",
                    ctx.name)
        try:
            user = make_client(ctx).current_user()
        except ZendeskError as exc:
            raise as_source_error(exc) from exc
        return AuthorizationResult(token={"auth": "api_token", "user_id": user.get("id"),
                                          "verified_at": datetime.now(UTC).isoformat()})

    # reading, pushes, write-back, setup ----------------------------------------------------------------------

    def pages(self, ctx: ConnectionContext, watermark: Mapping[str, Any] | None) -> Iterator[SourcePage]:
        return read.pages(ctx, watermark)

    def fetch_record(self, ctx: ConnectionContext, external_id: str) -> SourceRecord:
        return read.fetch_record(ctx, external_id)

    def source_fields(self, ctx: ConnectionContext) -> set[str] | None:
        return read.source_fields(ctx)

    def mapping_placeholders(self, settings: Mapping[str, Any]) -> dict[str, str | int]:
        """``custom_fields.{name}`` in the mapping → the field id stored in ``field_ids``."""
        return {str(name): int(field_id) for name, field_id in (settings.get("field_ids") or {}).items()}

    def receive_webhook(self, ctx: ConnectionContext, push: InboundPush) -> PushReceipt:
        return read.receive_webhook(ctx, push)

    def records_for_event(self, ctx: ConnectionContext, event: PushEvent) -> list[SourceRecord]:
        return read.records_for_event(ctx, event)

    def records_for_events(self, ctx: ConnectionContext, events: Sequence[PushEvent]) -> list[SourceRecord]:
        return read.records_for_events(ctx, events)

    def deliver(self, ctx: ConnectionContext, items: Sequence[WriteBackItem]) -> list[Outcome]:
        return writeback.deliver(ctx, items)

    def provision(self, ctx: ConnectionContext) -> Provisioned:
        return provisioning.provision(ctx)
