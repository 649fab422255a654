"""``flask --app wsgi connector users …``: sign-in accounts for the web UI."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from connector.auth import ROLES
from connector.db import db, unit_of_work
from connector.governance.policy import COMMITTEE_ROLES
from connector.models import UserAccount
from connector.web.accounts import (
    AccountError,
    create_account,
    disable_account,
    enable_account,
    find_by_email,
    set_password,
)


@click.group("users", help="Sign-in accounts for the web UI.")
def users_group() -> None:
    pass


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("create", help="Create an account (and its principal). Prompts for the password unless "
                                    "--password-stdin or --no-password (OpenID Connect sign-in only) is given.")
@click.option("--email", required=True, help="Sign-in email (also matched against the OpenID Connect email).")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--committee-role", "committee_roles", multiple=True, type=click.Choice(COMMITTEE_ROLES),
              help="Committee role held (reviewers; repeatable).")
@click.option("--name", default=None, help="Principal name shown on votes and in the audit log (default: the "
                                           "email). An existing principal of that name gets the account.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--no-password", is_flag=True, help="No password: the account signs in through OpenID Connect.")
@with_appcontext
def users_create(email: str, role: str, committee_roles: tuple[str, ...], name: str | None, password_stdin: bool,
                 no_password: bool) -> None:
    if password_stdin and no_password:
        raise click.UsageError("Give at most one of --password-stdin and --no-password.")
    password = None if no_password else _read_password(password_stdin)
    try:
        with unit_of_work():
            account = create_account(email, role, committee_roles, password=password, name=name, actor="cli")
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    roles = f"; committee roles: {', '.join(committee_roles)}" if committee_roles else ""
    click.echo(f"account {account.email} created for principal '{account.principal.name}' ({role}{roles})")


@users_group.command("set-password", help="Set a new password (ends the account's other sessions).")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@with_appcontext
def users_set_password(email: str, password_stdin: bool) -> None:
    account = find_by_email(email)
    if account is None:
        click.echo(f"error: no account for {email}", err=True)
        sys.exit(1)
    try:
        with unit_of_work():
            set_password(account, _read_password(password_stdin))
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"password of {account.email} changed")


@users_group.command("list", help="List accounts with their role and committee roles.")
@with_appcontext
def users_list() -> None:
    for account in db.session.scalars(select(UserAccount).order_by(UserAccount.email)):
        p = account.principal
        extra = f" [{', '.join(p.committee_roles)}]" if p.committee_roles else ""
        sign_in = "password" if account.password_hash else "oidc"
        state = " (disabled)" if account.disabled_at else ""
        click.echo(f"{account.email}\t{p.role}{extra}\t{sign_in}{state}")


def _account_or_exit(email: str) -> UserAccount:
    account = find_by_email(email)
    if account is None:
        click.echo(f"error: no account for {email}; `users list` shows them.", err=True)
        sys.exit(1)
    return account


@users_group.command("disable", help="Refuse the account's sign-ins and end its sessions at once (its API tokens, "
                                     "if any, stay valid: `tokens revoke --name` ends those).")
@click.option("--email", required=True)
@with_appcontext
def users_disable(email: str) -> None:
    account = _account_or_exit(email)
    with unit_of_work():
        changed = disable_account(account, "cli")
    click.echo(f"account {account.email} {'disabled; its sessions have ended' if changed else 'was already disabled'}")


@users_group.command("enable", help="Let a disabled account sign in again (its old sessions stay ended).")
@click.option("--email", required=True)
@with_appcontext
def users_enable(email: str) -> None:
    account = _account_or_exit(email)
    with unit_of_work():
        changed = enable_account(account, "cli")
    click.echo(f"account {account.email} {'enabled' if changed else 'was not disabled'}")
