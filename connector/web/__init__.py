"""The server-rendered UI for reviewers, admins and auditors, over the same operations the API calls.

``init_web(app)`` mounts it at ``<CONNECTOR_URL_PREFIX>/`` (the API stays at ``<prefix>/api/v1``), sets the
session cookie flags and registers optional OpenID Connect sign-in (its ``connector users`` CLI commands are
``connector.web.cli``'s, which ``connector.cli`` adds to its group).
"""

from __future__ import annotations

from flask import Flask

from connector.config import settings
from connector.web import (  # noqa: F401 (routes)
    admin_views,
    audit_views,
    auth_views,
    formatting,
    lifecycle_views,
    metrics_views,
    not_found,
    notification_views,
    oauth_page,
    policy_review_views,
    practice_views,
    public_views,
    review_views,
    scenario_views,
    worker_health,
)
from connector.web.blueprint import bp
from connector.web.filters import install
from connector.web.oidc import init_oidc

__all__ = ["init_web"]


def init_web(app: Flask) -> None:
    # Flask's defaults are a cookie readable by script-free requests from anywhere: tighten them, but keep a
    # host application's own explicit choices.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if settings(app).base_url.lower().startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    install(app)
    formatting.install(app)
    not_found.install(app)
    oauth_page.install(app)
    init_oidc(app)
    app.register_blueprint(bp, url_prefix=settings(app).url_prefix or None)
    app.register_blueprint(public_views.bp, url_prefix=settings(app).url_prefix or None)  # no sign-in, no session
