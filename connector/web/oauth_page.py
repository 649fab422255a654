"""The OAuth callback, as a person in a browser sees it: a refusal in the UI's own page, not raw JSON.

The callback is the API's (``/oauth/callback``): a script gets JSON, and an admin's browser that succeeded is sent
back to the connections page. When it fails (the provider refused, the state expired, the code exchange failed),
the browser gets the same explanation on a page with the UI's layout and a way back.
"""

from __future__ import annotations

import json

from flask import Flask, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from connector.web.signin import current_user

CALLBACK_ENDPOINT = "oauth.oauth_callback"


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def install(app: Flask) -> None:
    @app.after_request
    def _callback_page(response: Response) -> Response:
        if request.endpoint != CALLBACK_ENDPOINT or response.status_code < 400 or not _wants_html():
            return response
        try:
            problem = json.loads(response.get_data(as_text=True))
        except ValueError:
            return response
        message = str(problem.get("message") or "The authorization did not complete.")
        body = render_template("web/oauth_failed.html", status=response.status_code, message=message,
                               connections_url=url_for("connector_web.connections_page"), user=current_user(),
                               csrf_token=generate_csrf)
        page = Response(body, status=response.status_code, mimetype="text/html")
        page.headers["Cache-Control"] = "no-store"
        return page
