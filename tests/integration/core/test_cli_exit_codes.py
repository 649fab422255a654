"""The CLI's exit codes as the README promises: 0 on success, 1 with one ``error:`` line for a failure a person
can fix (a short password, an unknown connection, a policy that is not YAML), 2 only for a command line that
cannot be parsed (click's usage errors)."""

from __future__ import annotations

import signal

import pytest


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["connector", *args], **kwargs)


@pytest.mark.parametrize("args", [
    ("users", "create", "--email", "bo@vendor.example", "--role", "admin", "--password-stdin"),
    ("users", "set-password", "--email", "nobody@vendor.example", "--password-stdin"),
    ("connections", "provision", "nope"),
    ("mapping", "show", "nope"),
    ("sync", "nope"),
])
def test_a_failure_a_person_can_fix_is_one_error_line_and_exit_1(app, args):
    result = run(app, *args, input="short\n")
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output


def test_a_command_line_click_cannot_parse_exits_2(app):
    assert run(app, "users", "create", "--email", "x@vendor.example").exit_code == 2  # --role missing
    assert run(app, "tokens", "create", "--name", "x", "--role", "nobody").exit_code == 2


def test_a_policy_that_is_not_yaml_says_where_in_the_products_words(app, tmp_path):
    broken = tmp_path / "policy.yaml"
    broken.write_text("version: 1\n risk: {}\n")
    for command in ("validate", "set"):
        result = run(app, "policy", command, str(broken))
        assert result.exit_code == 1, result.output
        assert result.output == ("error: The policy is not valid YAML at line 2, column 6: mapping values are not "
                                 "allowed here.\n")


def test_a_mapping_that_is_not_yaml_says_where_through_the_api(client, token_for):
    admin = token_for("admin")
    assert client.post("/api/v1/connections", headers=admin, json={"name": "zd", "kind": "zendesk", "settings": {
        "subdomain": "acme", "client_id": "c", "client_secret": "s"}}).status_code == 201
    r = client.put("/api/v1/connections/zd/mapping", headers={**admin, "Content-Type": "application/yaml"},
                    data="kind: zendesk\n inbound: {}\n")
    body = r.get_json()
    assert r.status_code in (400, 422), body
    text = str(body)
    assert "line 2, column 9" in text and "<unicode string>" not in text


def test_the_worker_gives_the_signal_handlers_back_when_it_ends(app):
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    assert run(app, "worker", "--once").exit_code == 0
    assert {sig: signal.getsignal(sig) for sig in before} == before  # the runner's own Ctrl+C still works
