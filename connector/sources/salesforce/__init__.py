"""The ``salesforce`` source kind: records of one sObject synced in, decisions written back to them.

Everything Salesforce-specific on the wire lives in ``adapters.salesforce``; this package turns a connection's
settings into adapter calls (``settings``), pages of ``queryAll`` and Outbound Messages into source records
(``read``), write-backs into sObject Collections updates (``writeback``), and declares what a Salesforce record
looks like to a mapping (``dialect``). This module is the kind the registry loads (entry point ``salesforce``).

What a Salesforce admin sets up
-------------------------------
1. **A connected app** (Setup → App Manager → New Connected App; or an External Client App) with OAuth enabled:

   - Callback URL: ``<CONNECTOR_BASE_URL>/oauth/callback`` (exactly; the connector sends it as ``redirect_uri``).
   - OAuth scopes: *Manage user data via APIs (api)* and *Perform requests at any time (refresh_token,
     offline_access)*. The connector uses PKCE, so *Require Proof Key for Code Exchange* may be switched on.
   - Copy the consumer key and secret into the connection's ``client_id`` and ``client_secret``.
   - ``auth: jwt`` (server to server): tick *Use digital signatures* and upload the certificate whose private
     key goes into ``private_key``; set *Permitted Users* to *Admin approved users are pre-authorized* and
     give the integration user's profile or permission set access to the app; ``username`` is that user.
   - ``auth: client_credentials``: tick *Enable Client Credentials Flow* and choose a *Run As* user;
     ``login_url`` must then be the org's My Domain (``https://<domain>.my.salesforce.com``).
   - ``login_url``: ``https://login.salesforce.com`` (production), ``https://test.salesforce.com``
     (sandboxes) or the My Domain URL.

2. **The integration user** (the one who authorizes, or the JWT/Run As user): *API Enabled*; read access to
   the object (``object`` setting, default ``License_Exception_Request__c``) and to every field the mapping
   reads, including related ones such as ``Account__r.Name``; edit access to the fields the mapping writes
   back (``Governance_Status__c``, ``Decision__c``, ``Entitlement_Expires__c`` …).

3. **The package** (``connections provision <name>`` deploys it through the Metadata API; see
   ``provisioning``): the object, its page and status component, permission sets, quick actions, and the push.
   Or by hand, **an Outbound Message** for near-real-time pushes (optional: every sync finds every change
   anyway): Setup → Outbound Messages → New, on the same object, Endpoint URL
   ``<CONNECTOR_BASE_URL>/webhooks/salesforce/<connection name>`` (Salesforce accepts ports 80, 443 and
   7000-10000 only), with at least the ``Id`` field; leave *Send Session ID* unticked (the connector never
   uses it). Fire it from a record-triggered Flow (action *Outbound Message*) on create and update. The
   connector accepts only messages whose ``OrganizationId`` is the org the connection was authorized
   against, acknowledges each one once it is stored, and fetches the record itself with the mapping's
   fields. Excluding changes made by the integration user in the Flow's entry conditions saves API calls
   (the connector's own write-back then triggers no message).

4. **API allocation**: the connector stops syncing above ``daily_limit_share`` (default 0.8) of the org's
   daily API requests so the org's other integrations keep working, and says so on the connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from marshmallow import Schema

from adapters.salesforce import InstanceHostRefused, SalesforceError
from adapters.salesforce import oauth as sf_oauth
from connector.sources import (
    AuthorizationResult,
    ConnectionContext,
    InboundPush,
    Outcome,
    Provisioned,
    PushEvent,
    PushReceipt,
    SourceDialect,
    SourceError,
    SourceKind,
    SourcePage,
    SourceRecord,
    WriteBackItem,
)
from connector.sources.salesforce import provisioning, read, writeback
from connector.sources.salesforce.dialect import SALESFORCE
from connector.sources.salesforce.settings import LABEL, SalesforceSettingsSchema, adapter_settings, as_source_error
from mappings import MappingDocument, default_mapping


def _identity(token: Mapping[str, Any]) -> dict[str, Any]:
    """What authorization records on the connection: the org (Outbound Messages must come from it)."""
    try:
        org_id = sf_oauth.org_id_from_identity_url(str(token.get("id") or ""))
    except ValueError as exc:
        raise SourceError("error", "Salesforce's token response carries no identity URL with the org id.") from exc
    return {"org_id": org_id, "instance_url": str(token.get("instance_url") or "")}


class SalesforceKind(SourceKind):
    name: ClassVar[str] = "salesforce"
    label: ClassVar[str] = LABEL
    settings_schema: ClassVar[type[Schema]] = SalesforceSettingsSchema
    dialect: ClassVar[SourceDialect] = SALESFORCE
    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret", "private_key")
    #: SOAP 1.1 (what Outbound Messages use) or SOAP 1.2
    push_content_types: ClassVar[tuple[str, ...]] = ("text/xml", "application/soap+xml")

    def default_mapping(self) -> MappingDocument:
        return default_mapping("salesforce")

    def host_problems(self, settings: Mapping[str, Any], allowed_hosts: Sequence[str]) -> dict[str, str]:
        """``login_url`` must be a Salesforce host (https) or allowed; ``instance_url`` is checked when a token
        brings it."""
        if not settings.get("login_url"):
            return {}
        try:
            sf_oauth.check_origin(str(settings["login_url"]), allowed_hosts, "login_url")
        except InstanceHostRefused as exc:
            return {"login_url": f"{exc.message}; add it to CONNECTOR_ALLOWED_INSTANCE_HOSTS if it is your sandbox."}
        return {}

    # authorization -------------------------------------------------------------------------------------------

    def authorization_url(self, ctx: ConnectionContext, state: str, redirect_uri: str) -> tuple[str, str]:
        """The web server flow with PKCE: the consent page URL and the code verifier to keep."""
        settings = adapter_settings(ctx, redirect_uri)
        try:
            return sf_oauth.authorization_url(settings, state)
        except SalesforceError as exc:
            raise as_source_error(exc) from exc

    def complete_authorization(self, ctx: ConnectionContext, code: str, code_verifier: str,
                               redirect_uri: str) -> AuthorizationResult:
        settings = adapter_settings(ctx, redirect_uri)
        try:
            token = sf_oauth.exchange_code(settings, code, code_verifier)
        except SalesforceError as exc:
            raise as_source_error(exc) from exc
        return AuthorizationResult(token=token, settings_update=_identity(token))

    def authorize_without_browser(self, ctx: ConnectionContext) -> AuthorizationResult | None:
        """JWT bearer and client credentials need no browser: get a token now, proving the setup works."""
        settings = adapter_settings(ctx)
        if settings.auth == "web_server":
            return None
        try:
            token = sf_oauth.renew(settings, None)
        except SalesforceError as exc:
            raise as_source_error(exc) from exc
        except ValueError as exc:  # e.g. a private key that is not an RSA key
            raise SourceError("error", f"The JWT assertion cannot be signed: {exc}.") from exc
        return AuthorizationResult(token=token, settings_update=_identity(token))

    # reading, pushes, write-back -----------------------------------------------------------------------------

    def pages(self, ctx: ConnectionContext, watermark: Mapping[str, Any] | None) -> Iterator[SourcePage]:
        return read.pages(ctx, watermark)

    def fetch_record(self, ctx: ConnectionContext, external_id: str) -> SourceRecord:
        return read.fetch_record(ctx, external_id)

    def source_fields(self, ctx: ConnectionContext) -> set[str] | None:
        return read.source_fields(ctx)

    def receive_webhook(self, ctx: ConnectionContext, push: InboundPush) -> PushReceipt:
        return read.receive_webhook(ctx, push)

    def records_for_event(self, ctx: ConnectionContext, event: PushEvent) -> list[SourceRecord]:
        return read.records_for_event(ctx, event)

    def records_for_events(self, ctx: ConnectionContext, events: Sequence[PushEvent]) -> list[SourceRecord]:
        return read.records_for_events(ctx, events)

    def deliver(self, ctx: ConnectionContext, items: Sequence[WriteBackItem]) -> list[Outcome]:
        return writeback.deliver(ctx, items)

    # provisioning --------------------------------------------------------------------------------------------

    def provision(self, ctx: ConnectionContext) -> Provisioned:
        """Deploy the connector's package (object, page, component, permission sets, the push) into the org."""
        return provisioning.provision(ctx)
