"""The UI blueprint: CSRF on every POST, one transaction per request, errors as pages (never a 500 for input)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from connector.config import settings
from connector.db import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, db, discard_failed_transaction, rollback
from connector.governance.errors import GovernanceError
from connector.keys import is_key
from connector.web.signin import current_user
from mappings.storable import text_problem

bp = Blueprint("connector_web", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/assets")

_STATUS_FOR_KIND = {"invalid": 422, "conflict": 409, "forbidden": 403}
#: every asset is shipped in the package: the browser may load nothing from anywhere else
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                           "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
CSRF_REFUSED = ("This form was refused because its security token is missing or expired, so nothing was "
                "changed. Reload the page and submit it again.")


class CsrfRefused(HTTPException):
    code = 400
    description = CSRF_REFUSED


def position_arg(name: str = "before") -> int | None:
    """A list page's position (``?before=<id>``): a whole number a key can be, or None (the first page)."""
    value = request.args.get(name, type=int)
    return value if is_key(value) else None


def status_for(exc: GovernanceError) -> int:
    return _STATUS_FOR_KIND.get(exc.kind, 409)


class UnstorableText(HTTPException):
    """Text the database cannot hold (``mappings.storable``): a NUL, an unpaired surrogate."""

    code = 400


def _text_problem() -> str | None:
    """What in the path, query or form cannot be stored, or None. Werkzeug decodes invalid UTF-8 (an encoded
    surrogate) to U+FFFD, so in practice this is the NUL character; the check is the API's, all the same."""
    for text in (request.path, *(item for store in (request.args, request.form)
                                 for key, values in store.lists() for item in (key, *values))):
        problem = text_problem(text)
        if problem is not None:
            return problem
    return None


@bp.before_request
def _check_form_post() -> None:
    request.max_content_length = settings().max_body_bytes
    problem = _text_problem()  # refused here for every path, query and form value, as the API does
    if problem is not None:
        raise UnstorableText(f"{problem} Remove it and send the form again.")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as exc:
            current_app.logger.info("refused a UI form post without a valid CSRF token: %s", exc)
            raise CsrfRefused() from exc


def render_error(status: int, title: str, message: str) -> Response:
    body = render_template("web/error.html", status=status, title=title, message=message)
    return Response(body, status=status, mimetype="text/html")


@bp.after_request
def _finish(response: Response) -> Response:
    """Commit once when the page succeeded; roll back on any error response."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.method != "GET":
        response.headers.setdefault("Cache-Control", "no-store")
    if response.status_code >= 400:
        rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return render_error(409, "Conflict", "A concurrent change touched the same record; nothing was changed. "
                                             "Go back and try again.")
    except DATABASE_UNAVAILABLE as exc:
        return _database_unavailable(exc)
    return response


def _database_unavailable(exc: Exception) -> Response:
    """A page saying the database is unavailable (503, ``Retry-After``), rendered without the database: the page
    layout asks who is signed in, so that is settled as nobody first."""
    discard_failed_transaction(exc)
    g.connector_account = None
    resp = render_error(503, "Service unavailable", "The database is unavailable. Try again in "
                        f"{RETRY_AFTER_SECONDS} seconds.")
    resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp


_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed", 409: "Conflict",
           413: "Too large", 422: "Not valid"}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 413:
        limit = settings().max_body_bytes
        return render_error(413, _TITLES[413], f"What you sent is larger than {limit} bytes; nothing was changed.")
    return render_error(status, _TITLES.get(status, exc.name), str(exc.description or exc.name))


@bp.errorhandler(GovernanceError)
def _governance_error(exc: GovernanceError) -> Response:
    return render_error(status_for(exc), "Not done", exc.message)


for _error in DATABASE_UNAVAILABLE:  # a lost database: a 503 page, never a 500
    bp.register_error_handler(_error, _database_unavailable)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500, "Something went wrong", "Something went wrong on our side; nothing was changed.")


@bp.context_processor
def _page_context() -> dict[str, Any]:
    return {"user": current_user(), "csrf_token": generate_csrf}
