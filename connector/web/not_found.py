"""Unknown addresses outside the API answer with the UI's own styled page, not Flask's bare 404.

No route matched, so no blueprint's handler runs: an app-wide handler answers for paths under the UI's mount
point that matched nothing (with no mount point, every path, unless a host app registered its own handler), and
hands everything else to the handler registered before it (a host app's, or Flask's default). The API's prefix
is answered later, and first, with JSON problem details (``connector``)."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from connector.config import settings
from connector.web.signin import current_user

MESSAGES = {404: ("Not found", "There is no page at this address. Check the link, or start again from the start "
                               "page."),
            405: ("Not allowed", "This address does not answer to that kind of request.")}


def install(app: Flask) -> None:
    prefix = settings(app).url_prefix or ""
    previous = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)

    @app.errorhandler(HTTPException)
    def _unrouted(exc: HTTPException) -> Any:
        status = exc.code or 500
        # ours: unmatched paths under the UI's own prefix; with no prefix, only when no host app answers its own
        ours = request.path.startswith(prefix + "/") if prefix else previous is None
        if request.url_rule is None and status in MESSAGES and ours:
            title, message = MESSAGES[status]
            body = render_template("web/error.html", status=status, title=title, message=message,
                                   user=current_user(), csrf_token=generate_csrf)
            answer = Response(body, status=status, mimetype="text/html")
            allowed = exc.get_response().headers.get("Allow")  # a 405 says which methods the address takes
            if allowed:
                answer.headers["Allow"] = allowed
            return answer
        return previous(exc) if previous is not None else exc
