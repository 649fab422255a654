"""A decided request's lifecycle in the UI: amend, renew, revoke, dispute, withdraw, each previewed before it is
done, and the Retry of a dead delivery from the request's "Where it stands" panel.

Every action calls the operation the API's lifecycle endpoint calls, with the same body; a preview runs the same
checks without writing anything and says what the action would do (for a new version: the customer summary).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import abort, flash, redirect, url_for
from werkzeug.wrappers import Response

from connector import delivery, operations
from connector.auth import CHAIR
from connector.db import db
from connector.governance import lifecycle, review
from connector.governance.communications import communications
from connector.governance.errors import GovernanceError, InvalidInput
from connector.governance.sla import due_at
from connector.models import Delivery, EntitlementBoundary, ExceptionRequest, Principal, utcnow
from connector.policy_store import current_policy
from connector.representation import current_entitlement, request_view
from connector.web.blueprint import bp, status_for
from connector.web.filters import when
from connector.web.lifecycle_forms import ACTION_ROLES, ACTION_STATES, FORMS, AmendForm, allowed_actions
from connector.web.review_views import find_request, render_request
from connector.web.signin import current_user, requires_sign_in


def boundaries(ent: EntitlementBoundary) -> dict[str, Any]:
    """The entitlement in force shaped as a decision body's boundaries (what an amendment or renewal changes)."""
    return {"grants": ent.grants, "effective_from": ent.effective_from, "expires_at": ent.expires_at,
            "conditions": ent.conditions, "renewal": {"mode": ent.renewal_mode, "notice_days": ent.notice_days},
            "success_metrics": ent.success_metrics}


def _in_force(req: ExceptionRequest) -> EntitlementBoundary:
    current = current_entitlement(req)
    if current is None:
        abort(409, "This request has no entitlement to change.")
    return current


def _version_preview(req: ExceptionRequest, me: Principal, rationale: str, ent: Mapping[str, Any],
                     change: str, headline: str) -> dict[str, Any]:
    """The customer summary and internal note a new version would send, as the decision form previews them."""
    current = _in_force(req)
    view = {"version": current.version + 1, "change": change, "status": "active", "grants": ent["grants"],
            "effective_from": ent["effective_from"].isoformat(), "expires_at": ent["expires_at"].isoformat(),
            "conditions": ent["conditions"], "renewal": ent["renewal"], "success_metrics": ent["success_metrics"],
            "supersedes": current.version, "revoke_effective": None}
    decision = {"outcome": req.outcome or "approved", "rationale": rationale, "decided_by": me.name}
    summary, note = communications(current_policy(), request_view(req), decision, view)
    return {"headline": headline, "customer_summary": summary, "internal_note": note}


def preview(action: str, req: ExceptionRequest, me: Principal, form: Any) -> dict[str, Any]:
    """What ``action`` would do, checked by the rules the operation applies; raises as the operation would."""
    policy, today = current_policy(), operations.today()
    lifecycle.require_state(action, req.state, ACTION_STATES[action])
    if action == "amend":
        ent = review.validate_entitlement(form.entitlement(), policy, today, outcome=req.outcome or "approved")
        lifecycle.require_change(boundaries(_in_force(req)), ent)
        return _version_preview(req, me, form.rationale.data.strip(), ent, "amended",
                                f"Version {_in_force(req).version + 1} replaces version {_in_force(req).version}, "
                                f"in force {ent['effective_from']} to {ent['expires_at']}.")
    if action == "renew":
        ent = lifecycle.renewal(boundaries(_in_force(req)), form.expires_at.data, policy, today)
        return _version_preview(req, me, form.rationale.data.strip(), ent, "renewed",
                                f"The exception is renewed until {ent['expires_at']} "
                                f"(now {_in_force(req).expires_at}); the grants stay as they are.")
    if action == "revoke":
        current = _in_force(req)
        effective: date = lifecycle.revocation_date(form.effective.data, {"effective_from": current.effective_from},
                                                    today)
        if effective > today:
            return {"headline": f"Revocation scheduled for {effective}: the exception stays active until then, "
                                "and the worker revokes it on that day (the source and billing are told then)."}
        return {"headline": f"Revoked now (effective {effective}): version {current.version} ends, the request "
                            "becomes revoked, and the source and billing are told."}
    if action == "dispute":
        required = policy.required_roles(req.track, req.risk_band)
        due = due_at(utcnow(), req.track or "standard", policy.sla)
        return {"headline": f"Review reopens as round {req.review_round + 1}, due {when(due)}; fresh votes are "
                            f"needed from: {', '.join(required) or 'the chair'}. The source is told."}
    return {"headline": f"The request becomes withdrawn (it is {req.state.replace('_', ' ')} now); nothing more is "
                        "decided on it and the source is told."}


def _perform(action: str, req: ExceptionRequest, me: Principal, form: Any) -> str:
    """Do ``action`` through the operation the API calls; returns the success message."""
    if action == "amend":
        row = operations.amend(req, me, form.rationale.data.strip(), form.entitlement())
        return f"Amended: version {row.version} is in force; the customer summary is being sent to the source."
    if action == "renew":
        row = operations.renew(req, me, form.rationale.data.strip(), form.expires_at.data)
        return f"Renewed until {row.expires_at}: version {row.version} is in force."
    if action == "revoke":
        row = operations.revoke(req, me, form.reason.data.strip(), form.effective.data)
        if row.status == "active" and row.revoke_effective is not None:
            return f"Revocation scheduled for {row.revoke_effective}; the exception stays active until then."
        return "Revoked: the exception has ended; the source and billing are being told."
    if action == "dispute":
        operations.dispute(req, me.name, form.reason.data.strip(), channel="ui")
        return f"Disputed: review reopened as round {req.review_round}; fresh votes are needed."
    operations.withdraw(req, me.name, form.reason.data.strip())
    return "Withdrawn: the source is being told."


def _place_errors(form: Any, fields: Mapping[str, Any]) -> list[str]:
    """An operation's field errors next to their fields (the decision form's mapping for an amendment)."""
    if isinstance(form, AmendForm):
        return form.show_errors({path: msgs for path, msgs in fields.items() if path != "outcome"})
    unplaced: list[str] = []
    for path, messages in fields.items():
        field = getattr(form, path.rsplit(".", 1)[-1], None)
        if field is None or not hasattr(field, "errors"):
            unplaced.extend(f"{path}: {m}" for m in messages)
            continue
        field.errors = [*list(field.errors or []), *messages]
    return unplaced


def _me() -> Principal:
    user = current_user()
    assert user is not None
    return user


def _act(action: str, ref: str) -> Response | tuple[str, int]:
    req, me = find_request(ref), _me()
    if action not in allowed_actions(req, me):
        # the rule, in the operation's own words (state, role, chair), before any form is read
        lifecycle.require_state(action, req.state, ACTION_STATES[action])
        abort(403, f"Your role cannot {action} this request.")
    form = FORMS[action]()
    if not form.validate():
        return render_request(req, lifecycle=(action, form, None),
                              problems=[f"Nothing was done ({action}): see the marked fields."], status=422)
    try:
        if form.preview.data:
            return render_request(req, lifecycle=(action, form, preview(action, req, me, form)))
        message = _perform(action, req, me, form)
    except GovernanceError as exc:
        db.session.rollback()
        problems = [exc.message]
        if isinstance(exc, InvalidInput):
            problems += _place_errors(form, exc.details.get("fields") or {})
        return render_request(find_request(ref), lifecycle=(action, form, None), problems=problems,
                              status=status_for(exc))
    flash(message, "success")
    return redirect(url_for("connector_web.request_page", ref=req.key or req.id), 303)


@bp.route("/requests/<ref>/amend", methods=["POST"])
@requires_sign_in("reviewer", committee=CHAIR)
def amend(ref: str) -> Response | tuple[str, int]:
    return _act("amend", ref)


@bp.route("/requests/<ref>/renew", methods=["POST"])
@requires_sign_in("reviewer", committee=CHAIR)
def renew(ref: str) -> Response | tuple[str, int]:
    return _act("renew", ref)


@bp.route("/requests/<ref>/revoke", methods=["POST"])
@requires_sign_in("reviewer", committee=CHAIR)
def revoke(ref: str) -> Response | tuple[str, int]:
    return _act("revoke", ref)


@bp.route("/requests/<ref>/dispute", methods=["POST"])
@requires_sign_in(*ACTION_ROLES["dispute"])
def dispute(ref: str) -> Response | tuple[str, int]:
    return _act("dispute", ref)


@bp.route("/requests/<ref>/withdraw", methods=["POST"])
@requires_sign_in(*ACTION_ROLES["withdraw"])
def withdraw(ref: str) -> Response | tuple[str, int]:
    return _act("withdraw", ref)


@bp.route("/requests/<ref>/deliveries/<key:delivery_id>/retry", methods=["POST"])
@requires_sign_in("admin")
def request_delivery_retry(ref: str, delivery_id: int) -> Response:
    """The Retry of the "Where it stands" panel: the API's retry, then back to the request."""
    req = find_request(ref)
    row = db.session.get(Delivery, delivery_id)
    if row is None or row.request_pk != req.pk:
        abort(404, f"No delivery {delivery_id} of {req.key or req.id}.")
    delivery.retry(delivery_id, _me().name)
    flash(f"Delivery to {row.target} is due again now.", "success")
    return redirect(url_for("connector_web.request_page", ref=req.key or req.id), 303)
