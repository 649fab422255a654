"""A Salesforce connection's settings: the schema admins fill in, and the adapter's view of them."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mfields

from adapters.errors import AdapterError
from adapters.salesforce import (
    DailyShareExceeded,
    InstanceHostRefused,
    LimitExceeded,
    SalesforceClient,
    SalesforceSettings,
)
from adapters.salesforce.soql import validate_object_name
from connector.sources import ConnectionContext, SourceError, push_fields
from connector.sources.errors import source_error

LABEL = "Salesforce"
DEFAULT_OBJECT = "License_Exception_Request__c"
#: a Salesforce record id: 15 letters and digits, or 18 with the case-safe suffix
RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
#: Settings the adapter understands (the connector adds ``org_id``, ``instance_url``, ``api_usage_share``).
_ADAPTER_KEYS = frozenset(f.name for f in fields(SalesforceSettings)) - {"redirect_uri", "allowed_instance_hosts"}


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
    allowed_push_networks = push_fields.allowed_push_networks()
    # Read-only (``managed``, see SourceKind.managed_settings): shown on the connection, refused as input.
    org_id = mfields.String(metadata={"managed": True,
                                      "description": "Set by authorization: Outbound Messages must come from it."})
    instance_url = mfields.String(metadata={"managed": True, "description": "Set by authorization (informational)."})
    api_usage_share = mfields.Float(metadata={"managed": True,
                                              "description": "Set by sync: the org's daily API usage last seen."})
    push_url = mfields.String(metadata={"managed": True, "description": "Set by provisioning: where the deployed "
                                        "outbound message posts."})
    integration_user = mfields.String(metadata={"managed": True, "description": "Set by provisioning: the user the "
                                                "deployed outbound message runs as."})

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


def explanation(exc: AdapterError) -> str | None:
    """What Salesforce's own refusals mean to an admin, where that says more than the common sentence."""
    if isinstance(exc, DailyShareExceeded):
        used = exc.used / exc.limit if exc.limit else 1.0
        return (f"Salesforce sync stopped at {used:.0%} of the daily API allocation ({exc.used} of {exc.limit} "
                f"requests in the last 24 hours; this connection stops above {exc.share:.0%} so the org's other "
                "integrations keep working). It resumes once usage drops below that share; nothing is lost.")
    if isinstance(exc, LimitExceeded) and exc.retry_after:
        return (f"Salesforce refused the call ({exc.code}: {exc.message}): too many long-running requests at "
                f"once; paused, resuming after {exc.retry_after:g} s.")
    if isinstance(exc, LimitExceeded):
        return (f"Salesforce refused the call ({exc.code}: {exc.message}): the org's daily API allocation is used "
                "up. The connection is paused until the rolling 24-hour window frees calls; nothing is lost.")
    if isinstance(exc, InstanceHostRefused):
        return (f"{exc.message}. Use a Salesforce login URL, or add a test org's host to "
                "CONNECTOR_ALLOWED_INSTANCE_HOSTS.")
    return None


def as_source_error(exc: AdapterError) -> SourceError:
    """An adapter error as the connection status an admin should see."""
    return source_error(exc, LABEL, explanation(exc))
