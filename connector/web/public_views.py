"""Pages anyone may open without signing in: the feedback form behind a decision's signed link, and the opt-in
transparency page.

They live on their own blueprint because the UI's blueprint asks every POST for the session's CSRF token, and the
person answering has no session: here the signed token in the URL is what authorises the one form it serves (a
page elsewhere cannot know it). Everything else is as on the UI's pages: one transaction per request, the same
security headers, errors as pages a person understands.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from connector import feedback, policy_reviews
from connector.config import settings
from connector.db import db, rollback
from connector.governance.communications import OUTCOME_TEXT
from connector.governance.errors import GovernanceError, InvalidInput
from connector.models import ExceptionRequest, Feedback, utcnow
from connector.policy_store import current_policy
from connector.reports import decision_facts
from connector.transparency import public_summary
from connector.web.blueprint import CONTENT_SECURITY_POLICY, UnstorableText, render_error
from mappings.storable import text_problem

bp = Blueprint("connector_public", __name__, template_folder="../templates")


@bp.before_request
def _check_input() -> None:
    request.max_content_length = settings().max_body_bytes
    for text in (request.path, *(v for store in (request.args, request.form) for _, vs in store.lists()
                                 for v in vs)):
        problem = text_problem(text)
        if problem is not None:
            raise UnstorableText(f"{problem} Remove it and send the form again.")


@bp.after_request
def _finish(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # the URL holds the feedback link's token
    response.headers.setdefault("Cache-Control", "no-store")
    if response.status_code >= 400:
        rollback()
    else:
        db.session.commit()
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return render_error(exc.code or 500, exc.name, str(exc.description or exc.name))


def _page(token: str, link: feedback.Link | None, *, refused: str | None = None, errors: dict[str, list[str]]
          | None = None, values: dict[str, Any] | None = None, status: int = 200) -> tuple[str, int]:
    decision = None
    if link is not None:
        decisions = link.request.decisions
        decision = decisions[min(link.decision_number, len(decisions)) - 1] if decisions else None
    return render_template(
        "web/feedback.html", token=token, link=link, decision=decision, refused=refused, errors=errors or {},
        values=values or {"respondent": "customer", "clarity": "", "needed": ""}, outcome_text=OUTCOME_TEXT,
        respondents=feedback.RESPONDENT_WORDS, max_needed=feedback.MAX_NEEDED,
        sent=request.args.get("sent") == "1"), status


def _link(token: str) -> tuple[feedback.Link | None, str | None, int]:
    try:
        return feedback.read_token(token), None, 200
    except feedback.LinkRefused as exc:
        return None, exc.message, 403


@bp.route("/feedback/<token>")
def feedback_page(token: str) -> tuple[str, int]:
    link, refused, status = _link(token)
    return _page(token, link, refused=refused, status=status)


@bp.route("/feedback/<token>", methods=["POST"])
def feedback_post(token: str) -> Response | tuple[str, int]:
    link, refused, status = _link(token)
    if link is None:
        return _page(token, None, refused=refused, status=status)
    values = {name: request.form.get(name, "") for name in ("respondent", "clarity", "needed")}
    try:
        clarity, needed, respondent = feedback.validate_answer(values["clarity"], values["needed"],
                                                               values["respondent"])
        feedback.record(link, clarity, needed, respondent)
    except InvalidInput as exc:
        return _page(token, link, errors=exc.details.get("fields") or {}, values=values, status=422)
    except GovernanceError as exc:
        return _page(token, link, refused=exc.message, values=values, status=409)
    return redirect(url_for("connector_public.feedback_page", token=token, sent="1"), 303)


@bp.app_template_global("lec_feedback_for")
def feedback_for(req: ExceptionRequest) -> list[Feedback]:
    """The request page's feedback section reads its rows through this (``web/_feedback.html``)."""
    return feedback.for_request(req)


@bp.route("/transparency")
def transparency_page() -> str:
    config = settings()
    if not config.public_summary:
        abort(404, "There is no published summary here.")
    summary = public_summary(current_policy(), decision_facts(), feedback.feedback_summary(),
                             config.public_min_count, utcnow(), policy_reviews.latest_closed())
    return render_template("web/transparency.html", s=summary)
