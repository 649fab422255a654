"""Auditors' pages: the hash-chained log, its verification, and reproducible samples of approved exceptions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, stream_with_context, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector import audit
from connector.db import db
from connector.models import AuditEvent, AuditSample, ExceptionRequest
from connector.web import audit_search
from connector.web.blueprint import bp, position_arg
from connector.web.forms import SampleForm
from connector.web.signin import current_user, requires_sign_in

AUDITORS = ("auditor", "admin")
EVENT_PAGE = 50


def _render_audit(form: SampleForm | None = None, verification: audit.Verification | None = None,
                  status: int = 200) -> tuple[str, int]:
    filters = audit_search.read_filters(request.args)
    if filters.problems:
        abort(400, " ".join(filters.problems))
    before = position_arg()
    query = audit_search.filtered(select(AuditEvent), filters)
    if before:
        query = query.where(AuditEvent.seq < before)
    events = db.session.scalars(query.order_by(AuditEvent.seq.desc()).limit(EVENT_PAGE + 1)).all()
    more = len(events) > EVENT_PAGE
    events = events[:EVENT_PAGE]
    samples = db.session.scalars(select(AuditSample).order_by(AuditSample.id.desc()).limit(20)).all()
    return render_template("web/audit.html", head=audit.head(), events=events, samples=samples,
                           verification=verification, form=form or SampleForm(formdata=None), filters=filters,
                           subjects=audit_search.subject_keys(events), actions=audit_search.ACTIONS,
                           next_before=events[-1].seq if more and events else None), status


@bp.route("/audit")
@requires_sign_in(*AUDITORS)
def audit_page() -> tuple[str, int]:
    return _render_audit()


@bp.route("/audit/verify")
@requires_sign_in(*AUDITORS)
def audit_verify() -> tuple[str, int]:
    """Recompute the whole chain (a read: nothing is written)."""
    return _render_audit(verification=audit.verify())


@bp.route("/audit/samples", methods=["POST"])
@requires_sign_in(*AUDITORS)
def audit_sample() -> Response | tuple[str, int]:
    form = SampleForm()
    if not form.validate():
        return _render_audit(form, status=422)
    user = current_user()
    assert user is not None
    sample = audit.draw_sample(form.size.data, (form.seed.data or "").strip() or None, user.name)
    flash(f"Sample {sample.id} drawn: {len(sample.items)} of {sample.population} approved exceptions.", "success")
    return redirect(url_for("connector_web.audit_sample_page", sample_id=sample.id), 303)


@bp.route("/audit/samples/<key:sample_id>")
@requires_sign_in(*AUDITORS)
def audit_sample_page(sample_id: int) -> str:
    sample = db.session.get(AuditSample, sample_id)
    if sample is None:
        abort(404, f"No audit sample {sample_id}.")
    rows = {r.id: r for r in db.session.scalars(select(ExceptionRequest)
                                                .where(ExceptionRequest.id.in_(sample.items or [])))}
    return render_template("web/sample.html", sample=sample, rows=[rows.get(i) for i in sample.items], ids=sample.items)


@bp.route("/audit/export")
@requires_sign_in(*AUDITORS)
def audit_export() -> Response:
    """The filtered range, oldest first, as CSV or JSON Lines (every event, not one page), streamed."""
    filters = audit_search.read_filters(request.args)
    if filters.problems:
        abort(400, " ".join(filters.problems))
    fmt = request.args.get("format", "csv")
    if fmt not in audit_search.EXPORT_TYPES:
        abort(400, f"Unknown format '{fmt}'. Use one of: {', '.join(audit_search.EXPORT_TYPES)}.")
    body = audit_search.export_lines(filters, fmt)
    response = Response(stream_with_context(body), mimetype=audit_search.EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{filters.slug()}.{fmt}"'
    return response
