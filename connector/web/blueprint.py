"""The UI blueprint: CSRF on every POST, one transaction per request, errors as pages (never a 500 for input)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from connector.config import settings
from connector.db import db
from connector.governance.errors import GovernanceError
from connector.web.signin import current_user

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
    return value if value is not None and 0 < value < 2**63 else None


def status_for(exc: GovernanceError) -> int:
    return _STATUS_FOR_KIND.get(exc.kind, 409)


class NulRefused(HTTPException):
    code = 400
    description = "Text may not contain the NUL character (U+0000): remove it and send the form again."


@bp.before_request
def _check_form_post() -> None:
    request.max_content_length = settings().max_body_bytes
    # PostgreSQL text cannot hold U+0000: refused here for every path, query and form value, as the API does
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for store in (request.args, request.form)
                                     for key, values in store.lists() for value in values):
        raise NulRefused()
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
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return render_error(409, "Conflict", "A concurrent change touched the same record; nothing was changed. "
                                             "Go back and try again.")
    except OperationalError:
        db.session.rollback()
        resp = render_error(503, "Database unavailable", "The database is unavailable; nothing was changed. "
                                                         "Try again shortly.")
        resp.headers["Retry-After"] = "5"
        return resp
    return response


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


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500, "Something went wrong", "Something went wrong on our side; nothing was changed.")


@bp.context_processor
def _page_context() -> dict[str, Any]:
    return {"user": current_user(), "csrf_token": generate_csrf}
