"""API tokens through their life, on the CLI and the API: issued with fixed roles and an expiry, listed without
the secret, revoked one at a time or a principal at a time, refused with a 401 that says why, audited."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import time_machine
from flask_migrate import upgrade
from sqlalchemy import event, select, text
from support.database import app_config, fresh_database

from connector import create_app
from connector.db import db
from connector.models import ApiToken, AuditEvent, utcnow

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cli_issue(runner, *args: str) -> tuple[int, str]:
    """The new token's id and the token (``token <id> for …`` then the token alone on the last line)."""
    result = runner.invoke(args=["connector", "tokens", "create", *args])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    return int(lines[0].split()[1]), lines[-1]


def cli_token(runner, *args: str) -> str:
    return cli_issue(runner, *args)[1]


def audit_text(app) -> str:
    with app.app_context():
        return "\n".join(f"{e.action} {e.subject} {e.data}" for e in db.session.scalars(select(AuditEvent)))


def test_cli_issues_lists_and_revokes_tokens_and_a_token_keeps_its_roles(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["connector", "tokens", "create", "--name", "intake-bot", "--role", "intake"])
    assert first.exit_code == 0 and "expires 20" in first.output, first.output
    intake = first.output.strip().splitlines()[-1]
    assert client.get("/api/v1/requests", headers=bearer(intake)).status_code == 200

    refused = runner.invoke(args=["connector", "tokens", "create", "--name", "intake-bot", "--role", "auditor"])
    assert refused.exit_code == 1
    assert refused.output.count("\n") == 1 and refused.output.startswith("error: 'intake-bot' holds the role intake")
    assert "--replace" in refused.output
    assert client.get("/api/v1/audit", headers=bearer(intake)).status_code == 403  # still intake, not auditor

    second = cli_token(runner, "--name", "intake-bot", "--role", "intake", "--expires-in", "0")  # same roles: issued
    listed = runner.invoke(args=["connector", "tokens", "list"])
    lines = listed.output.strip().splitlines()
    assert lines[0].split("\t") == ["id", "name", "role", "committee roles", "prefix", "created", "expires",
                                    "last used", "revoked"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [(r[1], r[2], r[3], r[8]) for r in rows] == [("intake-bot", "intake", "-", "-")] * 2
    assert rows[0][6].startswith(str(utcnow().year + 1)) and rows[1][6] == "never (no expiry)"
    assert rows[0][7] != "never" and rows[1][7] == "never"  # the first was used above
    assert intake not in listed.output and second not in listed.output and intake[10:20] not in listed.output

    new_id, auditor = cli_issue(runner, "--name", "intake-bot", "--role", "auditor", "--replace")
    for old in (intake, second):
        r = client.get("/api/v1/requests", headers=bearer(old))
        assert r.status_code == 401 and r.get_json()["code"] == "token_revoked"
        assert "revoked" in r.get_json()["message"]
    assert client.get("/api/v1/audit", headers=bearer(auditor)).status_code == 200

    revoked = runner.invoke(args=["connector", "tokens", "revoke", "--id", str(new_id)])
    assert revoked.exit_code == 0 and f"revoked token {new_id} of intake-bot" in revoked.output, revoked.output
    assert client.get("/api/v1/audit", headers=bearer(auditor)).get_json()["code"] == "token_revoked"
    again = runner.invoke(args=["connector", "tokens", "revoke", "--id", str(new_id)])
    assert again.exit_code == 0 and "already revoked" in again.output

    for args in (["--id", "999"], ["--name", "nobody"]):
        missing = runner.invoke(args=["connector", "tokens", "revoke", *args])
        assert missing.exit_code == 1 and missing.output.startswith("error: "), missing.output
    assert runner.invoke(args=["connector", "tokens", "revoke"]).exit_code == 2  # neither --name nor --id

    events = audit_text(app)
    assert events.count("token.created") == 3 and events.count("token.revoked") == 3
    assert all(secret not in events for secret in (intake, second, auditor))


def test_cli_revoke_by_name_ends_every_token_of_the_principal(app, client):
    runner = app.test_cli_runner()
    tokens = [cli_token(runner, "--name", "chair", "--role", "reviewer", "--committee-role", "licensing")
              for _ in range(2)]
    other = cli_token(runner, "--name", "someone-else", "--role", "intake")
    result = runner.invoke(args=["connector", "tokens", "revoke", "--name", "chair"])
    assert result.exit_code == 0 and "revoked 2 token(s) of chair: 1, 2" in result.output, result.output
    assert all(client.get("/api/v1/requests", headers=bearer(t)).status_code == 401 for t in tokens)
    assert client.get("/api/v1/requests", headers=bearer(other)).status_code == 200
    assert "none was left" in runner.invoke(args=["connector", "tokens", "revoke", "--name", "chair"]).output


def test_a_token_expires_after_its_days_and_says_so(app, client):
    runner = app.test_cli_runner()
    with time_machine.travel(T0, tick=False) as clock:
        short = cli_token(runner, "--name", "short", "--role", "intake", "--expires-in", "1")
        forever = cli_token(runner, "--name", "forever", "--role", "intake", "--expires-in", "0")
        default = cli_token(runner, "--name", "default", "--role", "intake")
        clock.move_to(T0 + timedelta(days=1) - timedelta(seconds=1))
        assert client.get("/api/v1/requests", headers=bearer(short)).status_code == 200
        clock.move_to(T0 + timedelta(days=1))
        r = client.get("/api/v1/requests", headers=bearer(short))
        assert r.status_code == 401 and r.get_json()["code"] == "token_expired"
        assert r.get_json()["message"].startswith("This API token expired on 2027-03-02 09:00 UTC")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        clock.move_to(T0 + timedelta(days=365))
        assert client.get("/api/v1/requests", headers=bearer(default)).get_json()["code"] == "token_expired"
        clock.move_to(T0 + timedelta(days=3650))
        assert client.get("/api/v1/requests", headers=bearer(forever)).status_code == 200
    bad = runner.invoke(args=["connector", "tokens", "create", "--name", "x", "--role", "intake", "--expires-in", "-1"])
    assert bad.exit_code == 2


def test_last_used_is_written_at_most_once_a_minute(app, client):
    runner = app.test_cli_runner()
    with time_machine.travel(T0, tick=False) as clock:
        token = cli_token(runner, "--name", "poller", "--role", "intake")
        writes: list[str] = []
        with app.app_context():
            engine = db.engine

        def count(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
                writes.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            for second in (0, 10, 59, 60, 61, 119, 120):
                clock.move_to(T0 + timedelta(seconds=second))
                assert client.get("/api/v1/requests", headers=bearer(token)).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(writes) == 3  # at 0 s, 60 s and 120 s
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) == T0 + timedelta(seconds=120)


def test_api_issues_lists_and_revokes_tokens(app, client, token_for):
    admin = token_for("admin", name="root")
    r = client.post("/api/v1/tokens", json={"name": "sync-bot", "role": "intake"}, headers=admin)
    assert r.status_code == 201, r.get_json()
    issued = r.get_json()
    assert issued["status"] == "active" and issued["role"] == "intake" and issued["token"].startswith("lec_")
    expires = datetime.fromisoformat(issued["expires_at"])
    assert timedelta(days=364) < expires - utcnow() <= timedelta(days=365)
    assert client.get("/api/v1/requests", headers=bearer(issued["token"])).status_code == 200

    conflict = client.post("/api/v1/tokens", json={"name": "sync-bot", "role": "auditor"}, headers=admin)
    assert conflict.status_code == 409 and conflict.get_json()["code"] == "token_roles_differ"
    assert conflict.get_json()["details"] == {"principal": "sync-bot", "role": "intake", "committee_roles": [],
                                              "live_tokens": 1}
    replaced = client.post("/api/v1/tokens", json={"name": "sync-bot", "role": "auditor", "replace": True,
                                                   "expires_in_days": 0}, headers=admin)
    assert replaced.status_code == 201 and replaced.get_json()["expires_at"] is None
    assert client.get("/api/v1/requests", headers=bearer(issued["token"])).get_json()["code"] == "token_revoked"
    assert client.get("/api/v1/audit", headers=bearer(replaced.get_json()["token"])).status_code == 200

    first = client.get("/api/v1/tokens?limit=2", headers=admin).get_json()
    assert [t["name"] for t in first["items"]] == ["root", "sync-bot"] and first["next"]
    rest = client.get(f"/api/v1/tokens?limit=2&after={first['next']}", headers=admin).get_json()
    assert [t["id"] for t in rest["items"]] == [replaced.get_json()["id"]] and rest["next"] is None
    listed = client.get("/api/v1/tokens", headers=admin)
    assert issued["token"] not in listed.get_data(as_text=True)
    assert all("token" not in t and "token_hash" not in t for t in listed.get_json()["items"])
    revoked = client.get("/api/v1/tokens?name=sync-bot&status=revoked", headers=admin).get_json()["items"]
    assert [(t["id"], t["revoked_by"]) for t in revoked] == [(issued["id"], "root")]

    gone = client.delete(f"/api/v1/tokens/{replaced.get_json()['id']}", headers=admin)
    assert gone.status_code == 200 and gone.get_json()["status"] == "revoked"
    assert client.delete(f"/api/v1/tokens/{replaced.get_json()['id']}", headers=admin).status_code == 200
    assert client.delete("/api/v1/tokens/999", headers=admin).status_code == 404
    assert client.get("/api/v1/tokens?status=active", headers=admin).get_json()["items"][0]["name"] == "root"

    events = audit_text(app)
    assert events.count("token.revoked") == 2 and "'reason': 'replaced'" in events
    assert issued["token"] not in events and replaced.get_json()["token"] not in events


def test_api_token_routes_are_for_admins_and_check_their_input(client, token_for):
    admin = token_for("admin")
    reviewer = token_for("reviewer", "licensing")
    assert client.get("/api/v1/tokens").status_code == 401
    assert client.get("/api/v1/tokens", headers=reviewer).status_code == 403
    assert client.post("/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=reviewer).status_code == 403
    assert client.delete("/api/v1/tokens/1", headers=reviewer).status_code == 403
    for body, field in (({"name": "x", "role": "intake", "committee_roles": ["legal"]}, "committee_roles"),
                        ({"name": "x", "role": "intake", "expires_in_days": -1}, "expires_in_days"),
                        ({"name": "x", "role": "intake", "expires_in_days": 3651}, "expires_in_days"),
                        ({"name": "", "role": "intake"}, "name"),
                        ({"name": "x", "role": "root"}, "role"),
                        ({"name": "x", "role": "intake", "secret": 1}, "secret")):
        r = client.post("/api/v1/tokens", json=body, headers=admin)
        assert r.status_code == 422 and field in r.get_json()["details"]["fields"], (body, r.get_json())
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/tokens"])
    assert "delete" in spec["paths"]["/api/v1/tokens/{token_id}"]


def test_unknown_token_still_says_unknown(client):
    r = client.get("/api/v1/requests", headers=bearer("lec_not-a-token"))
    assert r.status_code == 401 and r.get_json()["code"] == "invalid_token"


def test_a_token_whose_principal_roles_changed_behind_its_back_is_refused(app, client, token_for):
    headers = token_for("intake", name="bot")
    with app.app_context():
        db.session.execute(text("UPDATE principals SET role = 'admin' WHERE name = 'bot'"))
        db.session.commit()
    r = client.get("/api/v1/requests", headers=headers)
    assert r.status_code == 401 and r.get_json()["code"] == "token_roles_changed"


def test_an_account_may_not_change_the_roles_of_a_principal_with_live_tokens(app, token_for):
    token_for("intake", name="bot")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["connector", "users", "create", "--email", "bot@vendor.example", "--name", "bot",
                                  "--role", "auditor", "--no-password"])
    assert refused.exit_code == 1 and "tokens revoke --name 'bot'" in refused.output, refused.output
    assert runner.invoke(args=["connector", "tokens", "revoke", "--name", "bot"]).exit_code == 0
    taken = runner.invoke(args=["connector", "users", "create", "--email", "bot@vendor.example", "--name", "bot",
                                "--role", "auditor", "--no-password"])
    assert taken.exit_code == 0, taken.output


def test_existing_tokens_keep_working_after_the_migration_with_no_expiry(db_template, tmp_path):
    url = fresh_database(db_template, tmp_path, migrated=False)
    app = create_app(app_config(url))
    directory = app.extensions["license_exception_connector"]["migrations"]
    secret = "lec_from-before-expiry-existed"
    with app.app_context():
        upgrade(directory=directory, revision="0005")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO principals (id, name, role, committee_roles, created_at) VALUES "
                              "(1, 'old-chair', 'reviewer', '[\"licensing\"]', '2027-03-01 09:00:00')"))
            conn.execute(text("INSERT INTO api_tokens (principal_id, token_hash, prefix, created_at) VALUES "
                              "(1, :hash, :prefix, '2027-03-01 09:00:00')"),
                         {"hash": hashlib.sha256(secret.encode()).hexdigest(), "prefix": secret[:10]})
        upgrade(directory=directory)
        row = db.session.scalar(select(ApiToken))
        assert (row.role, row.committee_roles, row.expires_at, row.revoked_at) == ("reviewer", ["licensing"], None,
                                                                                   None)
        db.session.remove()
    r = app.test_client().get("/api/v1/requests", headers=bearer(secret))
    assert r.status_code == 200, r.get_json()
    listed = app.test_cli_runner().invoke(args=["connector", "tokens", "list"]).output
    assert "old-chair\treviewer\tlicensing" in listed and "never (no expiry)" in listed
    with app.app_context():
        db.engine.dispose()
