"""The "Notifications" page: a signed-in person chooses their channels, events and digest or immediate delivery
(the same rules as ``PUT /api/v1/notifications/preferences``); admins also set each committee role's channel
(``PUT /api/v1/notifications/roles/<role>``): a team's Teams or Slack channel, a shared mailbox."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from connector import notifications
from connector.db import db
from connector.governance.errors import InvalidInput
from connector.governance.policy import COMMITTEE_ROLES
from connector.models import Principal
from connector.web.blueprint import bp
from connector.web.formatting import label
from connector.web.forms import NotificationForm
from connector.web.signin import current_user, requires_sign_in

_FIELD_OF = {"webhooks.slack": "slack_webhook", "webhooks.teams": "teams_webhook", "email": "email",
             "channels": "channels", "events": "events", "mode": "mode"}


def _form() -> NotificationForm:
    form = NotificationForm()
    form.events.choices = [SelectChoice(event, text[0].upper() + text[1:])
                           for event, text in notifications.EVENT_TEXT.items()]
    return form


def _render(form: NotificationForm, problems: list[str] | None = None, status: int = 200) -> tuple[str, int]:
    principal = current_user()
    assert principal is not None
    view = notifications.preference_view(notifications.preference_of(principal=principal), principal=principal)
    roles = [notifications.preference_view(notifications.preference_of(role=role), role=role)
             for role in COMMITTEE_ROLES] if principal.role == "admin" else []
    names = {str(choice.value): str(choice.label) for choice in form.channels.choices or ()}
    for each in roles:
        each["channel_names"] = [names.get(channel, channel) for channel in each["channels"]]
    return render_template("web/notifications.html", form=form, view=view, roles=roles, committee_role=None,
                           problems=problems or []), status


def _render_role(role: str, form: NotificationForm, problems: list[str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    form.email.description = "A shared mailbox of the role, e.g. legal-review@vendor.example."
    form.events.label.text = "Tell the role about"
    view = notifications.preference_view(notifications.preference_of(role=role), role=role)
    return render_template("web/notifications.html", form=form, view=view, roles=[], committee_role=role,
                           problems=problems or []), status


def _committee_role(role: str) -> str:
    if role not in COMMITTEE_ROLES:
        abort(404, f"No committee role '{role}': the roles are {', '.join(COMMITTEE_ROLES)}.")
    return role


def _save(form: NotificationForm, actor: str, principal: Principal | None, role: str | None) -> list[str] | None:
    """Save the form as ``principal``'s or ``role``'s preference; the refusal's message (errors set on the form's
    fields) or None."""
    webhooks: dict[str, Any] = {}
    for channel in notifications.WEBHOOK_CHANNELS:
        url = (getattr(form, f"{channel}_webhook").data or "").strip()
        webhooks[channel] = "" if getattr(form, f"remove_{channel}").data else (url or None)
    body = {"channels": form.channels.data or [], "events": form.events.data or [],
            "mode": "immediate" if role is not None else form.mode.data,
            "email": form.email.data or None, "webhooks": webhooks}
    try:
        notifications.save_preference(body, actor, principal=principal, role=role)
    except InvalidInput as exc:
        db.session.rollback()
        for path, messages in (exc.details.get("fields") or {}).items():
            field = getattr(form, _FIELD_OF.get(path, "channels"))
            field.errors = [*list(field.errors or []), *messages]
        return [exc.message]
    return None


@bp.route("/notifications")
@requires_sign_in()
def notifications_page() -> tuple[str, int]:
    principal = current_user()
    assert principal is not None
    form = _form()
    pref = notifications.preference_of(principal=principal)
    if pref is not None:
        form.channels.data, form.events.data = list(pref.channels), list(pref.events)
        form.mode.data, form.email.data = pref.mode, pref.email
    return _render(form)


@bp.route("/notifications", methods=["POST"])
@requires_sign_in()
def notifications_save() -> Response | tuple[str, int]:
    principal = current_user()
    assert principal is not None
    form = _form()
    if not form.validate():
        return _render(form, ["Your notifications were not saved: see the marked fields."], 422)
    problems = _save(form, principal.name, principal, None)
    if problems:
        return _render(form, problems, 422)
    flash("Your notifications are saved.", "success")
    return redirect(url_for("connector_web.notifications_page"), 303)


@bp.route("/notifications/roles/<role>")
@requires_sign_in("admin")
def role_notifications_page(role: str) -> tuple[str, int]:
    role = _committee_role(role)
    form = _form()
    pref = notifications.preference_of(role=role)
    if pref is not None:
        form.channels.data, form.events.data, form.email.data = list(pref.channels), list(pref.events), pref.email
    return _render_role(role, form)


@bp.route("/notifications/roles/<role>", methods=["POST"])
@requires_sign_in("admin")
def role_notifications_save(role: str) -> Response | tuple[str, int]:
    role = _committee_role(role)
    actor = current_user()
    assert actor is not None
    form = _form()
    del form.mode  # a role's channel hears each message at once
    if not form.validate():
        return _render_role(role, form, [f"The {label(role)} role's channel was not saved: see the marked fields."],
                            422)
    problems = _save(form, actor.name, None, role)
    if problems:
        return _render_role(role, form, problems, 422)
    flash(f"The {label(role)} role's channel is saved.", "success")
    return redirect(url_for("connector_web.notifications_page"), 303)
