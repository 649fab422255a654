"""Scenario pages: write a change-impact scenario (YAML), run it, keep it, see what a kept one touches now; the
chair opens the amendment (or revocation) a suggestion proposes, prefilled, and records it as any amendment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DateField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from connector import operations, scenario_store
from connector.auth import CHAIR
from connector.db import db
from connector.governance.errors import GovernanceError, InvalidInput
from connector.models import ExceptionRequest, Principal, Scenario
from connector.policy_store import current_policy
from connector.web.blueprint import bp, status_for
from connector.web.forms import DecisionForm, lines
from connector.web.review_views import find_request
from connector.web.signin import current_user, requires_sign_in

WRITERS = ("admin", "reviewer")
READERS = ("admin", "reviewer", "auditor")
LIST_LIMIT = 100
EXAMPLE = ("name: SSO removed in 5.0\nkind: feature_removed\nfeature: sso\nversion: \"5.0\"\n"
           "effective: 2027-03-01\ndescription: Single sign-on moves to the Identity add-on.\n")


class ScenarioForm(FlaskForm):
    document = TextAreaField("Scenario (YAML)", validators=[DataRequired(), Length(max=20000)],
                             render_kw={"spellcheck": "false", "rows": 10},
                             description="name, kind (feature_removed, feature_renamed, region_withdrawn, "
                                         "environment_withdrawn, version_end_of_life, integration_changed, "
                                         "price_change), effective (YYYY-MM-DD) and what the kind needs.")
    run = SubmitField("Run")
    save = SubmitField("Keep scenario")


class AmendmentForm(DecisionForm):
    """The chair's amendment: the decision form's boundaries, without an outcome (the approval stands)."""

    outcome = None
    preview = None
    submit = SubmitField("Record amendment")

    def entitlement(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "grants": self.grants(), "conditions": lines(self.conditions.data),
            "renewal": {"mode": self.renewal_mode.data, "notice_days": self.notice_days.data},
            "success_metrics": lines(self.success_metrics.data)}
        for name in ("effective_from", "expires_at"):
            value = getattr(self, name).data
            if value is not None:
                body[name] = value.isoformat()
        return body

    def fill(self, body: dict[str, Any]) -> None:
        ent = body["entitlement"]
        grants = ent["grants"]
        self.rationale.data = body["rationale"]
        self.grants_seats.data = grants.get("seats")
        for key in ("environments", "regions", "features", "usage_rights"):
            getattr(self, f"grants_{key}").data = ", ".join(grants.get(key) or [])
        self.grants_other.data = grants.get("other")
        self.grants_price.data = Decimal(grants["price"]) if grants.get("price") is not None else None
        self.grants_term_end.process_data(_date(grants.get("term_end")))
        self.effective_from.process_data(_date(ent["effective_from"]))
        self.expires_at.process_data(_date(ent["expires_at"]))
        self.conditions.data = "\n".join(ent["conditions"])
        self.renewal_mode.data = ent["renewal"]["mode"]
        self.notice_days.data = ent["renewal"]["notice_days"]
        self.success_metrics.data = "\n".join(ent["success_metrics"])


class RevocationForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=20000)], id="revoke-reason")
    effective = DateField("Effective", validators=[Optional()], description="Empty: today; a later date schedules "
                                                                           "the revocation.")
    submit = SubmitField("Revoke exception")


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _me() -> Principal:
    user = current_user()
    assert user is not None
    return user


def _kept(scenario_id: int) -> Scenario:
    row = db.session.get(Scenario, scenario_id)
    if row is None:
        abort(404, f"No scenario {scenario_id}.")
    return row


def _render_list(form: ScenarioForm, *, result: dict[str, Any] | None = None, problems: list[str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    rows = db.session.scalars(select(Scenario).order_by(Scenario.id.desc()).limit(LIST_LIMIT)).all()
    return render_template("web/scenarios.html", form=form, rows=rows, result=result,
                           problems=problems or []), status


@bp.route("/scenarios")
@requires_sign_in(*READERS)
def scenarios_page() -> tuple[str, int]:
    form = ScenarioForm(formdata=None)
    form.document.data = EXAMPLE
    return _render_list(form)


def _parsed(form: ScenarioForm) -> dict[str, Any] | None:
    """The YAML typed, or None with the problem on the field."""
    try:
        return scenario_store.parse_yaml(form.document.data or "", "document")
    except InvalidInput as exc:
        form.document.errors = [m for msgs in (exc.details.get("fields") or {}).values() for m in msgs]
        return None


@bp.route("/scenarios", methods=["POST"])
@requires_sign_in(*WRITERS)
def scenarios_post() -> Response | tuple[str, int]:
    form = ScenarioForm()
    document = _parsed(form) if form.validate() else None
    if document is None:
        return _render_list(form, problems=["The scenario was not run: see the marked field."], status=422)
    try:
        if form.save.data:
            row, _ = scenario_store.save(document, _me().name)
        else:
            return _render_list(form, result=scenario_store.run(document))
    except InvalidInput as exc:
        db.session.rollback()
        fields = exc.details.get("fields") or {}
        form.document.errors = [f"{path}: {' '.join(msgs)}" for path, msgs in sorted(fields.items())]
        return _render_list(form, problems=[exc.message], status=422)
    flash(f"Scenario '{row.name}' kept: it touches {(row.last_result or {}).get('touched', 0)} request(s) now.",
          "success")
    return redirect(url_for("connector_web.scenario_page", scenario_id=row.id), 303)


@bp.route("/scenarios/<key:scenario_id>")
@requires_sign_in(*READERS)
def scenario_page(scenario_id: int) -> str:
    row = _kept(scenario_id)
    me = _me()
    chair = me.role == "reviewer" and current_policy().chair in (me.committee_roles or [])
    return render_template("web/scenario.html", row=row, result=scenario_store.rerun(row), chair=chair,
                           document=yaml.safe_dump(row.document, sort_keys=False, allow_unicode=True))


def _render_change(row: Scenario, req: ExceptionRequest, *, form: AmendmentForm | None = None,
                   revoke_form: RevocationForm | None = None, problems: list[str] | None = None,
                   status: int = 200) -> tuple[str, int]:
    proposal = scenario_store.suggestion(row, req, operations.today())
    if proposal["action"] == "revoke" and revoke_form is None:
        revoke_form = RevocationForm(formdata=None)
        revoke_form.reason.data = proposal["body"]["reason"]
        revoke_form.effective.process_data(_date(proposal["body"].get("effective")))
    elif proposal["action"] != "revoke" and form is None:
        form = AmendmentForm(formdata=None)
        form.fill(proposal["body"])
    return render_template("web/scenario_change.html", row=row, req=req, proposal=proposal, form=form,
                           revoke_form=revoke_form, policy=current_policy(), problems=problems or []), status


@bp.route("/scenarios/<key:scenario_id>/change/<ref>")
@requires_sign_in("reviewer", committee=CHAIR)
def scenario_change_page(scenario_id: int, ref: str) -> tuple[str, int]:
    return _render_change(_kept(scenario_id), find_request(ref))


@bp.route("/scenarios/<key:scenario_id>/change/<ref>", methods=["POST"])
@requires_sign_in("reviewer", committee=CHAIR)
def scenario_change_post(scenario_id: int, ref: str) -> Response | tuple[str, int]:
    row, req = _kept(scenario_id), find_request(ref)
    revoking = scenario_store.suggestion(row, req, operations.today())["action"] == "revoke"
    form = None if revoking else AmendmentForm()
    revoke_form = RevocationForm() if revoking else None
    active = revoke_form if revoking else form
    assert active is not None
    if not active.validate():
        return _render_change(row, req, form=form, revoke_form=revoke_form,
                              problems=["Nothing was recorded: see the marked fields."], status=422)
    try:
        if revoke_form is not None:
            operations.revoke(req, _me(), revoke_form.reason.data.strip(), revoke_form.effective.data)
        else:
            assert form is not None
            operations.amend(req, _me(), form.rationale.data.strip(), form.entitlement())
    except GovernanceError as exc:
        db.session.rollback()
        problems = [exc.message]
        if form is not None and isinstance(exc, InvalidInput):
            problems += form.show_errors(exc.details.get("fields") or {})
        return _render_change(_kept(scenario_id), find_request(ref), form=form, revoke_form=revoke_form,
                              problems=problems, status=status_for(exc))
    flash(f"{'Revocation' if revoking else 'Amendment'} of {req.key} recorded from scenario '{row.name}'.",
          "success")
    return redirect(url_for("connector_web.request_page", ref=req.key or req.id, _anchor="decision"), 303)


@bp.app_template_global("lec_scenarios_touching")
def scenarios_touching(req: ExceptionRequest) -> list[dict[str, Any]]:
    """The kept scenarios touching a request (for its page)."""
    return scenario_store.touching(req)
