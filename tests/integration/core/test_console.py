"""``lec``, the console script: the connector's commands from any folder, configured by ``CONNECTOR_*``, and
``lec --demo`` on the demo's folder."""

from __future__ import annotations

import json

from click.testing import CliRunner

from connector.console import lec


def test_lec_offers_the_connectors_commands_and_the_server(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(lec, ["--help"], env={"CONNECTOR_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 0, result.output
    for command in ("init", "tokens", "users", "policy", "connections", "worker", "demo", "run", "--demo"):
        assert command in result.output


def test_lec_works_from_any_folder_on_the_database_the_environment_names(database_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner, env = CliRunner(), {"CONNECTOR_DATABASE_URL": database_url}
    init = runner.invoke(lec, ["init"], env=env)
    assert init.exit_code == 0, init.output
    assert "database: up to date" in init.output and "policy:" in init.output
    created = runner.invoke(lec, ["tokens", "create", "--name", "bot", "--role", "intake"], env=env)
    assert created.exit_code == 0 and created.output.splitlines()[-1].startswith("lec_")
    listed = runner.invoke(lec, ["tokens", "list"], env=env)
    assert listed.exit_code == 0 and "\tbot\tintake\t" in listed.output


def test_lec_demo_opens_the_demos_folder(database_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    missing = runner.invoke(lec, ["--demo", "tokens", "list"])
    assert missing.exit_code == 1
    assert missing.output.startswith(f"error: no demo has run in {tmp_path / 'lec-demo'}")
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "settings.json").write_text(json.dumps({"CONNECTOR_DATABASE_URL": database_url}))
    env = {"CONNECTOR_DEMO_DIR": str(folder), "CONNECTOR_DATABASE_URL": "sqlite:///not-this-one.db"}
    assert runner.invoke(lec, ["--demo", "init"], env=env).exit_code == 0
    assert runner.invoke(lec, ["--demo", "tokens", "create", "--name", "demo-bot", "--role", "admin"],
                         env=env).exit_code == 0
    listed = runner.invoke(lec, ["--demo", "tokens", "list"], env=env)
    assert listed.exit_code == 0 and "demo-bot" in listed.output
    assert not (tmp_path / "not-this-one.db").exists()
