"""Sign-in (password or OpenID Connect), sign-out, and the start page for each role."""

from __future__ import annotations

from authlib.integrations.base_client.errors import OAuthError
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.client_address import current_client_label
from connector.db import unit_of_work
from connector.web import oidc, throttle
from connector.web.accounts import find_by_email, verify_password
from connector.web.blueprint import bp, render_error
from connector.web.forms import ButtonForm, SignInForm
from connector.web.signin import current_account, redirect_home, safe_next, sign_in, sign_out

START_PAGES = {"reviewer": "connector_web.queue", "admin": "connector_web.connections_page",
               "auditor": "connector_web.audit_page", "intake": "connector_web.requests_list"}
SIGN_IN_FAILED = "That email and password do not match an active account."


@bp.route("/")
def index() -> Response:
    account = current_account()
    if account is None:
        return redirect(url_for("connector_web.sign_in"))
    page = START_PAGES.get(account.principal.role)
    if page is None:
        abort(403, f"The {account.principal.role} role works through the API; there is no page for it here.")
    return redirect(url_for(page))


def _render_sign_in(form: SignInForm, status: int = 200, message: str | None = None) -> tuple[str, int]:
    return render_template("web/sign_in.html", form=form, message=message,
                           oidc=oidc.configured(current_app), next=safe_next(request.args.get("next"))), status


@bp.route("/sign-in", methods=["GET"], endpoint="sign_in")
def sign_in_page() -> Response | tuple[str, int]:
    if current_account() is not None:
        return redirect_home()
    return _render_sign_in(SignInForm(formdata=None))


def _throttled(form: SignInForm, lock: throttle.Lock) -> Response:
    page, status = _render_sign_in(form, 429, lock.message())
    return Response(page, status=status, mimetype="text/html", headers={"Retry-After": str(lock.retry_after())})


@bp.route("/sign-in", methods=["POST"])
def sign_in_post() -> Response | tuple[str, int]:
    form = SignInForm()
    if not form.validate():
        return _render_sign_in(form, 422)
    address = current_client_label()
    lock = throttle.current_lock(form.email.data, address)
    if lock is not None:
        return _throttled(form, lock)
    account = verify_password(form.email.data, form.password.data)
    if account is None:
        current_app.logger.info("failed UI sign-in")
        with unit_of_work():  # the failure counts although this answer is an error (which rolls back)
            lock = throttle.record_failure(form.email.data, address)
        return _throttled(form, lock) if lock is not None else _render_sign_in(form, 401, SIGN_IN_FAILED)
    throttle.forget_email_failures(account.email)
    sign_in(account, "password")
    return redirect(safe_next(request.args.get("next")) or url_for("connector_web.index"), 303)


@bp.route("/sign-out", methods=["POST"])
def sign_out_post() -> Response:
    ButtonForm()  # the CSRF token was checked before the view
    sign_out()
    flash("You are signed out.", "success")
    return redirect(url_for("connector_web.sign_in"), 303)


@bp.route("/sign-in/oidc")
def oidc_start() -> Response:
    client = oidc.client()
    if client is None:
        abort(404, "OpenID Connect sign-in is not configured.")
    return client.authorize_redirect(url_for("connector_web.oidc_callback", _external=True))  # type: ignore[no-any-return]


@bp.route("/sign-in/oidc/callback")
def oidc_callback() -> Response | tuple[str, int]:
    client = oidc.client()
    if client is None:
        abort(404, "OpenID Connect sign-in is not configured.")
    try:
        token = client.authorize_access_token()
    except OAuthError as exc:
        current_app.logger.info("OpenID Connect sign-in refused: %s", exc.error)
        return render_error(400, "Sign-in failed", f"The identity provider's answer was refused "
                            f"({exc.error}); nothing was changed. Start again from the sign-in page.")
    claims = dict(token.get("userinfo") or {})
    email = oidc.verified_email(claims)
    account = find_by_email(email) if email else None
    if account is None or account.disabled_at is not None:
        return render_error(403, "No account", "The identity provider signed you in, but no active account here "
                            "has that email address. Ask an admin to create one.")
    sign_in(account, "oidc")
    return redirect(url_for("connector_web.index"), 303)
