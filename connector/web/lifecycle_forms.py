"""The forms of a decided request's lifecycle: amend, renew, revoke (now or scheduled), dispute, withdraw.

Like the decision form they only read what a person typed into the bodies the API's lifecycle endpoints take;
the rules (who may, from which state, what a new version must change) stay in ``connector.operations``.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from connector.governance.states import DISPUTABLE_STATES, OPEN_STATES, RequestState
from connector.models import EntitlementBoundary, ExceptionRequest, Principal
from connector.policy_store import current_policy
from connector.representation import current_entitlement
from connector.web.forms import DecisionForm

#: shown under a date that could not be read; the date picker shows the locale's format, so no pattern is named
DATE_MESSAGE = "Pick a date from the calendar, or type it as the date picker shows it."


class AmendForm(DecisionForm):
    """New boundaries for an approved exception: the decision form's boundary fields, without an outcome."""

    outcome = None  # type: ignore[assignment]  # an amendment keeps the decided outcome
    rationale = TextAreaField("Why the change", validators=[DataRequired(), Length(max=20000)],
                              id="amend-rationale")
    preview = SubmitField("Preview amendment", id="amend-preview")
    submit = SubmitField("Amend exception", id="amend-submit")

    def entitlement(self) -> dict[str, Any]:  # type: ignore[override]
        body: dict[str, Any] = {
            "grants": self.grants(), "conditions": _lines(self.conditions.data),
            "renewal": {"mode": self.renewal_mode.data, "notice_days": self.notice_days.data},
            "success_metrics": _lines(self.success_metrics.data),
        }
        if self.effective_from.data is not None:
            body["effective_from"] = self.effective_from.data.isoformat()
        if self.expires_at.data is not None:
            body["expires_at"] = self.expires_at.data.isoformat()
        return body

    def fill_from(self, ent: EntitlementBoundary) -> None:
        """Start from the boundaries in force: the chair changes what needs changing."""
        grants = ent.grants or {}
        self.grants_seats.data = grants.get("seats")
        for key in ("environments", "regions", "features", "usage_rights"):
            getattr(self, f"grants_{key}").data = ", ".join(grants.get(key) or [])
        self.grants_price.data = grants.get("price")
        self.grants_other.data = grants.get("other") or ""
        self.effective_from.data, self.expires_at.data = ent.effective_from, ent.expires_at
        self.conditions.data = "\n".join(ent.conditions or [])
        self.renewal_mode.data, self.notice_days.data = ent.renewal_mode, ent.notice_days
        self.success_metrics.data = "\n".join(ent.success_metrics or [])


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class RenewForm(FlaskForm):
    rationale = TextAreaField("Why renew", validators=[DataRequired(), Length(max=20000)], id="renew-rationale")
    expires_at = DateField("New expiry", validators=[DataRequired(message=DATE_MESSAGE)], id="renew-expires_at",
                           description="The last day covered; later than the current expiry.")
    preview = SubmitField("Preview renewal", id="renew-preview")
    submit = SubmitField("Renew exception", id="renew-submit")


class RevokeForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=20000)], id="revoke-reason")
    effective = DateField("Takes effect on", validators=[Optional()], id="revoke-effective",
                          description="Empty: now. A later date schedules the revocation; the exception stays "
                                      "active until then.")
    preview = SubmitField("Preview revocation", id="revoke-preview")
    submit = SubmitField("Revoke exception", id="revoke-submit")


class DisputeForm(FlaskForm):
    reason = TextAreaField("Why the decision is disputed", validators=[DataRequired(), Length(max=20000)],
                           id="dispute-reason")
    preview = SubmitField("Preview dispute", id="dispute-preview")
    submit = SubmitField("Reopen review", id="dispute-submit")


class WithdrawForm(FlaskForm):
    reason = TextAreaField("Why it is withdrawn", validators=[DataRequired(), Length(max=20000)],
                           id="withdraw-reason")
    preview = SubmitField("Preview withdrawal", id="withdraw-preview")
    submit = SubmitField("Withdraw request", id="withdraw-submit")


TITLES = {"amend": "Amend", "renew": "Renew", "revoke": "Revoke", "dispute": "Dispute", "withdraw": "Withdraw"}

#: the forms by action (the URL segment and the partial's anchor)
FORMS: dict[str, type[FlaskForm]] = {"amend": AmendForm, "renew": RenewForm, "revoke": RevokeForm,
                                      "dispute": DisputeForm, "withdraw": WithdrawForm}


#: who may take each action (the API's ``@requires`` of the same endpoint) and from which states
CHAIR_ACTIONS = ("amend", "renew", "revoke")
ACTION_STATES: dict[str, tuple[str, ...]] = {
    "amend": (RequestState.APPROVED,), "renew": (RequestState.APPROVED, RequestState.EXPIRED),
    "revoke": (RequestState.APPROVED,), "dispute": DISPUTABLE_STATES, "withdraw": OPEN_STATES,
}
ACTION_ROLES = {"amend": ("reviewer",), "renew": ("reviewer",), "revoke": ("reviewer",),
                "dispute": ("intake", "reviewer", "admin"), "withdraw": ("intake", "admin")}


def allowed_actions(req: ExceptionRequest, me: Principal) -> list[str]:
    """The lifecycle actions this person may take on this request now (the operations check again)."""
    chair = current_policy().chair in (me.committee_roles or [])
    return [action for action, states in ACTION_STATES.items()
            if req.state in states and me.role in ACTION_ROLES[action]
            and (action not in CHAIR_ACTIONS or chair)]


def lifecycle_forms(req: ExceptionRequest, me: Principal, active: str | None = None,
                    form: FlaskForm | None = None) -> dict[str, FlaskForm]:
    """A form per allowed action, the amendment's filled with the boundaries in force; ``form`` is ``active``'s
    as submitted (with its errors)."""
    out: dict[str, FlaskForm] = {}
    for action in allowed_actions(req, me):
        if action == active and form is not None:
            out[action] = form
            continue
        blank = FORMS[action](formdata=None)
        current = current_entitlement(req)
        if isinstance(blank, AmendForm) and current is not None:
            blank.fill_from(current)
        out[action] = blank
    return out


