"""``lec``: the connector's console script, usable from any folder once the package is installed.

It offers every command of ``flask --app wsgi connector …`` (``lec init``, ``lec tokens create …``) plus the
development server (``lec run``), on an app built by ``create_app()`` from the same ``CONNECTOR_*`` settings.
``lec --demo …`` opens the demo's folder instead (its database and keys), so what the demo left can be read and
changed with the same commands.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo, run_command, shell_command

from connector import create_app
from connector.cli import ConnectorGroup, connector_group
from connector.config import demo_directory, demo_settings


def make_app(demo: bool) -> Flask:
    """The connector as configured by the environment, or (``demo``) as the last demo in its folder ran it."""
    if not demo:
        return create_app()
    return create_app(demo_settings(demo_directory()))


class LecGroup(ConnectorGroup):
    """The connector's command group at the top level: its commands are looked up when used, so a command a
    feature adds to ``flask --app wsgi connector`` (at import, or when the app is made, as the UI's ``users``) is
    a ``lec`` command too."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        _registered(ctx)
        return sorted(set(super().list_commands(ctx)) | set(connector_group.list_commands(ctx)))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name) or connector_group.get_command(ctx, cmd_name)
        if found is None:
            _registered(ctx)
            found = connector_group.get_command(ctx, cmd_name)
        return found


def _registered(ctx: click.Context) -> None:
    """Make the app once (``lec``'s callback has put how in ``ctx.obj``; ``lec --help`` has not), so the commands
    it registers on the connector's group are there."""
    info = ctx.find_object(ScriptInfo) or ScriptInfo(create_app=lambda: make_app(False), set_debug_flag=False)
    try:
        info.load_app()
    except (OSError, ValueError):  # no demo yet, a bad setting: the command that needs the app reports it
        return


@click.group("lec", cls=LecGroup, help="License Exception Connector administration: the commands of "
                                       "`flask --app wsgi connector`, from any folder, configured by the "
                                       "CONNECTOR_* environment variables.")
@click.option("--demo", is_flag=True, help="Use the demo's database and keys: the folder `lec demo` uses "
                                           "(CONNECTOR_DEMO_DIR, default ./lec-demo).")
@click.version_option(package_name="license-exception-connector", prog_name="lec")
@click.pass_context
def lec(ctx: click.Context, demo: bool) -> None:
    ctx.obj = ScriptInfo(create_app=lambda: make_app(demo), set_debug_flag=False)


lec.add_command(run_command)
lec.add_command(shell_command)


def main(argv: list[str] | None = None) -> Any:
    """The ``lec`` entry point."""
    return lec.main(args=argv, prog_name="lec")
