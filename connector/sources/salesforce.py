"""The ``salesforce`` source kind: records of one sObject synced in, decisions written back to them.

Everything Salesforce-specific on the wire lives in ``adapters.salesforce``; this module turns a connection's
settings into adapter calls, adapter errors into connection statuses, pages of ``queryAll`` into source
records with a watermark, Outbound Messages into stored events, and deliveries into sObject Collections
updates (200 records per call, ``allOrNone: false``, one outcome per record).

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

3. **An Outbound Message** for near-real-time pushes (optional: every sync finds every change
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

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mfields

from adapters.salesforce import (
    AuthorizationRequired,
    CollectionUpdateError,
    DailyShareExceeded,
    InstanceHostRefused,
    LimitExceeded,
    OutboundMessageError,
    RecordResult,
    RetriableError,
    SalesforceClient,
    SalesforceError,
    SalesforceSettings,
    ack_response,
    build_incremental_query,
    build_records_query,
    parse_outbound_message,
)
from adapters.salesforce import oauth as sf_oauth
from adapters.salesforce.soql import validate_object_name
from connector.sources import (
    AuthorizationResult,
    ConnectionContext,
    Outcome,
    SourceError,
    SourceKind,
    SourcePage,
    SourceRecord,
    WebhookReceipt,
    WebhookRefused,
    register,
)
from connector.sources.dialects import SALESFORCE
from mappings import MappingDocument, SourceDialect, apply_outbound

if TYPE_CHECKING:
    from flask import Request

    from connector.models import Delivery, InboundEvent

log = logging.getLogger(__name__)

DEFAULT_OBJECT = "License_Exception_Request__c"
#: How far before the stored watermark each sync starts reading again: a transaction that commits late can
#: carry a ``SystemModstamp`` earlier than records already read.
LOOKBACK = timedelta(minutes=5)
#: Per-record errors that mean the record is gone: a ``withdrawn`` write-back has nothing left to tell.
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})
#: How long write-backs wait when the org's API allocation is used up before they are tried again.
LIMIT_HOLD_SECONDS = 900.0
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
#: Settings the adapter understands (the connector adds ``org_id``, ``instance_url``, ``api_usage_share``).
_ADAPTER_KEYS = frozenset(f.name for f in fields(SalesforceSettings)) - {"redirect_uri", "allowed_instance_hosts"}


# --- settings ---------------------------------------------------------------------------------------------------

def _object_name(value: str) -> None:
    try:
        validate_object_name(value)
    except ValueError as exc:
        raise ValidationError("An sObject API name, e.g. License_Exception_Request__c or Opportunity.") from exc


class SalesforceSettingsSchema(Schema):
    """A Salesforce connection's settings (SPEC §7.4); ``client_secret`` and ``private_key`` are secrets
    (stored encrypted, never returned)."""

    class Meta:
        unknown = RAISE

    login_url = mfields.Url(require_tld=False, schemes={"http", "https"}, load_default="https://login.salesforce.com",
                            metadata={"description": "https://login.salesforce.com, https://test.salesforce.com or "
                                                     "the org's My Domain URL."})
    client_id = mfields.String(required=True, validate=validate.Length(min=1),
                               metadata={"description": "The connected app's consumer key."})
    client_secret = mfields.String(metadata={"description": "The connected app's consumer secret (write-only)."})
    api_version = mfields.String(load_default="62.0",
                                 validate=validate.Regexp(r"^v?\d{2,3}\.\d$", error="Like 62.0."),
                                 metadata={"description": "REST API version, e.g. 62.0."})
    auth = mfields.String(load_default="web_server", validate=validate.OneOf(("web_server", "jwt",
                                                                               "client_credentials")),
                          metadata={"description": "web_server (an admin authorizes in the browser), jwt "
                                                   "(JWT bearer, server to server) or client_credentials."})
    username = mfields.String(metadata={"description": "auth=jwt: the integration user's username."})
    private_key = mfields.String(metadata={"description": "auth=jwt: the RSA private key (PEM) of the certificate "
                                                          "uploaded to the connected app (write-only)."})
    object = mfields.String(load_default=DEFAULT_OBJECT, validate=_object_name,
                            metadata={"description": "The sObject holding the requests; the mapping's object "
                                                     "must name the same one."})
    daily_limit_share = mfields.Float(load_default=0.8,
                                      validate=validate.Range(min=0, max=1, min_inclusive=False),
                                      metadata={"description": "Sync stops above this share of the org's daily "
                                                               "API allocation (0 < share <= 1)."})
    # Read-only (``managed``, see SourceKind.managed_settings): shown on the connection, refused as input.
    org_id = mfields.String(metadata={"managed": True,
                                      "description": "Set by authorization: Outbound Messages must come from it."})
    instance_url = mfields.String(metadata={"managed": True, "description": "Set by authorization (informational)."})
    api_usage_share = mfields.Float(metadata={"managed": True,
                                              "description": "Set by sync: the org's daily API usage last seen."})

    @validates_schema
    def _credentials(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        problems: dict[str, list[str]] = {}
        auth = data.get("auth", "web_server")
        if auth == "jwt":
            for name in ("username", "private_key"):
                if not data.get(name):
                    problems[name] = ["Required with auth=jwt."]
            key = str(data.get("private_key") or "")
            if key and ("-----BEGIN" not in key or "PRIVATE KEY-----" not in key):
                problems["private_key"] = ["An RSA private key in PEM form (-----BEGIN PRIVATE KEY-----…)."]
        if auth == "client_credentials" and not data.get("client_secret"):
            problems["client_secret"] = ["Required with auth=client_credentials."]
        if problems:
            raise ValidationError(problems)


def adapter_settings(ctx: ConnectionContext, redirect_uri: str | None = None) -> SalesforceSettings:
    """The adapter's view of the connection (with the connector's allow-list of test hosts)."""
    values = {key: value for key, value in ctx.settings.items() if key in _ADAPTER_KEYS}
    try:
        return SalesforceSettings.from_mapping(values, redirect_uri=redirect_uri,
                                               allowed_instance_hosts=tuple(ctx.allowed_instance_hosts))
    except (TypeError, ValueError) as exc:
        raise SourceError("error", f"The Salesforce settings are incomplete: {exc}.") from exc


def make_client(ctx: ConnectionContext, settings: SalesforceSettings | None = None) -> SalesforceClient:
    timeout = float(ctx.http_timeout)
    return SalesforceClient(settings or adapter_settings(ctx), ctx.token_store, timeout=(min(10.0, timeout), timeout))


def sobject_of(ctx: ConnectionContext, settings: SalesforceSettings) -> str:
    """The object to read and write: the connection's ``object``, which the mapping must agree with."""
    mapped = ctx.mapping.object if ctx.mapping is not None else None
    if mapped and mapped.lower() != settings.object.lower():
        raise SourceError("error", f"The mapping reads {mapped} but the connection's object setting is "
                                   f"{settings.object}; change one so they agree (nothing was read or written).")
    return settings.object


def read_fields(ctx: ConnectionContext) -> list[str]:
    """The fields to select: what the mapping reads (``Id``, ``SystemModstamp``, ``IsDeleted`` are added)."""
    if ctx.mapping is None:
        raise SourceError("error", f"Connection '{ctx.name}' has no mapping yet; set one before syncing.")
    return ctx.mapping.source_paths()


def source_error(exc: SalesforceError) -> SourceError:
    """An adapter error as the connection status an admin should see (never a token in the message)."""
    if isinstance(exc, DailyShareExceeded):
        used = exc.used / exc.limit if exc.limit else 1.0
        return SourceError("paused", f"Salesforce sync stopped at {used:.0%} of the daily API allocation "
                                     f"({exc.used} of {exc.limit} requests in the last 24 hours; this connection "
                                     f"stops above {exc.share:.0%} so the org's other integrations keep working). "
                                     "It resumes once usage drops below that share; nothing is lost.")
    if isinstance(exc, LimitExceeded):
        if exc.retry_after:
            return SourceError("paused", f"Salesforce refused the call ({exc.code}: {exc.message}): too many "
                                         f"long-running requests at once; paused, resuming after "
                                         f"{exc.retry_after:g} s.", exc.retry_after)
        return SourceError("paused", f"Salesforce refused the call ({exc.code}: {exc.message}): the org's daily "
                                     "API allocation is used up. The connection is paused until the rolling "
                                     "24-hour window frees calls; nothing is lost.")
    if isinstance(exc, AuthorizationRequired):
        return SourceError("needs_authorization", f"Salesforce refused the connector's authorization ({exc.code}: "
                                                  f"{exc.message}); nothing is lost: authorize the connection again "
                                                  "and work resumes where it stopped.")
    if isinstance(exc, InstanceHostRefused):
        return SourceError("error", f"{exc.message}. Use a Salesforce login URL, or add a test org's host to "
                                    "CONNECTOR_ALLOWED_INSTANCE_HOSTS.")
    if isinstance(exc, RetriableError):
        return SourceError("error", f"Salesforce is unavailable ({exc.code}: {exc.message}); the next attempt "
                                    "retries.", exc.retry_after)
    return SourceError("error", f"Salesforce refused the request ({exc.code}): {exc.message}")


def _identity(token: Mapping[str, Any]) -> dict[str, Any]:
    """What authorization records on the connection: the org (Outbound Messages must come from it)."""
    try:
        org_id = sf_oauth.org_id_from_identity_url(str(token.get("id") or ""))
    except ValueError as exc:
        raise SourceError("error", "Salesforce's token response carries no identity URL with the org id.") from exc
    return {"org_id": org_id, "instance_url": str(token.get("instance_url") or "")}


def _link_maker(client: SalesforceClient, sobject: str) -> Any:
    """``record id → Lightning URL``, reading the token's instance URL once instead of once per record."""
    template = client.record_url(sobject, "{id}")
    return lambda record_id: template.replace("{id}", record_id)


# --- sync: watermark with a look-back and de-duplication ---------------------------------------------------------

def parse_stamp(value: Any) -> datetime:
    """A REST datetime (``2026-11-20T10:30:00.000+0000``, or ISO 8601 with ``Z``) as an aware datetime."""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"SystemModstamp without an offset: {value!r}")
    return moment


def seen_key(record: Mapping[str, Any]) -> str:
    return f"{record['Id']}@{record['SystemModstamp']}"


@dataclass
class SyncWatermark:
    """``{"system_modstamp", "last_ids"}``: the newest ``SystemModstamp`` stored, and ``Id@SystemModstamp`` of
    the last page's records within the look-back window (re-read by the overlap, skipped when unchanged)."""

    stamp_text: str | None = None
    stamp: datetime | None = None
    last_ids: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, value: Mapping[str, Any] | None) -> SyncWatermark:
        text = (value or {}).get("system_modstamp")
        if not text:
            return cls()
        return cls(str(text), parse_stamp(text), [str(v) for v in (value or {}).get("last_ids") or ()])

    def since(self) -> datetime | None:
        return self.stamp - LOOKBACK if self.stamp is not None else None

    def already_seen(self, record: Mapping[str, Any], stamp: datetime, seen: frozenset[str]) -> bool:
        return self.stamp is not None and stamp <= self.stamp and seen_key(record) in seen

    def advance(self, page: Sequence[tuple[Mapping[str, Any], datetime]]) -> None:
        """Move to the newest record of a page (never backwards) and keep that page's window of ids."""
        if not page:
            return
        newest_record, newest = max(page, key=lambda item: item[1])
        if self.stamp is None or newest > self.stamp:
            self.stamp, self.stamp_text = newest, str(newest_record["SystemModstamp"])
        assert self.stamp is not None
        floor = self.stamp - LOOKBACK
        self.last_ids = sorted({seen_key(record) for record, stamp in page if stamp >= floor})

    def to_dict(self) -> dict[str, Any]:
        return {"system_modstamp": self.stamp_text, "last_ids": list(self.last_ids)}


# --- write-back -------------------------------------------------------------------------------------------------

def _errors_text(result: RecordResult) -> str:
    parts = []
    for err in result.errors:
        where = f" ({', '.join(err.fields)})" if err.fields else ""
        parts.append(f"{err.status_code}: {err.message}{where}")
    return "; ".join(parts) or "Salesforce reported a failure without details"


def record_outcome(result: RecordResult, change: str, sobject: str) -> Outcome:
    """One record of a Collections call as the outcome of its delivery."""
    if result.success:
        return Outcome("delivered", f"{sobject} {result.id} updated", 200)
    detail = f"{sobject} {result.id}: {_errors_text(result)}"
    if result.retriable:
        return Outcome("retry", detail, 200)
    if change == "withdrawn" and result.errors and all(e.status_code in GONE_CODES for e in result.errors):
        return Outcome("delivered", f"{sobject} {result.id} no longer exists in Salesforce", 200)
    return Outcome("dead", detail, 200)


def call_outcome(exc: SalesforceError) -> Outcome:
    """The outcome of the deliveries a failed Collections call did not reach (earlier chunks were written)."""
    if isinstance(exc, AuthorizationRequired):
        return Outcome("held", source_error(exc).message, exc.status, 60)
    if isinstance(exc, LimitExceeded):
        return Outcome("held", source_error(exc).message, exc.status, exc.retry_after or LIMIT_HOLD_SECONDS)
    if isinstance(exc, RetriableError):
        return Outcome("retry", f"{exc.code}: {exc.message}", exc.status, exc.retry_after)
    return Outcome("retry", f"{exc.code}: {exc.message}", exc.status)


@dataclass
class WriteBack:
    """A ``deliver`` call planned: one Collections record per distinct Salesforce record, and which deliveries
    each one answers for (a record named twice is written once, with the request as it stands now)."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    owners: dict[str, list[int]] = field(default_factory=dict)

    def add(self, record_id: str, values: Mapping[str, Any], index: int) -> None:
        self.records[record_id] = {"Id": record_id, **values}
        self.owners.setdefault(record_id, []).append(index)


def plan_write_back(deliveries: Sequence[Delivery], mapping: MappingDocument,
                    outcomes: list[Outcome | None]) -> WriteBack:
    plan = WriteBack()
    for index, row in enumerate(deliveries):
        view = (row.payload or {}).get("request") or {}
        record_id = str(view.get("external_id") or "")
        if not _RECORD_ID.match(record_id):
            outcomes[index] = Outcome("dead", f"the request names no Salesforce record (external_id "
                                              f"{record_id or 'missing'!r})")
            continue
        values = apply_outbound(mapping, view)
        if not values:
            outcomes[index] = Outcome("delivered", "the mapping writes no fields back")
            continue
        plan.add(record_id, values, index)
    return plan


# --- the kind ---------------------------------------------------------------------------------------------------

class SalesforceKind(SourceKind):
    name: ClassVar[str] = "salesforce"
    settings_schema: ClassVar[type[Schema]] = SalesforceSettingsSchema
    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret", "private_key")
    default_mapping_kind: ClassVar[str] = "salesforce"
    dialect: ClassVar[SourceDialect] = SALESFORCE

    # authorization -------------------------------------------------------------------------------------------

    def authorization_url(self, ctx: ConnectionContext, state: str, redirect_uri: str) -> tuple[str, str]:
        """The web server flow with PKCE: the consent page URL and the code verifier to keep."""
        settings = adapter_settings(ctx, redirect_uri)
        try:
            return sf_oauth.authorization_url(settings, state)
        except SalesforceError as exc:
            raise source_error(exc) from exc

    def complete_authorization(self, ctx: ConnectionContext, code: str, code_verifier: str,
                               redirect_uri: str) -> AuthorizationResult:
        settings = adapter_settings(ctx, redirect_uri)
        try:
            token = sf_oauth.exchange_code(settings, code, code_verifier)
        except SalesforceError as exc:
            raise source_error(exc) from exc
        return AuthorizationResult(token=token, settings_update=_identity(token))

    def authorize_without_browser(self, ctx: ConnectionContext) -> AuthorizationResult | None:
        """JWT bearer and client credentials need no browser: get a token now, proving the setup works."""
        settings = adapter_settings(ctx)
        if settings.auth == "web_server":
            return None
        try:
            token = sf_oauth.renew(settings, None)
        except SalesforceError as exc:
            raise source_error(exc) from exc
        except ValueError as exc:  # e.g. a private key that is not an RSA key
            raise SourceError("error", f"The JWT assertion cannot be signed: {exc}.") from exc
        return AuthorizationResult(token=token, settings_update=_identity(token))

    # reading -------------------------------------------------------------------------------------------------

    def pages(self, ctx: ConnectionContext, watermark: Mapping[str, Any] | None) -> Iterator[SourcePage]:
        """``queryAll`` on ``SystemModstamp`` from the watermark minus the look-back, one page per commit."""
        settings = adapter_settings(ctx)
        sobject = sobject_of(ctx, settings)
        mark = SyncWatermark.load(watermark)
        seen = frozenset(mark.last_ids)
        try:
            soql = build_incremental_query(sobject, read_fields(ctx), mark.since())
        except ValueError as exc:
            raise SourceError("error", f"The mapping cannot be read from Salesforce: {exc}.") from exc
        client = make_client(ctx, settings)
        skipped = deleted = 0
        try:
            self._check_allocation(ctx, client)
            calls = client.http_calls
            for page in client.query_pages(soql):
                link = _link_maker(client, sobject) if page.records else str
                stamped = [(raw, parse_stamp(raw["SystemModstamp"])) for raw in page.records]
                records: list[SourceRecord] = []
                for raw, stamp in stamped:
                    if mark.already_seen(raw, stamp, seen):
                        skipped += 1
                        continue
                    gone = bool(raw.get("IsDeleted"))
                    deleted += gone
                    records.append(SourceRecord(str(raw["Id"]), raw, link(str(raw["Id"])), gone))
                mark.advance(stamped)
                detail: dict[str, Any] = {"skipped_already_seen": skipped, "deleted_in_source": deleted}
                if client.usage_share is not None:
                    detail["api_usage_share"] = round(client.usage_share, 4)
                yield SourcePage(records, mark.to_dict(), http_calls=client.http_calls - calls, detail=detail)
                calls = client.http_calls
        except SalesforceError as exc:
            raise source_error(exc) from exc
        except (KeyError, ValueError) as exc:
            raise SourceError("error", f"Salesforce returned a record without a usable Id or SystemModstamp: "
                                       f"{exc}.") from exc

    @staticmethod
    def _check_allocation(ctx: ConnectionContext, client: SalesforceClient) -> None:
        """When the last sync saw usage above the share, read ``/limits`` (one call) before querying."""
        last = ctx.settings.get("api_usage_share")
        if isinstance(last, int | float) and last > client.settings.daily_limit_share:
            client.limits()
            client.check_daily_limit()

    def fetch_record(self, ctx: ConnectionContext, external_id: str) -> SourceRecord:
        """One live record with the mapping's fields (for the mapping preview)."""
        record_id = str(external_id).strip()
        if not _RECORD_ID.match(record_id):
            raise SourceError("error", f"A Salesforce record id has 15 or 18 letters and digits, not {external_id!r}.")
        rows, client, sobject = self._records(ctx, [record_id], include_deleted=False)
        if not rows:
            raise SourceError("error", f"No {sobject} record {record_id} is visible to the connector's user.")
        return SourceRecord(str(rows[0]["Id"]), rows[0], _link_maker(client, sobject)(str(rows[0]["Id"])))

    def _records(self, ctx: ConnectionContext, ids: list[str],
                 include_deleted: bool) -> tuple[list[dict[str, Any]], SalesforceClient, str]:
        settings = adapter_settings(ctx)
        sobject = sobject_of(ctx, settings)
        try:
            soql = build_records_query(sobject, read_fields(ctx), ids)
        except ValueError as exc:
            raise SourceError("error", f"Cannot query these records: {exc}.") from exc
        client = make_client(ctx, settings)
        try:
            self._check_allocation(ctx, client)  # pushes respect the daily share as the sync does
            return client.query_all(soql, include_deleted=include_deleted), client, sobject
        except SalesforceError as exc:
            raise source_error(exc) from exc

    def source_fields(self, ctx: ConnectionContext) -> set[str] | None:
        """Field and relationship names of the object, per ``describe`` (mapping validation when live)."""
        settings = adapter_settings(ctx)
        try:
            return set(make_client(ctx, settings).describe(settings.object).field_names)
        except SalesforceError as exc:
            raise source_error(exc) from exc

    # pushes --------------------------------------------------------------------------------------------------

    def receive_webhook(self, ctx: ConnectionContext, request: Request) -> WebhookReceipt:
        """An Outbound Message: parsed, checked to come from the connection's org, one event per notification
        (keyed by the notification ``Id``); the Ack is produced only once the events are stored."""
        from flask import Response

        sobject = str(ctx.settings.get("object") or DEFAULT_OBJECT)
        try:
            message = parse_outbound_message(request.get_data(cache=True), expected_object=sobject)
        except OutboundMessageError as exc:
            raise WebhookRefused(400, "malformed_outbound_message",
                                 f"Outbound Message refused: {exc.message}.") from exc
        org_id = str(ctx.settings.get("org_id") or "")
        if not org_id:
            raise WebhookRefused(403, "org_unknown", "This connection has not been authorized yet, so its org is "
                                 "unknown; authorize it before sending Outbound Messages. Nothing was stored.")
        if message.organization_id[:15] != org_id[:15]:
            raise WebhookRefused(403, "org_mismatch", f"The Outbound Message comes from org "
                                 f"{message.organization_id}, not from the org this connection is authorized for; "
                                 "nothing was stored.")
        missing = [n.id for n in message.notifications if not n.record_id or not _RECORD_ID.match(n.record_id)]
        if missing:
            raise WebhookRefused(400, "record_id_missing", f"Notification {missing[0]} carries no record Id: add "
                                 "the Id field to the Outbound Message. Nothing was stored.")
        events = [{"event_key": f"notification:{n.id}", "external_id": n.record_id,
                   "payload": {"notification_id": n.id, "record_id": n.record_id, "object": n.sobject_type,
                               "action_id": message.action_id}}
                  for n in message.notifications]

        def respond(stored: int) -> Response:
            return Response(ack_response(True), status=200, content_type="text/xml; charset=utf-8")

        return WebhookReceipt(events=events, respond=respond)

    def records_for_event(self, ctx: ConnectionContext, event: InboundEvent) -> list[SourceRecord]:
        """The record a notification names, read now with the mapping's fields (``queryAll``: deletions too)."""
        record_id = str(event.external_id or (event.payload or {}).get("record_id") or "")
        if not _RECORD_ID.match(record_id):
            log.warning("outbound message event %s names no record id", event.id)
            return []
        rows, client, sobject = self._records(ctx, [record_id], include_deleted=True)
        if not rows:  # purged, or not shared with the integration user: nothing to say about it
            log.warning("%s record %s of connection %s is not visible; event %s ignored", sobject, record_id,
                        ctx.name, event.id)
            return []
        link = _link_maker(client, sobject)
        return [SourceRecord(str(row["Id"]), row, link(str(row["Id"])), bool(row.get("IsDeleted"))) for row in rows]

    # write-back ----------------------------------------------------------------------------------------------

    def deliver(self, ctx: ConnectionContext, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Every delivery of the call in sObject Collections updates (200 per call, ``allOrNone: false``);
        each record's result becomes its delivery's outcome, in order."""
        if ctx.mapping is None:
            raise SourceError("error", f"Connection '{ctx.name}' has no mapping; nothing can be written back.")
        settings = adapter_settings(ctx)
        sobject = sobject_of(ctx, settings)
        outcomes: list[Outcome | None] = [None] * len(deliveries)
        plan = plan_write_back(deliveries, ctx.mapping, outcomes)
        ids = list(plan.records)
        if ids:
            results, failure = self._update(make_client(ctx, settings), sobject, [plan.records[i] for i in ids])
            for record_id, result in zip(ids, results, strict=False):
                for index in plan.owners[record_id]:
                    change = str((deliveries[index].payload or {}).get("change") or "")
                    outcomes[index] = record_outcome(result, change, sobject)
            if failure is not None:
                rest = call_outcome(failure)
                for record_id in ids[len(results):]:
                    for index in plan.owners[record_id]:
                        outcomes[index] = rest
        return [o if o is not None else Outcome("retry", "not attempted") for o in outcomes]

    @staticmethod
    def _update(client: SalesforceClient, sobject: str,
                records: list[dict[str, Any]]) -> tuple[list[RecordResult], SalesforceError | None]:
        """Results obtained, and the error that stopped the rest (a whole-call failure before any write that
        concerns the connection, not single records, is raised for the connection's status)."""
        try:
            return client.update_records(sobject, records), None
        except CollectionUpdateError as exc:
            return list(exc.completed), exc.cause
        except RetriableError as exc:  # 5xx, timeouts: every delivery of the call is retried
            return [], exc
        except SalesforceError as exc:
            raise source_error(exc) from exc
        except ValueError as exc:  # an outbound key that is not a field name (validation normally stops it)
            raise SourceError("error", f"The outbound mapping cannot be written to Salesforce: {exc}.") from exc


register(SalesforceKind())
