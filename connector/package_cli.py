"""What the connector installs into the sources, written out for admins who install with their own tools:
``flask connector salesforce package`` (the Salesforce package as a DX project for ``sf project deploy start``) and
``flask connector zendesk app`` (the Zendesk app's zip, for Admin Center or ``zcli apps:create``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from adapters.salesforce.package_build import Target, fill, source_files, write_project
from adapters.zendesk import app_build
from connector import connections
from connector.config import settings


@click.group("salesforce", help="The Salesforce package (object, page, status component, permission sets, push).")
def salesforce_group() -> None:
    """Commands about what the connector installs into a Salesforce org."""


def _target(connection: str | None, push_url: str | None, integration_user: str | None) -> Target:
    """The push URL and user: given, or the connection's (its webhook, and the user it was provisioned or
    authorized as)."""
    if connection is not None:
        conn = connections.find(connection)
        if conn is None or conn.kind != "salesforce":
            raise click.UsageError(f"No Salesforce connection named '{connection}'.")
        known = conn.settings or {}
        push_url = push_url or f"{settings().public_url}/webhooks/salesforce/{conn.name}"
        integration_user = integration_user or known.get("integration_user") or known.get("username")
    if not push_url or not integration_user:
        raise click.UsageError("Say where pushes go and who sends them: --connection NAME (a provisioned or JWT "
                               "connection), or --push-url URL and --integration-user USERNAME.")
    if not push_url.startswith(("https://", "http://")):
        raise click.UsageError(f"--push-url must be an http(s) URL, not {push_url!r}.")
    return Target(push_url, integration_user)


@salesforce_group.command("package", help="Write the package, filled in, as a DX project to deploy yourself.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the project to (created; must be empty).")
@click.option("--connection", help="Fill in this connection's push URL and integration user.")
@click.option("--push-url", help="Where the outbound message posts (default: the connection's webhook).")
@click.option("--integration-user", help="The username outbound messages run as.")
@with_appcontext
def package_command(out: Path, connection: str | None, push_url: str | None, integration_user: str | None) -> None:
    target = _target(connection, push_url, integration_user)
    if out.exists() and any(out.iterdir()):
        raise click.UsageError(f"{out} is not empty; give a new or empty folder.")
    written = write_project(fill(source_files(), target), out)
    click.echo(f"Wrote {len(written)} files to {out} (pushes go to {target.push_url} as {target.integration_user}).")
    click.echo(f"Deploy:  cd {out} && sf project deploy start --source-dir force-app --target-org <alias>")
    click.echo("Then:    sf org assign permset --name License_Exception_Integration --target-org <alias>  "
               "(the integration user), and License_Exception_Requester for reps.")


@click.group("zendesk", help="The Zendesk app (the ticket sidebar showing where an exception stands).")
def zendesk_group() -> None:
    """Commands about what the connector installs into a Zendesk account."""


@zendesk_group.command("app", help="Write the Zendesk app, filled in for this connector, as the zip to upload.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The zip file to write (must not exist).")
@click.option("--connection", required=True, help="The Zendesk connection the app reads.")
@with_appcontext
def zendesk_app_command(out: Path, connection: str) -> None:
    conn = connections.find(connection)
    if conn is None or conn.kind != "zendesk":
        raise click.UsageError(f"No Zendesk connection named '{connection}'.")
    if out.exists():
        raise click.UsageError(f"{out} exists; give a new file name.")
    base = settings().public_url
    out.write_bytes(app_build.app_zip(app_build.fill(app_build.app_files(), base)))
    click.echo(f"Wrote {out}: the app reads {base} (connection {conn.name}).")
    click.echo(f"Token:   flask --app wsgi connector tokens create --name source-app:{conn.name} --role source_app "
               "--expires-in 0")
    click.echo(f"Install: upload {out} (Admin Center → Apps and integrations → Zendesk Support apps → Upload private "
               f"app, or zcli apps:create), with settings connector_url={base}, connection={conn.name} and the "
               "token as the secure setting token.")
