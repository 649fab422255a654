"""``flask --app wsgi connector …``: set up, tokens, policy (more groups join as features land)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click
from cryptography.fernet import InvalidToken
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from marshmallow import fields as mfields
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import joinedload

from connector import (
    audit,
    audit_anchors,
    connections,
    feedback,
    policy_simulation,
    preview,
    provisioning,
    scenario_store,
    sync,
)
from connector.auth import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    TOKEN_ROLES,
    issue_token,
    revoke_principal_tokens,
    revoke_token,
)
from connector.config import EXTENSION_KEY, demo_directory, settings
from connector.crypto import EncryptionKeyError, rotate_token
from connector.db import db, unit_of_work
from connector.demo import run_demo
from connector.governance.errors import GovernanceError, InvalidInput
from connector.governance.policy import COMMITTEE_ROLES, parse_policy
from connector.models import ApiToken, Connection
from connector.package_cli import salesforce_group, zendesk_group
from connector.policy_store import current_policy, current_version, ensure_default_policy, store_policy_with_impact
from connector.requests_cli import requests_group
from connector.sources import SourceError, get_kind, kinds
from connector.web.cli import users_group
from connector.worker import run_worker


class RegisteredKinds(Sequence[str]):
    """The source kinds a connection can be made of, read from the registry whenever a command checks one."""

    def __getitem__(self, index: Any) -> Any:
        return list(kinds())[index]

    def __len__(self) -> int:
        return len(kinds())


KINDS = RegisteredKinds()


def _listed(words: Sequence[str], conjunction: str) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return f" {conjunction} ".join(filter(None, (", ".join(words[:-1]), words[-1])))


class ConnectorGroup(click.Group):
    """The command group: a failure a person can fix is one ``error:`` line (and the fields at fault) with exit
    status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInput as exc:
            _report_invalid(exc)
        except GovernanceError as exc:
            click.echo(f"error: {exc.message}", err=True)
        except SourceError as exc:
            click.echo(f"error: {exc.message}", err=True)
        except (InvalidToken, EncryptionKeyError) as exc:
            click.echo("error: the stored secrets cannot be decrypted with CONNECTOR_ENCRYPTION_KEYS "
                       f"({type(exc).__name__}{': ' + str(exc) if str(exc) else ''}); keep the key they were "
                       "written with in the list (new key first, old keys after) until `keys rotate` has run.",
                       err=True)
        except (OperationalError, ProgrammingError) as exc:
            click.echo(f"error: the database cannot be used ({str(exc.orig).splitlines()[0]}); check "
                       "CONNECTOR_DATABASE_URL, and run `lec init` (`flask --app wsgi connector init` in a source "
                       "checkout) to create or upgrade it.",
                       err=True)
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # files to read, text, numbers given
            click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@click.group("connector", cls=ConnectorGroup, help="License Exception Connector administration.")
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
    upgrade(directory=current_app.extensions["license_exception_connector"]["migrations"])
    created = ensure_default_policy()
    db.session.commit()
    click.echo(f"database: up to date ({make_url(settings().database_url).render_as_string(hide_password=True)})")
    click.echo(f"policy: {'default loaded as version 1' if created else f'version {current_version()} in force'}")


connector_group.add_command(salesforce_group)
connector_group.add_command(zendesk_group)
connector_group.add_command(requests_group)


@connector_group.group("tokens", help="API tokens for principals.")
def tokens_group() -> None:
    pass


@tokens_group.command("create", help="Issue a token; the token alone is printed on the last line. A token keeps "
                                     "the roles it was issued with: other roles than the principal's are refused "
                                     "unless --replace.")
@click.option("--name", required=True, help="Principal name (a person or a system).")
@click.option("--role", required=True, type=click.Choice(TOKEN_ROLES))
@click.option("--committee-role", "committee_roles", multiple=True, type=click.Choice(COMMITTEE_ROLES),
              help="Committee role held (reviewers; repeatable).")
@click.option("--expires-in", "expires_in", type=click.IntRange(0, MAX_TOKEN_DAYS), default=DEFAULT_TOKEN_DAYS,
              show_default=True, metavar="DAYS", help="Days until the token expires; 0 for never.")
@click.option("--replace", is_flag=True, help="Revoke the principal's live tokens in the same transaction (and "
                                               "give it these roles).")
@with_appcontext
def tokens_create(name: str, role: str, committee_roles: tuple[str, ...], expires_in: int, replace: bool) -> None:
    with unit_of_work():
        issued = issue_token(name, role, committee_roles, actor="cli", expires_in_days=expires_in, replace=replace)
    row = issued.row
    roles = f" committee roles: {', '.join(committee_roles)}" if committee_roles else ""
    expiry = f"expires {_when(row.expires_at)}" if row.expires_at else "never expires"
    click.echo(f"token {row.id} for {name} ({role}){roles}; {expiry}; store it now, it is not shown again:")
    click.echo(issued.secret)


def _when(value: datetime | None, never: str = "never") -> str:
    return f"{value:%Y-%m-%d %H:%M}Z" if value is not None else never


@tokens_group.command("list", help="List tokens: who holds each, its roles and dates (never the token itself).")
@with_appcontext
def tokens_list() -> None:
    rows = db.session.scalars(select(ApiToken).options(joinedload(ApiToken.principal)).order_by(ApiToken.id)).all()
    if not rows:
        click.echo("no tokens")
        return
    click.echo("id\tname\trole\tcommittee roles\tprefix\tcreated\texpires\tlast used\trevoked")
    for row in rows:
        click.echo("\t".join((str(row.id), row.principal.name, row.role, ",".join(row.committee_roles) or "-",
                              row.prefix, _when(row.created_at), _when(row.expires_at, "never (no expiry)"),
                              _when(row.last_used_at), _when(row.revoked_at, "-"))))


@tokens_group.command("revoke", help="Revoke one token (--id) or every token of a principal (--name).")
@click.option("--name", default=None, help="Principal whose tokens to revoke (all of them).")
@click.option("--id", "token_id", type=click.IntRange(1, 2**63 - 1), default=None, help="The token's id.")
@with_appcontext
def tokens_revoke(name: str | None, token_id: int | None) -> None:
    if (name is None) == (token_id is None):
        raise click.UsageError("Give exactly one of --name and --id.")
    if token_id is not None:
        row = db.session.get(ApiToken, token_id)
        if row is None:
            _fail(f"error: no token has the id {token_id}; `tokens list` shows them.")
            return
        if row.revoked_at is not None:
            click.echo(f"token {token_id} of {row.principal.name} was already revoked ({_when(row.revoked_at)})")
            return
        with unit_of_work():
            revoke_token(token_id, "cli")
        click.echo(f"revoked token {token_id} of {row.principal.name}")
        return
    assert name is not None
    with unit_of_work():
        revoked = [row.id for row in revoke_principal_tokens(name, "cli")]
    ids = ", ".join(map(str, revoked))
    click.echo(f"revoked {len(revoked)} token(s) of {name}{': ' + ids if ids else ' (none was left to revoke)'}")


@connector_group.group("policy", help="The governance policy.")
def policy_group() -> None:
    pass


@policy_group.command("show", help="Print the policy in force (YAML).")
@with_appcontext
def policy_show() -> None:
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
    with unit_of_work():  # an invalid policy is reported by the group, fields and all, and nothing is stored
        policy, impact = store_policy_with_impact(file.read_text("utf-8"), actor)
    click.echo(f"policy version {policy.version} in force")
    click.echo(policy_simulation.totals_line(impact["totals"]))


def _both(difference: dict[str, Any], aspect: str) -> str:
    def shown(value: Any) -> str:
        if isinstance(value, list):
            return ",".join(value) or "-"
        return "-" if value is None else str(value)[:16].replace("T", " ")
    now, draft = shown(difference["now"][aspect]), shown(difference["draft"][aspect])
    return now if now == draft else f"{now} -> {draft}"


def _why(difference: dict[str, Any]) -> str:
    """The reasons that differ between the policy in force and the draft."""
    now, draft = difference["now"]["reasons"], difference["draft"]["reasons"]
    return "; ".join([*(r for r in draft if r not in now), *(f"no longer: {r}" for r in now if r not in draft)])


@policy_group.command("simulate", help="Show which requests a draft policy would treat differently (track, band, "
                                       "score, required roles, SLA due date), and the totals. Nothing is stored.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--since", default=None, help="ISO date: requests created since then (default: the last 12 months), "
                                            "plus every open request and active exception.")
@click.option("--json", "as_json", is_flag=True, help="Print the simulation as JSON (the API's answer).")
@with_appcontext
def policy_simulate(file: Path, since: str | None, as_json: bool) -> None:
    draft = parse_policy(file.read_text("utf-8"))
    result = policy_simulation.run(current_policy(), draft, policy_simulation.parse_since(since))
    db.session.rollback()  # nothing was written; nothing is kept
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    rows = [("request", "state", "track", "band", "score", "required roles", "SLA due", "why")]
    rows += [(d["key"], d["state"], *(_both(d, a) for a in ("track", "band", "score", "required_roles", "due_at")),
              _why(d)) for d in result["differences"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    click.echo(f"policy version {result['current_version']} -> {file.name}, requests since {result['since'][:10]} "
               "plus open and active ones")
    for row in rows if result["differences"] else ():
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    totals = result["totals"]
    click.echo("")
    click.echo(policy_simulation.totals_line(totals))
    for band in dict.fromkeys([*totals["bands"]["now"], *totals["bands"]["draft"]]):
        click.echo(f"  band {band}: {totals['bands']['now'].get(band, 0)} -> {totals['bands']['draft'].get(band, 0)} "
                   "request(s)")
    for role, load in totals["reviewer_load"].items():
        click.echo(f"  {role}: {load['now']} -> {load['draft']} request(s) to vote on ({load['change']:+d})")




@connector_group.command("worker", help="Send deliveries and run periodic jobs (SLA, expiry).")
@click.option("--once", is_flag=True, help="Drain what is due now, run the periodic jobs once, and exit.")
@click.option("--poll", type=float, default=None,
              help="Seconds between rounds (due targets, heartbeat) when nothing wakes the worker; default 5 on "
                   "PostgreSQL (notifications wake it at once), 0.25 on SQLite.")
@click.option("--job-interval", default=60.0, show_default=True,
              help="Seconds between runs of the periodic jobs (SLA, expiry, pushed events, due syncs).")
@with_appcontext
def worker_command(once: bool, poll: float | None, job_interval: float) -> None:
    """Runs until SIGTERM/SIGINT: errors (the database's included) are logged, counted and retried with backoff."""
    stop = threading.Event()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    failed: list[str] = []
    with stopping_on_signals(stop):
        totals = run_worker(app, once=once, stop=stop, poll=poll, job_interval=job_interval, failed_jobs=failed)
    click.echo("deliveries: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    jobs = sorted(set(failed) - {"deliveries"})
    if jobs:
        _fail(f"error: periodic job(s) failed: {', '.join(jobs)}; the log has each error")
    if failed:
        _fail("error: a delivery lane failed (its deliveries stay pending); the log has the error")


@contextmanager
def stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` while the block runs; the handlers from before are put back afterwards, so
    a host process or a test runner that runs the command keeps its own Ctrl+C. Off the main thread (where Python
    allows no handler) the caller's ``stop`` is the only way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@connector_group.group("audit", help="The hash-chained audit log.")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="Recompute the chain; exits 1 and names the first broken event, or the "
                                     "first anchor (--anchor) the chain no longer holds.")
@click.option("--anchor", "anchor_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Heads saved earlier (one `audit head` line each): the chain must still hold every one.")
@with_appcontext
def audit_verify(anchor_file: Path | None) -> None:
    try:
        anchors = audit_anchors.read_anchors(anchor_file) if anchor_file else []
    except audit_anchors.AnchorFileError as exc:
        _fail(f"error: {exc}", 2)
    result = audit.verify()
    if not result.ok:
        _fail(f"BROKEN at seq {result.broken_seq}: {result.reason} ({result.checked} events verified before it)")
    problem = audit_anchors.broken_anchor(anchors) if anchors else None
    if problem:
        _fail(f"ANCHOR NOT HELD: {problem}")
    held = f", {len(anchors)} anchors held" if anchors else ""
    click.echo(f"ok: {result.checked} events, head seq {result.head_seq} hash {result.head_hash}{held}")


@audit_group.command("head", help="Print the chain head as JSON, to anchor it outside the database.")
@with_appcontext
def audit_head() -> None:
    click.echo(json.dumps(audit.head()))


@audit_group.command("export", help="Write every event as JSON lines.")
@click.option("--output", "-o", type=click.File("w"), default="-", help="File (default: standard output).")
@click.option("--after", default=0, show_default=True, help="Only events with a greater seq.")
@with_appcontext
def audit_export(output: IO[str], after: int) -> None:
    for event in audit.iter_events(after):
        output.write(json.dumps(audit.event_dict(event), sort_keys=True) + "\n")


@audit_group.command("sample", help="Draw a reproducible random sample of approved exceptions.")
@click.option("--size", required=True, type=click.IntRange(1, 1000))
@click.option("--seed", default=None, help="Seed (recorded; the same seed gives the same sample).")
@click.option("--actor", default="cli")
@with_appcontext
def audit_sample(size: int, seed: str | None, actor: str) -> None:
    sample = audit.draw_sample(size, seed, actor)
    db.session.commit()
    click.echo(json.dumps(audit.sample_dict(sample), indent=2))


def _parse_sets(pairs: tuple[str, ...], kind: str | None = None) -> dict[str, Any]:
    """``key=value`` pairs. A setting the kind declares as text keeps its value as typed (``api_version=62.0``,
    an all-digit client secret); any other value that parses as JSON (numbers, true, {...}) is taken as JSON."""
    text_settings: set[str] = set()
    if kind is not None:
        schema = get_kind(kind).settings_schema()
        text_settings = {f.data_key or n for n, f in schema.fields.items() if isinstance(f, mfields.String)}
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{pair}' is not key=value", param_hint="--set")
        key = key.strip()
        if key in text_settings:
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _connection_or_exit(name: str) -> Any:
    conn = connections.find(name)
    if conn is None:
        _fail(f"error: no connection named '{name}'; `connections list` shows them.")
    return conn


@connector_group.group("connections", help=f"{_listed([kind.title() for kind in KINDS], 'and')} connections.")
def connections_group() -> None:
    pass


@connections_group.command("add", help=f"Add a connection: KIND is {_listed(list(KINDS), 'or')}.")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A setting (repeatable). Text settings are taken as typed; others as JSON when they parse.")
@with_appcontext
def connections_add(kind: str, name: str, sets: tuple[str, ...]) -> None:
    with unit_of_work():  # a refusal is reported by the group (the fields at fault too) and nothing is stored
        conn = connections.create(name, kind, _parse_sets(sets, kind), "cli")
    click.echo(f"connection {conn.name} ({conn.kind}) added: {conn.status}")
    click.echo(f"next: flask --app wsgi connector connections authorize {conn.name}")


@connections_group.command("list", help="List connections with their status.")
@with_appcontext
def connections_list() -> None:
    rows = db.session.scalars(select(Connection).order_by(Connection.name)).all()
    if not rows:
        click.echo("no connections")
    for conn in rows:
        last = conn.last_sync_at.isoformat() if conn.last_sync_at else "never"
        detail = f" — {conn.status_detail}" if conn.status_detail else ""
        click.echo(f"{conn.name}\t{conn.kind}\t{conn.status}\tlast sync {last}{detail}")


@connections_group.command("authorize", help="Print the URL to open to authorize the connection.")
@click.argument("name")
@with_appcontext
def connections_authorize(name: str) -> None:
    conn = _connection_or_exit(name)
    url = connections.start_authorization(conn, "cli")
    db.session.commit()
    if url is None:
        click.echo(f"{name}: authorized without a browser ({conn.settings.get('auth')}); status {conn.status}")
    else:
        click.echo("Open this URL in a browser signed in as the integration user:")
        click.echo(url)


@connections_group.command("provision", help="Create what the source needs (Salesforce: deploy the package; "
                           "Zendesk: fields, webhook, trigger, the ticket sidebar app). Idempotent.")
@click.argument("name")
@with_appcontext
def connections_provision(name: str) -> None:
    conn = _connection_or_exit(name)
    result = provisioning.provision(conn, "cli")
    db.session.commit()
    click.echo(json.dumps(result, indent=2, default=str))


@connector_group.command("sync", help="Sync a connection (or all) now and print the counts.")
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True,
              help="Sync every connection that is connected, paused or in error (not those awaiting authorization).")
@with_appcontext
def sync_command(name: str | None, all_: bool) -> None:
    if bool(name) == all_:
        _fail("error: give a connection NAME or --all", 2)
    names = [name] if name else list(db.session.scalars(  # --all: the connections the schedule syncs
        select(Connection.name).where(Connection.status.in_(sync.SCHEDULED_STATUSES)).order_by(Connection.name)))
    if not names:
        click.echo("nothing to sync: no connection is connected, paused or in error")
    failed = False
    for each in names:
        with click.progressbar(length=0, label=f"{each}: syncing", show_pos=True, show_eta=True) as bar:
            def progress(counts: Any, bar: Any = bar) -> None:
                done = sync.examined(counts)
                bar.length = max(done, int(counts.detail.get("total") or 0))  # the source's total, when it says
                bar.update(done - bar.pos)

            try:
                counts = sync.sync(each, actor="cli", progress=progress, trigger="cli")
            except LookupError:
                _fail(f"error: no connection named '{each}'; `connections list` shows them.")
                return
        line = ", ".join(f"{k} {getattr(counts, k)}" for k in
                         ("fetched", "created", "updated", "unchanged", "needs_info", "withdrawn"))
        click.echo(f"{each}: {line}")
        if counts.stopped:
            failed = True
            click.echo(f"{each}: stopped: {counts.stopped}", err=True)
    if failed:
        sys.exit(1)


@connector_group.group("mapping", help="Field mappings of a connection.")
def mapping_group() -> None:
    pass


@mapping_group.command("show", help="Print the current mapping (YAML).")
@click.argument("name")
@with_appcontext
def mapping_show(name: str) -> None:
    version, doc = connections.current_mapping(_connection_or_exit(name))
    click.echo(f"# version {version}")
    click.echo(doc.to_yaml().rstrip())


def _print_problems(problems: list[dict[str, str]]) -> None:
    for p in problems:
        click.echo(f"  {p['field']}: [{p['rule']}] {p['message']}", err=True)


@mapping_group.command("validate", help="Validate a mapping file for this connection without storing it.")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def mapping_validate(name: str, file: Path) -> None:
    conn = _connection_or_exit(name)
    source_fields = connections.live_source_fields(conn) if conn.status == "connected" else None
    problems = connections.mapping_problems(conn, file.read_text("utf-8"), source_fields)
    if problems:
        click.echo(f"{file}: {len(problems)} problem(s)", err=True)
        _print_problems(problems)
        sys.exit(1)
    if source_fields is None:
        why = f"the connection is {conn.status}" if conn.status != "connected" else "the source could not be read"
        click.echo(f"{file}: valid, but not checked against the live source's fields ({why}); validate again "
                   "once it is connected")
        return
    click.echo(f"{file}: valid (checked against the live source's fields)")


@mapping_group.command("set", help="Validate and store a mapping file as the connection's new mapping version.")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def mapping_set(name: str, file: Path) -> None:
    conn = _connection_or_exit(name)
    try:
        with unit_of_work():
            row = connections.set_mapping(conn, file.read_text("utf-8"), "cli")
    except InvalidInput as exc:
        click.echo(f"error: {exc.message}", err=True)
        _print_problems(exc.details.get("problems") or [])
        sys.exit(1)
    click.echo(f"mapping version {row.version} in force for {name}")


@mapping_group.command("preview", help="Show what a record would become (a JSON file, or --external-id live).")
@click.argument("name")
@click.option("--record", "record_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--external-id", default=None)
@with_appcontext
def mapping_preview(name: str, record_file: Path | None, external_id: str | None) -> None:
    conn = _connection_or_exit(name)
    if (record_file is None) == (external_id is None):
        _fail("error: give --record FILE or --external-id ID", 2)
    record = json.loads(record_file.read_text("utf-8")) if record_file else None
    result = preview.preview(conn, record=record, external_id=external_id)
    db.session.rollback()
    click.echo(json.dumps(result, indent=2, default=str))


@connector_group.group("keys", help="Encryption keys for secrets at rest.")
def keys_group() -> None:
    pass


@keys_group.command("rotate", help="Re-encrypt every stored secret and token under the first key of "
                                   "CONNECTOR_ENCRYPTION_KEYS (keep the old key listed until this has run).")
@with_appcontext
def keys_rotate() -> None:
    count = 0
    for table, column, key in (("connections", "secrets", "id"), ("connections", "token", "id"),
                               ("oauth_states", "code_verifier", "state"),
                               ("notification_preferences", "webhooks", "id")):
        rows = db.session.execute(text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
        for ident, value in rows:
            db.session.execute(text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"),
                               {"v": rotate_token(value), "k": ident})
            count += 1
    audit.append("cli", "keys.rotated", "encryption", {"values": count})
    db.session.commit()
    click.echo(f"re-encrypted {count} value(s) under the newest key")


@connector_group.command("demo", help="The whole story on this machine against loopback Salesforce and Zendesk "
                                      "sandboxes, in the demo's folder (CONNECTOR_DEMO_DIR, default ./lec-demo: "
                                      "its database and keys, which `lec --demo` opens); keeps serving afterwards "
                                      "unless --once. Refused while another demo runs in the same folder.")
@click.option("--once", is_flag=True, help="Print what happened and exit.")
@with_appcontext
def demo_command(once: bool) -> None:
    factory = current_app.extensions[EXTENSION_KEY]["factory"]  # create_app, which registers this command
    story = run_demo(demo_directory(settings().demo_dir), once, click.echo, factory)  # DemoInUse: OSError, exit 1
    if not story.audit_ok:
        sys.exit(1)


@connector_group.group("scenarios", help="Change-impact scenarios: which open requests and active exceptions a "
                                         "change touches.")
def scenarios_group() -> None:
    pass


def _scenario_file(file: Path) -> dict[str, Any]:
    """A scenario file (YAML or JSON), typed as the API takes it."""
    return scenario_store.parse_yaml(file.read_text("utf-8"), "(file)")


def _impact_table(items: list[dict[str, Any]]) -> list[str]:
    head = ("KEY", "STATE", "SUGGESTED", "HITS", "WHY")
    rows = [(i["key"], i["state"], i["suggestion"], ", ".join(i["hits"]), i["why"]) for i in items]
    widths = [max(len(str(r[n])) for r in [head, *rows]) for n in range(4)]
    return ["  ".join(str(cell).ljust(widths[n]) if n < 4 else str(cell) for n, cell in enumerate(row))
            for row in [head, *rows]]


@scenarios_group.command("run", help="Run a scenario file (YAML or JSON) against the open requests and active "
                                      "exceptions: a table of what it touches (--json: the API's answer). --save "
                                      "keeps it (audited).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--save", is_flag=True, help="Keep the scenario (audited) so request pages list it.")
@click.option("--actor", default="cli", help="Who keeps it (audited).")
@with_appcontext
def scenarios_run(file: Path, as_json: bool, save: bool, actor: str) -> None:
    document = _scenario_file(file)
    with unit_of_work():
        if save:
            row, result = scenario_store.save(document, actor)
            result = {**result, "id": row.id}
        else:
            result = scenario_store.run(document)
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    s = result["summary"]
    kept = f" (kept as scenario {result['id']})" if save else ""
    click.echo(f"{result['scenario']['name']}{kept}: touches {s['touched']} — {s['active']} active exception(s), "
               f"{s['open']} open request(s)")
    if result["items"]:
        for line in _impact_table(result["items"]):
            click.echo(line)

@connector_group.group("feedback", help="Customers' and channel partners' feedback on decisions.")
def feedback_group() -> None:
    pass


@feedback_group.command("report", help="Print the feedback received (count, average clarity, what people needed) "
                                       "as JSON; --since and --until bound it (ISO dates or times, UTC).")
@click.option("--since", type=click.DateTime(), default=None, help="From this day or time (UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="Before this day or time (UTC).")
@with_appcontext
def feedback_report(since: datetime | None, until: datetime | None) -> None:
    bounds = [value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
              for value in (since, until)]
    click.echo(json.dumps(feedback.feedback_summary(bounds[0], bounds[1]), indent=2))


connector_group.add_command(users_group)  # the UI's accounts: `connector users …`
