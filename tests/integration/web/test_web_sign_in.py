"""Signing in to the UI: password accounts, session cookie flags, CSRF on every form, roles, the CLI."""

from __future__ import annotations

from sqlalchemy import func, select
from support.database import app_config

from connector import create_app
from connector.db import db
from connector.models import AuditEvent, Principal, UserAccount, utcnow
from connector.policy_store import current_version


def test_pages_need_sign_in_and_come_back_after_it(client, make_account, csrf, password):
    r = client.get("/queue")
    assert r.status_code == 302 and r.headers["Location"].startswith("/sign-in?next=/queue")
    email = make_account("reviewer", "legal")
    token = csrf(client.get("/sign-in?next=/queue").get_data(as_text=True))
    r = client.post("/sign-in?next=/queue", data={"csrf_token": token, "email": email.upper(), "password": password})
    assert r.status_code == 303 and r.headers["Location"] == "/queue"
    assert client.get("/queue").status_code == 200


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_account, csrf, password):
    email = make_account("admin")
    token = csrf(client.get("/sign-in").get_data(as_text=True))
    for address, attempt in ((email, "wrong password here"), ("nobody@vendor.example", password)):
        r = client.post("/sign-in", data={"csrf_token": token, "email": address, "password": attempt})
        assert r.status_code == 401
        assert "That email and password do not match an active account." in r.get_data(as_text=True)
    assert client.get("/admin/connections").status_code == 302


def test_session_cookie_is_http_only_and_same_site_lax(client, make_account, csrf, password):
    email = make_account("admin")
    token = csrf(client.get("/sign-in").get_data(as_text=True))
    r = client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_when_the_base_url_is_https(database_url):
    app = create_app(app_config(database_url, CONNECTOR_BASE_URL="https://connector.example.com"))
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        with app.test_request_context("/sign-in"):
            from flask import session

            session["x"] = 1
            response = app.response_class()
            app.session_interface.save_session(app, session, response)  # type: ignore[arg-type]
            assert "Secure" in response.headers["Set-Cookie"]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_sign_in_never_redirects_to_another_host(client, make_account, csrf, password):
    email = make_account("admin")
    token = csrf(client.get("/sign-in").get_data(as_text=True))
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = client.post("/sign-in", query_string={"next": target},
                        data={"csrf_token": token, "email": email, "password": password})
        assert r.status_code == 303 and r.headers["Location"] == "/"
        client.post("/sign-out", data={"csrf_token": csrf(client.get("/admin/connections").get_data(as_text=True))})
        token = csrf(client.get("/sign-in").get_data(as_text=True))


def test_forms_without_the_csrf_token_are_refused(app, signed_in):
    client = signed_in("admin")
    for path in ("/sign-out", "/admin/policy", "/audit/samples", "/admin/connections"):
        r = client.post(path, data={"size": "3", "document": "x: 1", "name": "x"})
        assert r.status_code == 400, path
        assert "security token is missing or expired" in r.get_data(as_text=True)
        r = client.post(path, data={"csrf_token": "forged.token.value", "size": "3"})
        assert r.status_code == 400, path
    assert client.get("/admin/connections").status_code == 200  # still signed in: the sign-out was refused
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action.in_(("audit.sampled", "connection.created")))) == 0
        assert current_version() == 1


def test_sign_out_ends_the_session(signed_in, csrf):
    client = signed_in("auditor")
    token = csrf(client.get("/audit").get_data(as_text=True))
    r = client.post("/sign-out", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == "/sign-in"
    assert client.get("/audit").status_code == 302


def test_each_page_allows_only_the_roles_it_needs(signed_in):
    reviewer, admin, auditor = signed_in("reviewer", "legal"), signed_in("admin"), signed_in("auditor")
    for path in ("/admin/connections", "/admin/policy", "/admin/deliveries", "/audit"):
        r = reviewer.get(path)
        assert r.status_code == 403, path
        assert "Your role (reviewer) cannot open this page" in r.get_data(as_text=True)
    assert admin.get("/queue").status_code == 403
    assert auditor.get("/audit").status_code == 200
    assert auditor.get("/admin/policy").status_code == 403
    assert reviewer.get("/reports").status_code == 200
    assert reviewer.get("/").headers["Location"] == "/queue"
    assert admin.get("/").headers["Location"] == "/admin/connections"


def test_changing_the_password_or_disabling_the_account_ends_its_sessions(app, signed_in, csrf):
    from connector.web.accounts import set_password

    client = signed_in("admin", email="ada@vendor.example")
    with app.app_context():
        account = db.session.scalar(select(UserAccount).where(UserAccount.email == "ada@vendor.example"))
        set_password(account, "another long password", actor="test")
        db.session.commit()
    assert client.get("/admin/connections").status_code == 302
    token = csrf(client.get("/sign-in").get_data(as_text=True))
    r = client.post("/sign-in", data={"csrf_token": token, "email": "ada@vendor.example",
                                      "password": "another long password"})
    assert r.status_code == 303
    with app.app_context():
        account = db.session.scalar(select(UserAccount).where(UserAccount.email == "ada@vendor.example"))
        account.disabled_at = utcnow()
        db.session.commit()
    assert client.get("/admin/connections").status_code == 302


def test_users_create_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["connector", "users", "create", "--email", "Rita@Vendor.example", "--role",
                                 "reviewer", "--committee-role", "legal", "--committee-role", "sales",
                                 "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "account rita@vendor.example created" in result.output
    with app.app_context():
        account = db.session.scalar(select(UserAccount).where(UserAccount.email == "rita@vendor.example"))
        assert account is not None and account.password_hash and "a long enough" not in account.password_hash
        assert account.principal.role == "reviewer" and account.principal.committee_roles == ["legal", "sales"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.created"))
        assert event is not None and "a long enough password" not in str(event.data)
    again = runner.invoke(args=["connector", "users", "create", "--email", "rita@vendor.example", "--role", "admin",
                                "--password-stdin"], input="a long enough password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(args=["connector", "users", "create", "--email", "bo@vendor.example", "--role", "admin",
                                "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    wrong = runner.invoke(args=["connector", "users", "create", "--email", "cy@vendor.example", "--role", "admin",
                                "--committee-role", "legal", "--password-stdin"], input="a long enough password\n")
    assert wrong.exit_code == 1 and "Only reviewers hold committee roles" in wrong.output
    prompted = runner.invoke(args=["connector", "users", "create", "--email", "di@vendor.example", "--role",
                                   "auditor"], input="a long enough password\na long enough password\n")
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(args=["connector", "users", "list"])
    assert "rita@vendor.example\treviewer [legal, sales]\tpassword" in listed.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Principal)
                                 .where(Principal.name.in_(("bo@vendor.example", "cy@vendor.example")))) == 0


def test_an_account_can_take_over_an_api_token_principal(app, token_for):
    token_for("reviewer", "licensing", name="Lena Chair")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["connector", "users", "create", "--email", "lena@vendor.example", "--name",
                                 "Lena Chair", "--role", "reviewer", "--committee-role", "licensing",
                                 "--no-password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        account = db.session.scalar(select(UserAccount).where(UserAccount.email == "lena@vendor.example"))
        assert account.principal.name == "Lena Chair" and account.password_hash is None
        assert db.session.scalar(select(func.count()).select_from(Principal)) == 1
