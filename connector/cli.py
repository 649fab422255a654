"""``flask --app wsgi connector …``: set up, tokens, policy (more groups join as features land)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from connector.db import db
from connector.governance.errors import InvalidInput
from connector.governance.policy import COMMITTEE_ROLES, parse_policy


@click.group("connector", help="License Exception Connector administration.")
def connector_group() -> None:
    pass


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _report_invalid(exc: InvalidInput) -> None:
    click.echo(f"error: {exc.message}", err=True)
    for path, msgs in (exc.details.get("fields") or {}).items():
        click.echo(f"  {path}: {' '.join(msgs)}", err=True)


@connector_group.command("init", help="Create or upgrade the database and load the default policy. Idempotent.")
@with_appcontext
def init_command() -> None:
    from connector.policy_store import current_version, ensure_default_policy

    upgrade(directory=current_app.extensions["license_exception_connector"]["migrations"])
    created = ensure_default_policy()
    db.session.commit()
    click.echo("database: up to date")
    click.echo(f"policy: {'default loaded as version 1' if created else f'version {current_version()} in force'}")


@connector_group.group("tokens", help="API tokens for principals.")
def tokens_group() -> None:
    pass


@tokens_group.command("create", help="Create a token; the token alone is printed on the last line.")
@click.option("--name", required=True, help="Principal name (a person or a system).")
@click.option("--role", required=True, type=click.Choice(["admin", "reviewer", "intake", "billing", "auditor"]))
@click.option("--committee-role", "committee_roles", multiple=True, type=click.Choice(COMMITTEE_ROLES),
              help="Committee role held (reviewers; repeatable).")
@with_appcontext
def tokens_create(name: str, role: str, committee_roles: tuple[str, ...]) -> None:
    from connector.auth import create_token

    try:
        token = create_token(name, role, committee_roles, actor="cli")
    except ValueError as exc:
        _fail(f"error: {exc}", 2)
        return
    db.session.commit()
    roles = f" committee roles: {', '.join(committee_roles)}" if committee_roles else ""
    click.echo(f"token for {name} ({role}){roles}; store it now, it is not shown again:")
    click.echo(token)


@connector_group.group("policy", help="The governance policy.")
def policy_group() -> None:
    pass


@policy_group.command("show", help="Print the policy in force (YAML).")
@with_appcontext
def policy_show() -> None:
    from connector.policy_store import current_policy

    policy = current_policy()
    click.echo(f"# version {policy.version}")
    click.echo(policy.document.rstrip())


@policy_group.command("validate", help="Validate a policy file without storing it.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def policy_validate(file: Path) -> None:
    try:
        parse_policy(file.read_text("utf-8"))
    except InvalidInput as exc:
        _report_invalid(exc)
        sys.exit(1)
    click.echo(f"{file}: valid")


@policy_group.command("set", help="Validate and store a policy file as the new version.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="cli", help="Who makes the change (audited).")
@with_appcontext
def policy_set(file: Path, actor: str) -> None:
    from connector.policy_store import store_policy

    try:
        policy = store_policy(file.read_text("utf-8"), actor)
    except InvalidInput as exc:
        db.session.rollback()
        _report_invalid(exc)
        sys.exit(1)
    db.session.commit()
    click.echo(f"policy version {policy.version} in force")




@connector_group.command("worker", help="Send deliveries and run periodic jobs (SLA, expiry).")
@click.option("--once", is_flag=True, help="Drain what is due now, run the periodic jobs once, and exit.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds to wait when nothing is due.")
@with_appcontext
def worker_command(once: bool, poll: float) -> None:
    import signal
    import threading

    from connector.delivery import run_worker

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    totals = run_worker(app, once=once, stop=stop, poll=poll)
    click.echo("deliveries: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))


@connector_group.group("audit", help="The hash-chained audit log.")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="Recompute the chain; exits 1 and names the first broken event.")
@with_appcontext
def audit_verify() -> None:
    from connector import audit

    result = audit.verify()
    if result.ok:
        click.echo(f"ok: {result.checked} events, head seq {result.head_seq} hash {result.head_hash}")
        return
    _fail(f"BROKEN at seq {result.broken_seq}: {result.reason} ({result.checked} events verified before it)")


@audit_group.command("head", help="Print the chain head as JSON, to anchor it outside the database.")
@with_appcontext
def audit_head() -> None:
    import json

    from connector import audit

    click.echo(json.dumps(audit.head()))


@audit_group.command("export", help="Write every event as JSON lines.")
@click.option("--output", "-o", type=click.File("w"), default="-", help="File (default: standard output).")
@click.option("--after", default=0, show_default=True, help="Only events with a greater seq.")
@with_appcontext
def audit_export(output: click.utils.LazyFile, after: int) -> None:
    import json

    from connector import audit

    for event in audit.iter_events(after):
        output.write(json.dumps(audit.event_dict(event), sort_keys=True) + "\n")


@audit_group.command("sample", help="Draw a reproducible random sample of approved exceptions.")
@click.option("--size", required=True, type=click.IntRange(1, 1000))
@click.option("--seed", default=None, help="Seed (recorded; the same seed gives the same sample).")
@click.option("--actor", default="cli")
@with_appcontext
def audit_sample(size: int, seed: str | None, actor: str) -> None:
    import json

    from connector import audit

    sample = audit.draw_sample(size, seed, actor)
    db.session.commit()
    click.echo(json.dumps(audit.sample_dict(sample), indent=2))
