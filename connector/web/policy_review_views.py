"""Policy review pages: the reviews the worker opened, one review's issuance-pattern report, and for its owners
the findings form and closing."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from connector import policy_reviews
from connector.db import db
from connector.governance.errors import GovernanceError
from connector.models import PolicyReview, Principal
from connector.web.blueprint import bp, status_for
from connector.web.signin import current_user, requires_sign_in

READERS = ("admin", "reviewer", "auditor")
LIST_LIMIT = 100


class FindingForm(FlaskForm):
    finding = TextAreaField("Finding", validators=[DataRequired(), Length(max=5000)], id="finding-text")
    area = SelectField("About", default="",
                       choices=[SelectChoice("", "—"),
                                *(SelectChoice(a, a.replace("_", " ")) for a in policy_reviews.AREAS)])
    recommendation = TextAreaField("Recommendation", validators=[Length(max=5000)], id="finding-recommendation")
    submit = SubmitField("Record finding")


class CloseForm(FlaskForm):
    summary = TextAreaField("Summary", validators=[DataRequired(), Length(max=10000)], id="close-summary",
                            description="What the review concluded; the review is read-only once closed.")
    submit = SubmitField("Close review")


def _me() -> Principal:
    user = current_user()
    assert user is not None
    return user


def _review(review_id: int) -> PolicyReview:
    row = policy_reviews.find(review_id)
    if row is None:
        abort(404, f"No policy review {review_id}.")
    return row


def _owner(row: PolicyReview, me: Principal) -> bool:
    return row.status == "open" and me.role == "reviewer" and bool(set(me.committee_roles or ()) & set(row.owners))


@bp.route("/policy/reviews")
@requires_sign_in(*READERS)
def reviews_page() -> str:
    rows = db.session.scalars(select(PolicyReview).order_by(PolicyReview.id.desc()).limit(LIST_LIMIT)).all()
    return render_template("web/reviews.html", rows=rows, next_due=policy_reviews.next_due())


def _render_review(row: PolicyReview, *, finding_form: FindingForm | None = None,
                   close_form: CloseForm | None = None, problems: list[str] | None = None,
                   status: int = 200) -> tuple[str, int]:
    owner = _owner(row, _me())
    return render_template(
        "web/review.html", row=row, report=row.report, owner=owner,
        finding_form=(finding_form or FindingForm(formdata=None)) if owner else None,
        close_form=(close_form or CloseForm(formdata=None)) if owner else None, problems=problems or []), status


@bp.route("/policy/reviews/<key:review_id>")
@requires_sign_in(*READERS)
def review_page(review_id: int) -> tuple[str, int]:
    return _render_review(_review(review_id))


@bp.route("/policy/reviews/<key:review_id>/findings", methods=["POST"])
@requires_sign_in("reviewer")
def review_finding(review_id: int) -> Response | tuple[str, int]:
    row = _review(review_id)
    form = FindingForm()
    if not form.validate():
        return _render_review(row, finding_form=form, problems=["The finding was not recorded: see the marked "
                                                                "fields."], status=422)
    try:
        policy_reviews.record_finding(row, _me(), form.finding.data, form.area.data or None,
                                      form.recommendation.data)
    except GovernanceError as exc:
        db.session.rollback()
        return _render_review(_review(review_id), finding_form=form, problems=[exc.message], status=status_for(exc))
    flash("Finding recorded.", "success")
    return redirect(url_for("connector_web.review_page", review_id=row.id, _anchor="findings"), 303)


@bp.route("/policy/reviews/<key:review_id>/close", methods=["POST"])
@requires_sign_in("reviewer")
def review_close(review_id: int) -> Response | tuple[str, int]:
    row = _review(review_id)
    form = CloseForm()
    if not form.validate():
        return _render_review(row, close_form=form, problems=["The review was not closed: see the marked fields."],
                              status=422)
    try:
        policy_reviews.close(row, _me(), form.summary.data)
    except GovernanceError as exc:
        db.session.rollback()
        return _render_review(_review(review_id), close_form=form, problems=[exc.message], status=status_for(exc))
    flash(f"Review {row.id} closed.", "success")
    return redirect(url_for("connector_web.review_page", review_id=row.id), 303)
