"""Committee notification preferences: a person's own (any signed-in principal) and each committee role's (admin).

Webhook URLs are write-only: an answer says which webhooks are set, never their URLs.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from connector import notifications
from connector.api.blueprint import make_blueprint
from connector.auth import ROLES, current_principal, requires
from connector.governance.errors import InvalidInput
from connector.governance.policy import COMMITTEE_ROLES

blp = make_blueprint("notifications", __name__, "Committee notifications: who is told what, by e-mail, Slack or "
                                                 "Microsoft Teams, at once or in a daily digest.", "/notifications")

EXAMPLE = {"channels": ["email", "slack"], "events": ["routed", "reminder", "decision"], "mode": "digest",
           "email": "dana@vendor.example",
           "webhooks": {"slack": "https://hooks.slack.com/services/T000/B000/XXXXXXXX"}}


class WebhooksInSchema(Schema):
    class Meta:
        unknown = RAISE

    slack = fields.String(allow_none=True, validate=validate.Length(max=notifications.MAX_WEBHOOK_URL), metadata={
        "description": "Slack incoming-webhook URL (https); left out: unchanged; \"\": removed"})
    teams = fields.String(allow_none=True, validate=validate.Length(max=notifications.MAX_WEBHOOK_URL), metadata={
        "description": "Microsoft Teams incoming-webhook URL (https); left out: unchanged; \"\": removed"})


class PreferenceInSchema(Schema):
    class Meta:
        unknown = RAISE

    channels = fields.List(fields.String(validate=validate.OneOf(notifications.CHANNELS)), required=True,
                           validate=validate.Length(max=len(notifications.CHANNELS)),
                           metadata={"description": "where messages go; [] turns notifications off"})
    events = fields.List(fields.String(validate=validate.OneOf(notifications.EVENTS)), required=True,
                         validate=validate.Length(max=len(notifications.EVENTS)), metadata={
                             "description": "; ".join(f"`{k}`: {v}" for k, v in notifications.EVENT_TEXT.items())})
    mode = fields.String(load_default="immediate", validate=validate.OneOf(notifications.MODES), metadata={
        "description": "`immediate`, or `digest`: one message a day from `CONNECTOR_DIGEST_HOUR` (UTC); roles are "
                       "always immediate"})
    email = fields.Email(allow_none=True, load_default=None, validate=validate.Length(max=320), metadata={
        "description": "address for the `email` channel; a person's default is their sign-in e-mail"})
    webhooks = fields.Nested(WebhooksInSchema, load_default=dict)


class WebhooksSetSchema(Schema):
    slack = fields.Boolean(required=True)
    teams = fields.Boolean(required=True)


class PreferenceSchema(Schema):
    channels = fields.List(fields.String(), required=True)
    events = fields.List(fields.String(), required=True)
    mode = fields.String(required=True, metadata={"enum": list(notifications.MODES)})
    email = fields.String(allow_none=True)
    webhooks = fields.Nested(WebhooksSetSchema, required=True, metadata={
        "description": "which webhooks are set (their URLs are never shown)"})
    updated_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    updated_by = fields.String(allow_none=True)
    principal = fields.String(metadata={"description": "a person's preference: whose"})
    default_email = fields.String(allow_none=True, metadata={"description": "the person's sign-in e-mail"})
    role = fields.String(metadata={"description": "a role's preference: which committee role"})


def _role(role: str) -> str:
    if role not in COMMITTEE_ROLES:
        raise InvalidInput("unknown_role", f"No committee role {role!r}.",
                           {"fields": {"role": [f"One of: {', '.join(COMMITTEE_ROLES)}."]}})
    return role


@blp.route("/preferences")
@blp.response(200, PreferenceSchema, description="Your own notification preferences (none set: no channels).")
@requires(*ROLES)
def get_own() -> dict[str, Any]:
    principal = current_principal()
    return notifications.preference_view(notifications.preference_of(principal=principal), principal=principal)


@blp.route("/preferences", methods=["PUT"])
@blp.arguments(PreferenceInSchema, example=EXAMPLE)
@blp.response(200, PreferenceSchema, description="Your preferences, replaced (audited, without webhook URLs).")
@requires(*ROLES)
def put_own(body: dict[str, Any]) -> dict[str, Any]:
    principal = current_principal()
    pref = notifications.save_preference(body, principal.name, principal=principal)
    return notifications.preference_view(pref, principal=principal)


@blp.route("/roles/<role>")
@blp.response(200, PreferenceSchema, description="A committee role's channel (for the whole role, immediate).")
@blp.alt_response(422, description="`unknown_role`: not a committee role.")
@requires("admin")
def get_role(role: str) -> dict[str, Any]:
    role = _role(role)
    return notifications.preference_view(notifications.preference_of(role=role), role=role)


@blp.route("/roles/<role>", methods=["PUT"])
@blp.arguments(PreferenceInSchema, example={**EXAMPLE, "mode": "immediate", "channels": ["teams"], "webhooks": {
    "teams": "https://example.webhook.office.com/webhookb2/XXXXXXXX"}})
@blp.response(200, PreferenceSchema, description="The role's preferences, replaced (audited, without webhook URLs).")
@blp.alt_response(422, description="`unknown_role`: not a committee role.")
@requires("admin")
def put_role(body: dict[str, Any], role: str) -> dict[str, Any]:
    role = _role(role)
    pref = notifications.save_preference(body, current_principal().name, role=role)
    return notifications.preference_view(pref, role=role)
