"""Web accounts through their life: disabling one ends its sessions at once; failed sign-ins are throttled per
email and per client address, in the database (every web worker sees them), audited once per lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from support.database import app_config

from connector import create_app
from connector.db import db
from connector.models import AuditEvent, SignInFailure

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
WRONG = "not the right password at all"


@pytest.fixture
def attempt(csrf):
    """``attempt(client, email, password, address)``: one sign-in through the form, from that client address."""

    def sign_in(client, email: str, password: str, address: str = "127.0.0.1"):
        token = csrf(client.get("/sign-in").get_data(as_text=True))
        return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password},
                           environ_base={"REMOTE_ADDR": address})

    return sign_in


def locks(app) -> list[dict]:
    with app.app_context():
        return [e.data for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in.locked"))]


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_disabling_an_account_ends_its_sessions_at_once_and_enabling_does_not_revive_them(
        attempt, app, signed_in, password):
    first = signed_in("reviewer", "legal", email="rita@vendor.example")
    second = app.test_client()
    assert attempt(second, "rita@vendor.example", password).status_code == 303
    assert first.get("/queue").status_code == 200 and second.get("/queue").status_code == 200
    runner = app.test_cli_runner()

    result = runner.invoke(args=["connector", "users", "disable", "--email", "Rita@vendor.example"])
    assert result.exit_code == 0 and "disabled; its sessions have ended" in result.output, result.output
    r = first.get("/queue")
    assert r.status_code == 302 and r.headers["Location"].startswith("/sign-in")
    refused = attempt(app.test_client(), "rita@vendor.example", password)
    assert refused.status_code == 401 and "do not match an active account" in refused.get_data(as_text=True)
    assert "already disabled" in runner.invoke(args=["connector", "users", "disable", "--email",
                                                     "rita@vendor.example"]).output
    listed = runner.invoke(args=["connector", "users", "list"]).output
    assert "rita@vendor.example\treviewer [legal]\tpassword (disabled)" in listed

    result = runner.invoke(args=["connector", "users", "enable", "--email", "rita@vendor.example"])
    assert result.exit_code == 0 and "enabled" in result.output
    assert second.get("/queue").status_code == 302  # a session from before the disable stays ended
    fresh = app.test_client()
    assert attempt(fresh, "rita@vendor.example", password).status_code == 303
    assert fresh.get("/queue").status_code == 200
    assert "was not disabled" in runner.invoke(args=["connector", "users", "enable", "--email",
                                                     "rita@vendor.example"]).output
    missing = runner.invoke(args=["connector", "users", "disable", "--email", "nobody@vendor.example"])
    assert missing.exit_code == 1 and missing.output.startswith("error: no account")
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("account.%abled"))).all()
    assert actions == ["account.disabled", "account.enabled"]


def test_five_failures_for_one_email_pause_its_sign_in_for_fifteen_minutes(attempt, app, make_account, password, clock):
    email = make_account("admin")
    client = app.test_client()
    for _ in range(4):
        assert attempt(client, email, WRONG).status_code == 401
    fifth = attempt(client, email, WRONG)
    assert fifth.status_code == 429 and fifth.headers["Retry-After"] == "900"
    page = fifth.get_data(as_text=True)
    assert "Too many failed sign-ins for this email address" in page and "until 09:15 UTC (in 15 minutes)" in page
    clock.move_to(T0 + timedelta(minutes=14, seconds=30))
    right = attempt(client, email.upper(), password)  # the right password is refused too while paused
    assert right.status_code == 429 and right.headers["Retry-After"] == "30"
    assert "in 1 minute)" in right.get_data(as_text=True)
    assert attempt(app.test_client(), email, password, address="10.9.9.9").status_code == 429  # any address
    assert attempt(client, "someone-else@vendor.example", WRONG).status_code == 401  # other emails are not paused
    assert len(locks(app)) == 1  # audited once, not per refused attempt
    assert locks(app)[0]["scope"] == "email" and locks(app)[0]["email"] == email
    assert locks(app)[0]["failures"] == 5 and locks(app)[0]["locked_until"].startswith("2027-03-01T09:15")
    clock.move_to(T0 + timedelta(minutes=15))
    assert attempt(client, email, password).status_code == 303
    assert client.get("/admin/connections").status_code == 200


def test_failures_count_within_fifteen_minutes_only_and_a_good_sign_in_clears_them(
        attempt, app, make_account, password, clock, csrf):
    email = make_account("admin")
    client = app.test_client()
    for _ in range(4):
        assert attempt(client, email, WRONG).status_code == 401
    clock.move_to(T0 + timedelta(minutes=15))
    for _ in range(4):  # the first four have aged out of the window
        assert attempt(client, email, WRONG).status_code == 401
    assert attempt(client, email, password).status_code == 303
    client.post("/sign-out", data={"csrf_token": csrf(client.get("/admin/connections").get_data(as_text=True))})
    for _ in range(4):  # the good sign-in started the email's count again
        assert attempt(client, email, WRONG).status_code == 401
    assert locks(app) == []
    with app.app_context():  # nothing older than the window is kept
        assert db.session.scalar(select(func.min(SignInFailure.failed_at))) >= T0 + timedelta(minutes=15)


def test_twenty_failures_from_one_address_pause_sign_in_from_it(attempt, app, make_account, password, clock):
    victims = [make_account("reviewer", "legal") for _ in range(5)]
    client = app.test_client()
    statuses = [attempt(client, victims[n % 5], WRONG, "192.0.2.7").status_code for n in range(20)]
    assert statuses == [401] * 19 + [429]
    refused = attempt(client, victims[0], password, "192.0.2.7")
    assert refused.status_code == 429 and "from your network address" in refused.get_data(as_text=True)
    assert attempt(app.test_client(), victims[0], password, "192.0.2.8").status_code == 303  # another address
    assert [(lock["scope"], lock["address"], lock["email"]) for lock in locks(app)] == [("address", "192.0.2.7",
                                                                                          victims[4])]
    clock.move_to(T0 + timedelta(minutes=15, seconds=1))
    assert attempt(client, victims[1], password, "192.0.2.7").status_code == 303


def test_every_web_worker_counts_the_same_failures(attempt, app, database_url, make_account, password, clock):
    email = make_account("admin")
    other_worker = create_app(app_config(database_url))
    try:
        for n in range(5):
            worker = app if n % 2 else other_worker
            attempt(worker.test_client(), email, WRONG)
        assert attempt(other_worker.test_client(), email, password).status_code == 429
        assert attempt(app.test_client(), email, password).status_code == 429
    finally:
        with other_worker.app_context():
            db.engine.dispose()


def test_one_principal_through_the_cli_the_api_and_the_ui(attempt, app, client, token_for, make_account, password):
    """Lena signs in to the UI and her script calls the API: disabling her account ends the UI session only,
    revoking her tokens ends the script's access; an admin sees both in the token list and the audit log."""
    runner = app.test_cli_runner()
    admin = token_for("admin", name="ops")
    created = client.post("/api/v1/tokens", json={"name": "Lena", "role": "reviewer",
                                                  "committee_roles": ["licensing"]}, headers=admin).get_json()
    script = {"Authorization": f"Bearer {created['token']}"}
    assert runner.invoke(args=["connector", "users", "create", "--email", "lena@vendor.example", "--name", "Lena",
                               "--role", "reviewer", "--committee-role", "licensing",
                               "--password-stdin"], input=f"{password}\n").exit_code == 0
    browser = app.test_client()
    assert attempt(browser, "lena@vendor.example", password).status_code == 303
    assert browser.get("/queue").status_code == 200
    assert client.get("/api/v1/requests", headers=script).status_code == 200

    assert runner.invoke(args=["connector", "users", "disable", "--email", "lena@vendor.example"]).exit_code == 0
    assert browser.get("/queue").status_code == 302
    assert client.get("/api/v1/requests", headers=script).status_code == 200  # the token is not the account

    result = runner.invoke(args=["connector", "tokens", "revoke", "--name", "Lena"])
    assert result.exit_code == 0 and f"revoked 1 token(s) of Lena: {created['id']}" in result.output
    assert client.get("/api/v1/requests", headers=script).get_json()["code"] == "token_revoked"
    listed = client.get("/api/v1/tokens?name=Lena", headers=admin).get_json()["items"]
    assert [(t["status"], t["revoked_by"]) for t in listed] == [("revoked", "cli")]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject == "principal:Lena")
                                     .order_by(AuditEvent.seq)).all()
    assert actions == ["token.created", "account.created", "account.signed_in", "account.disabled", "token.revoked"]


def test_concurrent_failures_start_one_lock_and_never_fail(attempt, app, make_account, password):
    """Web workers failing sign-ins for the same email at once (real concurrency on PostgreSQL): every answer is
    a 401 or a 429, never an error, and one lock is started and audited."""
    email = make_account("admin")

    def fail_three_times(_: int) -> list[int]:
        client = app.test_client()
        return [attempt(client, email, WRONG).status_code for _ in range(3)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = [status for batch in pool.map(fail_three_times, range(6)) for status in batch]
    assert set(statuses) <= {401, 429} and 429 in statuses, statuses
    assert len(locks(app)) == 1
    assert attempt(app.test_client(), email, password).status_code == 429
