"""Reviewers' practice pages: the queue of anonymised past requests, one case to vote and decide on, and then how
the committee decided, with the reviewer's consistency score (``connector.practice`` defines it)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector import practice
from connector.governance.errors import GovernanceError, InvalidInput
from connector.governance.outcomes import LIST_TERMS
from connector.models import ExceptionRequest, Principal
from connector.web.blueprint import bp, status_for
from connector.web.signin import current_user, requires_sign_in


def _me() -> Principal:
    user = current_user()
    assert user is not None
    return user


def _case(case: int) -> ExceptionRequest:
    req = practice.find_case(_me(), case)
    if req is None:
        abort(404, f"No practice case {case} for you: it does not exist, is not decided yet, or you took part in "
                   "the real decision.")
    return req


@bp.route("/practice")
@requires_sign_in("reviewer")
def practice_page() -> str:
    me = _me()
    attempts = practice.attempts_of(me)
    done = {a.request_pk for a in attempts}
    return render_template("web/practice.html", mode="queue",
                           items=[practice.queue_item(r) for r in practice.pool(me) if r.pk not in done],
                           attempts=[practice.attempt_view(a) for a in reversed(attempts)],
                           score=practice.consistency(attempts))


def _render_case(req: ExceptionRequest, *, values: dict[str, Any] | None = None,
                 errors: dict[str, list[str]] | None = None, problems: list[str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    me = _me()
    done = practice.attempt_for(me, req)
    page = render_template(
        "web/practice.html", mode="case", case=practice.case_view(req),
        attempt=practice.attempt_view(done) if done else None, reveal=practice.reveal(req) if done else None,
        score=practice.consistency(practice.attempts_of(me)), values=values or {}, errors=errors or {},
        problems=problems or [], votes=practice.PRACTICE_VOTES, outcomes=practice.OUTCOMES, list_terms=LIST_TERMS)
    return page, status


@bp.route("/practice/<int:case>")
@requires_sign_in("reviewer")
def practice_case(case: int) -> tuple[str, int]:
    return _render_case(_case(case))


def _form_body(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The form as the practice operation's body (the same checks as the API's), and what cannot be read."""
    errors: dict[str, list[str]] = {}
    grants: dict[str, Any] = {}
    seats = form.get("grants_seats", "").strip()
    if seats:
        if seats.isdigit():
            grants["seats"] = int(seats)
        else:
            errors["grants.seats"] = ["A whole number of seats, 0 or more."]
    for key in LIST_TERMS:
        items = [v.strip() for v in form.get(f"grants_{key}", "").split(",") if v.strip()]
        if items:
            grants[key] = items
    days_text = form.get("duration_days", "").strip()
    days: int | None = None
    if days_text:
        if days_text.isdigit():
            days = int(days_text)
        else:
            errors["duration_days"] = ["A whole number of days from 1 to 3650."]
    body: dict[str, Any] = {"vote": form.get("vote"), "vote_rationale": form.get("vote_rationale", ""),
            "outcome": form.get("outcome"), "rationale": form.get("rationale", "")}
    if form.get("outcome") != "denied":
        body.update({"grants": grants, "duration_days": days})
    return body, errors


@bp.route("/practice/<int:case>", methods=["POST"])
@requires_sign_in("reviewer")
def practice_attempt(case: int) -> Response | tuple[str, int]:
    req = _case(case)
    values = {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}
    body, errors = _form_body(values)
    if errors:
        return _render_case(req, values=values, errors=errors,
                            problems=["The practice decision was not recorded: see the marked fields."], status=422)
    try:
        practice.record_attempt(_me(), req, body)
    except InvalidInput as exc:
        return _render_case(req, values=values, errors=exc.details.get("fields") or {}, problems=[exc.message],
                            status=422)
    except GovernanceError as exc:
        return _render_case(req, problems=[exc.message], status=status_for(exc))
    return redirect(url_for("connector_web.practice_case", case=case, _anchor="reveal"), 303)
