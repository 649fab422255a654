"""The "Notifications" page: a signed-in person chooses their channels, events and digest or immediate delivery
(the same rules as ``PUT /api/v1/notifications/preferences``)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from connector import notifications
from connector.db import db
from connector.governance.errors import InvalidInput
from connector.web.blueprint import bp
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
    return render_template("web/notifications.html", form=form, view=view, problems=problems or []), status


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
    webhooks: dict[str, Any] = {}
    for channel in notifications.WEBHOOK_CHANNELS:
        url = (getattr(form, f"{channel}_webhook").data or "").strip()
        webhooks[channel] = "" if getattr(form, f"remove_{channel}").data else (url or None)
    body = {"channels": form.channels.data or [], "events": form.events.data or [], "mode": form.mode.data,
            "email": form.email.data or None, "webhooks": webhooks}
    try:
        notifications.save_preference(body, principal.name, principal=principal)
    except InvalidInput as exc:
        db.session.rollback()
        for path, messages in (exc.details.get("fields") or {}).items():
            field = getattr(form, _FIELD_OF.get(path, "channels"))
            field.errors = [*list(field.errors or []), *messages]
        return _render(form, [exc.message], 422)
    flash("Your notifications are saved.", "success")
    return redirect(url_for("connector_web.notifications_page"), 303)
