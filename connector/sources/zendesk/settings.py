"""A Zendesk connection's settings: the schema admins fill in, the adapter's view of them, and which tickets
the connection selects (tag, ticket form, or the mapping's ``select``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from adapters.errors import AdapterError
from adapters.zendesk import ForeignUrl, ZendeskClient, ZendeskSettings, is_license_exception
from connector.sources import ConnectionContext, SourceError, push_fields
from connector.sources.errors import source_error
from mappings import ZENDESK_PLACEHOLDER_FIELDS

LABEL = "Zendesk"
#: Governance states, each written to the ticket as the tag ``license_exception_<state>``.
STATES = ("needs_info", "in_review", "approved", "denied", "withdrawn", "expired", "revoked")
ZENDESK_STATUSES = ("open", "pending", "hold", "solved")
#: a Zendesk id as text: ASCII digits only ("²".isdigit() is True)
TICKET_ID = re.compile(r"[0-9]{1,19}")
_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _iso_moment(value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError("Use an ISO 8601 date or date-time, e.g. 2024-01-01.") from exc


class ZendeskSettingsSchema(Schema):
    """A Zendesk connection's settings (SPEC §7.4); ``client_secret``, ``api_token`` and ``webhook_secret``
    are secrets (stored encrypted, never returned)."""

    class Meta:
        unknown = RAISE

    subdomain = fields.String(validate=validate.Regexp(_SUBDOMAIN, error="The part before .zendesk.com, "
                                                       "lowercase letters, digits and -."),
                              metadata={"description": "Your account is https://<subdomain>.zendesk.com."})
    client_id = fields.String(metadata={"description": "Unique identifier of the OAuth client (Admin Center)."})
    client_secret = fields.String(metadata={"description": "The OAuth client's secret (write-only)."})
    auth = fields.String(load_default="oauth", validate=validate.OneOf(("oauth", "api_token")),
                         metadata={"description": "oauth (recommended), or api_token: legacy basic auth that "
                                                  "Zendesk retires in 2027."})
    email = fields.Email(metadata={"description": "auth=api_token: the agent the API token belongs to."})
    api_token = fields.String(metadata={"description": "auth=api_token: the API token (write-only, legacy)."})
    webhook_secret = fields.String(metadata={"description": "The webhook's signing secret (write-only); "
                                                            "provisioning fills it in."})
    tag = fields.String(load_default="license_exception",
                        validate=validate.Regexp(r"^\S+$", error="A Zendesk tag is one word without spaces."),
                        metadata={"description": "Tickets with this tag are license exception requests."})
    # Zendesk ids are positive 64-bit integers: anything larger can be neither a Zendesk id nor stored
    ticket_form_id = fields.Integer(allow_none=True, validate=validate.Range(
                                        min=1, max=2**63 - 1, error="A Zendesk id: a whole number from 1 to {max}."),
                                    metadata={"description": "Tickets with this form are requests too."})
    field_ids = fields.Dict(keys=fields.String(validate=validate.OneOf(tuple(ZENDESK_PLACEHOLDER_FIELDS))),
                            values=fields.Integer(validate=validate.Range(
                                min=1, max=2**63 - 1, error="A Zendesk id: a whole number from 1 to {max}.")),
                            metadata={"description": "Custom ticket field ids by mapping placeholder name "
                                                     "(filled by provisioning, or set by the admin)."})
    export_requests_per_minute = fields.Integer(
        load_default=10, validate=validate.Range(min=0, max=1000),
        metadata={"description": "Pace of the incremental export (Zendesk allows 10 a minute); 0 turns pacing "
                                 "off, for sandboxes and benchmarks only."})
    base_url = fields.Url(require_tld=False, schemes={"http", "https"},
                          metadata={"description": "Overrides https://<subdomain>.zendesk.com: for sandboxes "
                                                   "and tests only; the host must be allowed by "
                                                   "CONNECTOR_ALLOWED_INSTANCE_HOSTS."})
    backfill_start = fields.String(validate=_iso_moment,
                                   metadata={"description": "First sync reads tickets changed since then "
                                                            "(default: the account's whole history)."})
    needs_info_comment = fields.String(load_default="public", validate=validate.OneOf(("public", "private")),
                                       metadata={"description": "What is missing goes to the ticket as a public "
                                                                "reply (default) or an internal note."})
    status_by_state = fields.Dict(keys=fields.String(validate=validate.OneOf(STATES)),
                                  values=fields.String(validate=validate.OneOf(ZENDESK_STATUSES)),
                                  metadata={"description": "Ticket status to set per governance state, e.g. "
                                                           "{needs_info: pending}; empty (default) leaves the "
                                                           "status to the agents."})
    allowed_push_networks = push_fields.allowed_push_networks()
    webhook_id = fields.String(metadata={"managed": True, "description": "Set by provisioning."})
    trigger_ids = fields.List(fields.Integer(), metadata={"managed": True, "description": "Set by provisioning."})
    app_id = fields.Integer(metadata={"managed": True, "description": "Set by provisioning: the ticket sidebar "
                                                                      "app the connector uploaded."})
    app_installation_id = fields.Integer(metadata={"managed": True, "description": "Set by provisioning: the app's "
                                                                                  "installation in the account."})

    @validates_schema
    def _credentials(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        problems: dict[str, list[str]] = {}
        if not data.get("subdomain") and not data.get("base_url"):
            problems["subdomain"] = ["Required: your account is https://<subdomain>.zendesk.com."]
        if data.get("auth", "oauth") == "oauth" and not data.get("client_id"):
            problems["client_id"] = ["Required with auth=oauth: create an OAuth client in Admin Center."]
        if data.get("auth") == "api_token":
            for name in ("email", "api_token"):
                if not data.get(name):
                    problems[name] = ["Required with auth=api_token."]
        if problems:
            raise ValidationError(problems)


def base_url_problem(base_url: Any, allowed_hosts: Sequence[str]) -> str | None:
    """Why ``base_url`` (which overrides ``https://<subdomain>.zendesk.com``) may not be called, or None: its host
    must be Zendesk's or allowed (``host`` or ``host:port``). The subdomain alone always names a Zendesk host."""
    if not base_url:
        return None
    try:
        parts = urlsplit(str(base_url))
        host, netloc = (parts.hostname or "").lower(), parts.netloc.lower()
    except ValueError:
        return "base_url is not a URL."
    allowed = {entry.strip().lower() for entry in allowed_hosts}
    if host.endswith(".zendesk.com") or host in allowed or netloc in allowed:
        return None
    return (f"base_url host {host!r} is not a Zendesk host; add it to CONNECTOR_ALLOWED_INSTANCE_HOSTS if it is "
            "your sandbox.")


def adapter_settings(ctx: ConnectionContext, redirect_uri: str | None = None) -> ZendeskSettings:
    """The adapter's view of the connection; refuses a ``base_url`` on a host nobody allowed."""
    s = ctx.settings
    base_url = s.get("base_url") or None
    problem = base_url_problem(base_url, ctx.allowed_instance_hosts)
    if problem is not None:
        raise SourceError("error", problem)
    form = s.get("ticket_form_id")
    try:
        return ZendeskSettings(
            subdomain=str(s.get("subdomain") or ""), client_id=s.get("client_id"),
            client_secret=s.get("client_secret"), auth=s.get("auth") or "oauth", email=s.get("email"),
            api_token=s.get("api_token"), webhook_secret=s.get("webhook_secret"),
            tag=str(s.get("tag") or "license_exception"), ticket_form_id=int(form) if form else None,
            redirect_uri=redirect_uri, base_url=base_url,
        )
    except ValueError as exc:
        raise SourceError("error", f"The Zendesk settings are incomplete: {exc}.") from exc


def make_client(ctx: ConnectionContext, redirect_uri: str | None = None) -> ZendeskClient:
    pace = ctx.settings.get("export_requests_per_minute", 10)
    return ZendeskClient(adapter_settings(ctx, redirect_uri), ctx.token_store, timeout=ctx.http_timeout,
                         export_requests_per_minute=pace or None)


def explanation(exc: AdapterError) -> str | None:
    """What Zendesk's own refusals mean to an admin, where that says more than the common sentence."""
    if isinstance(exc, ForeignUrl):
        return (f"Zendesk answered with a link to another host ({exc.host}); the connector only calls the "
                "account's own base URL, so nothing was sent there.")
    return None


def as_source_error(exc: AdapterError) -> SourceError:
    """An adapter error as the connection status an admin should see."""
    return source_error(exc, LABEL, explanation(exc))


def selections(ctx: ConnectionContext, settings: ZendeskSettings) -> list[ZendeskSettings]:
    """Which tickets are requests: the settings' tag/form, and the mapping's ``select`` when it names others."""
    chosen = [settings]
    select = dict(ctx.mapping.select or {}) if ctx.mapping is not None else {}
    tag, form = select.get("tag"), select.get("ticket_form_id")
    if (tag and tag != settings.tag) or (form and int(form) != settings.ticket_form_id):
        chosen.append(ZendeskSettings(subdomain=settings.subdomain, base_url=settings.base_url, tag=str(tag or ""),
                                      ticket_form_id=int(form) if form else None))
    return chosen


def flagged(ticket: Mapping[str, Any], chosen: Sequence[ZendeskSettings]) -> bool:
    return any(is_license_exception(ticket, s) for s in chosen)


def backfill_start(ctx: ConnectionContext) -> int:
    text = ctx.settings.get("backfill_start")
    if not text:
        return 0
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp()))
