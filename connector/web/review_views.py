"""Reviewers' pages: the queue, all requests, one request with its votes, history and precedents; vote; decide."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from connector import operations, request_search
from connector.auth import CHAIR, MEMBER
from connector.db import db
from connector.decision_outcomes import outcome_view, prefill_for, verdict_for
from connector.governance import review
from connector.governance.communications import communications
from connector.governance.errors import GovernanceError, InvalidInput
from connector.governance.states import STATES
from connector.models import AuditEvent, Connection, ExceptionRequest, Principal, utcnow
from connector.policy_store import current_policy
from connector.precedent_search import precedents_for
from connector.representation import current_entitlement, current_votes, request_view
from connector.web import expiring
from connector.web.blueprint import bp, status_for
from connector.web.forms import ButtonForm, DecisionForm, VoteForm
from connector.web.lifecycle_forms import TITLES, lifecycle_forms
from connector.web.queue import ready_for_decision, reviewer_queue
from connector.web.signin import current_user, requires_sign_in
from connector.web.standing import where_it_stands

READERS = ("admin", "reviewer", "intake", "auditor")
PAGE_SIZE = 50
HISTORY_LIMIT = 500


def _me() -> Principal:
    user = current_user()
    assert user is not None
    return user


@bp.route("/queue")
@requires_sign_in("reviewer")
def queue() -> str:
    me, policy, now = _me(), current_policy(), utcnow()
    held = me.committee_roles or []
    return render_template("web/queue.html", items=reviewer_queue(held, policy, now),
                           ready=ready_for_decision(held, policy, now), held=held, chair=policy.chair, now=now)


@bp.route("/requests")
@requires_sign_in(*READERS)
def requests_list() -> str:
    """Search, every filter of the API's list, sorting by due date, risk or expiry; 50 a page."""
    filters = request_search.read_filters(request.args)
    if filters.problems:
        abort(400, " ".join(filters.problems.values()))
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    now = utcnow()
    rows, more = request_search.find(filters, now, page, PAGE_SIZE)
    connection_names = db.session.scalars(select(Connection.name).order_by(Connection.name)).all()
    return render_template("web/requests.html", rows=rows, filters=filters, states=STATES,
                           bands=request_search.BANDS, tracks=request_search.TRACKS,
                           sources=request_search.sources(), categories=current_policy().categories,
                           connections=connection_names, sorts=request_search.SORTS, now=now, page=page, more=more)


def find_request(ref: str) -> ExceptionRequest:
    req = db.session.scalar(
        select(ExceptionRequest).where(or_(ExceptionRequest.id == ref, ExceptionRequest.key == ref.upper())))
    if req is None:
        abort(404, f"No request with id or key '{ref}'.")
    return req


def precedents_of(req: ExceptionRequest, limit: int = 5) -> list[dict[str, Any]]:
    """The same ranking the API's ``/precedents`` answers with."""
    return precedents_for(req, limit)


def _history(req: ExceptionRequest) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.subject == operations.subject(req))
                                   .order_by(AuditEvent.seq).limit(HISTORY_LIMIT)))


def _vote_form(req: ExceptionRequest, me: Principal, form: VoteForm | None = None) -> VoteForm | None:
    policy = current_policy()
    roles = [r for r in policy.committee_roles if r in (me.committee_roles or [])]
    if me.role != "reviewer" or not roles or req.state != "in_review":
        return None
    form = form or VoteForm(formdata=None)
    required = policy.required_roles(req.track, req.risk_band)
    voted = review.latest_by_role(current_votes(req))
    preferred = next((r for r in roles if r in required and r not in voted), None) or roles[0]
    form.set_roles(roles, preferred)
    return form


def _decision_form(req: ExceptionRequest, me: Principal, form: DecisionForm | None = None) -> DecisionForm | None:
    policy = current_policy()
    if me.role != "reviewer" or policy.chair not in (me.committee_roles or []) or req.state != "in_review":
        return None
    if form is None:
        form = DecisionForm(formdata=None)
        form.start_from(prefill_for(req, policy, operations.today()))
    return form


def render_request(req: ExceptionRequest, *, vote_form: VoteForm | None = None,
                   decision_form: DecisionForm | None = None, preview: dict[str, Any] | None = None,
                   problems: list[str] | None = None, status: int = 200,
                   lifecycle: tuple[str, FlaskForm, dict[str, Any] | None] | None = None) -> tuple[str, int]:
    """The request page; ``lifecycle`` is (action, its submitted form, its preview or None) after a lifecycle post."""
    me, policy = _me(), current_policy()
    active, active_form, active_preview = lifecycle or (None, None, None)
    required = policy.required_roles(req.track, req.risk_band)
    votes = current_votes(req)
    page = render_template(
        "web/request.html", req=req, view=request_view(req, policy=policy), policy=policy, required=required,
        missing=review.missing_approvals(required, votes) if req.track != "fast" else [],
        latest=review.latest_by_role(votes), precedents=precedents_of(req), history=_history(req),
        vote_form=_vote_form(req, me, vote_form), decision_form=_decision_form(req, me, decision_form),
        preview=preview, problems=problems or [], now=utcnow(),
        predefined=outcome_view(policy.outcome(req.category)),
        lifecycle_forms=lifecycle_forms(req, me, active, active_form), lifecycle_active=active,
        lifecycle_preview=active_preview, lifecycle_titles=TITLES, standing=where_it_stands(req, utcnow()),
        retry_button=ButtonForm(formdata=None))
    return page, status


@bp.route("/requests/<ref>")
@requires_sign_in(*READERS)
def request_page(ref: str) -> tuple[str, int]:
    return render_request(find_request(ref))


def _problems(exc: GovernanceError) -> list[str]:
    missing = exc.details.get("missing_roles")
    extra = [f"Missing approvals: {', '.join(missing)}."] if missing else []
    return [exc.message, *extra]


@bp.route("/requests/<ref>/votes", methods=["POST"])
@requires_sign_in("reviewer", committee=MEMBER)
def vote(ref: str) -> Response | tuple[str, int]:
    req = find_request(ref)
    me = _me()
    form = VoteForm()
    form.set_roles([r for r in current_policy().committee_roles if r in (me.committee_roles or [])], None)
    if not form.validate():
        return render_request(req, vote_form=form, problems=["The vote was not recorded: see the marked fields."],
                              status=422)
    try:
        operations.cast_vote(req, me, form.role.data, form.vote.data, (form.rationale.data or "").strip() or None)
    except GovernanceError as exc:
        db.session.rollback()
        for message in (exc.details.get("fields") or {}).get("rationale", []):
            form.rationale.errors = [*form.rationale.errors, message]
        return render_request(find_request(ref), vote_form=form, problems=_problems(exc), status=status_for(exc))
    flash(f"Your {form.vote.data.replace('_', ' ')} vote as {form.role.data} is recorded.", "success")
    return redirect(url_for("connector_web.request_page", ref=req.key or req.id), 303)


def summary_preview(req: ExceptionRequest, me: Principal, form: DecisionForm) -> dict[str, Any]:
    """The customer summary and internal note this decision would send, and whether it keeps to the predefined
    outcome, rendered without saving anything."""
    policy = current_policy()
    outcome, rationale = form.outcome.data, form.rationale.data.strip()
    review.check_decision(state=req.state, track=req.track, band=req.risk_band,
                          holder_roles=me.committee_roles or [], outcome=outcome,
                          votes=current_votes(req), policy=policy)
    ent_view, ent = None, None
    if outcome in review.APPROVALS:
        ent = review.validate_entitlement(form.entitlement(), policy, operations.today(), outcome=outcome)
        current = current_entitlement(req)
        ent_view = {"version": (current.version + 1) if current else 1, "change": "approved", "status": "active",
                    "grants": ent["grants"], "effective_from": ent["effective_from"].isoformat(),
                    "expires_at": ent["expires_at"].isoformat(), "conditions": ent["conditions"],
                    "renewal": ent["renewal"], "success_metrics": ent["success_metrics"],
                    "supersedes": current.version if current else None, "revoke_effective": None}
    decision = {"outcome": outcome, "rationale": rationale, "decided_by": me.name}
    summary, note = communications(policy, request_view(req), decision, ent_view)
    return {"customer_summary": summary, "internal_note": note,
            "verdict": verdict_for(req, policy, outcome, ent).to_dict()}


@bp.route("/requests/<ref>/decision", methods=["POST"])
@requires_sign_in("reviewer", committee=CHAIR)
def decide(ref: str) -> Response | tuple[str, int]:
    req = find_request(ref)
    me = _me()
    form = DecisionForm()
    if not form.validate():
        return render_request(req, decision_form=form,
                              problems=["The decision was not recorded: see the marked fields."], status=422)
    try:
        if form.preview.data:
            preview = summary_preview(req, me, form)
            return render_request(req, decision_form=form, preview=preview)
        operations.decide(req, me, form.outcome.data, form.rationale.data.strip(), form.entitlement())
    except GovernanceError as exc:
        db.session.rollback()
        problems = _problems(exc)
        if isinstance(exc, InvalidInput):
            problems += form.show_errors(exc.details.get("fields") or {})
        return render_request(find_request(ref), decision_form=form, problems=problems, status=status_for(exc))
    flash(f"Decision recorded: {form.outcome.data.replace('_', ' ')}. The customer summary below is being sent "
          "to the source.", "success")
    # no anchor: the page opens at its top, where the success message is
    return redirect(url_for("connector_web.request_page", ref=req.key or req.id), 303)


@bp.route("/expiring")
@requires_sign_in(*READERS)
def expiring_page() -> str:
    """Exceptions ending soon, soonest first: renew, amend or let them end while there is time."""
    window = request.args.get("within", "notice")
    if window not in expiring.WINDOWS:
        abort(400, f"Unknown window '{window}'. Use one of: {', '.join(expiring.WINDOWS)}.")
    today = operations.today()
    return render_template("web/expiring.html", rows=expiring.ending(window, today), window=window,
                           windows=expiring.WINDOWS, today=today, policy=current_policy())
