"""Connections: create, change and delete them, their encrypted secrets and tokens, status, and mappings.

Secrets are write-only: they are stored encrypted and never returned; the public shape says which are set.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from flask import current_app
from marshmallow import RAISE, Schema, ValidationError, validate
from marshmallow import fields as mfields
from sqlalchemy import CursorResult, select, update

from connector import audit
from connector.config import settings
from connector.db import READ_ONLY, db, released
from connector.governance.errors import GovernanceError, InvalidInput, StateConflict
from connector.governance.fields import GOVERNANCE_FIELDS, OUTBOUND_PATHS
from connector.governance.paths import flatten_errors
from connector.models import Connection, ExceptionRequest, MappingVersion, OAuthState, utcnow
from connector.policy_store import current_policy
from connector.representation import iso
from connector.sources import ConnectionContext, SourceError, SourceKind, get_kind, kinds
from mappings import (
    InboundProgram,
    MappingDocument,
    compile_inbound,
    load_mapping,
    mapping_diff,
    resolve_placeholders,
    validate_mapping,
)
from mappings.storable import unstorable


def kind_or_error(kind: str) -> SourceKind:
    """The installed kind ``kind`` (the registry: built-in and plug-in kinds alike), or a field error."""
    installed = kinds()
    if kind not in installed:
        names = ", ".join(sorted(installed))
        raise InvalidInput("unknown_kind", f"Unknown connection kind '{kind}'. Use one of: {names}.",
                           {"fields": {"kind": [f"Must be one of: {names}."]}})
    return installed[kind]


def find(name: str) -> Connection | None:
    return db.session.scalar(select(Connection).where(Connection.name == name))


def connection_view(conn: Connection) -> dict[str, Any]:
    return {
        "name": conn.name, "kind": conn.kind, "status": conn.status, "status_detail": conn.status_detail,
        "settings": dict(conn.settings or {}), "secrets_set": sorted((conn.secrets or {}).keys()),
        "authorized": bool(conn.token), "mapping_version": conn.mapping_version,
        "last_sync_at": iso(conn.last_sync_at), "created_at": iso(conn.created_at),
        "webhook_url": webhook_url(conn),
    }


def webhook_url(conn: Connection) -> str:
    return f"{settings().public_url}/webhooks/{conn.kind}/{conn.name}"


def _refuse_managed(kind: SourceKind, values: Mapping[str, Any]) -> None:
    """Settings that authorization, sync or provisioning own are never taken from an admin (API, CLI, web)."""
    managed = kind.managed_settings()
    named = sorted(key for key in values if key in managed)
    if named:
        them = "it" if len(named) == 1 else "them"
        raise InvalidInput("read_only_setting", f"{', '.join(named)} cannot be set by an admin: the connector "
                           f"records {them} itself when the connection is authorized, synced or provisioned. "
                           f"Leave {them} out; nothing was changed.",
                           {"fields": {f"settings.{key}": [f"Read-only. {managed[key]}"] for key in named}})


def _refuse_unstorable(values: Mapping[str, Any]) -> None:
    """Settings written as YAML (the UI, the CLI) can spell text no column holds (``"\\ud800"``, ``"\\0"``); the
    API's JSON bodies were checked already. Refused by name, before anything is stored."""
    fields: dict[str, list[str]] = {}
    for path, message in unstorable(dict(values)):
        fields.setdefault(f"settings.{path}", []).append(message)
    if fields:
        raise InvalidInput("invalid_settings", f"{len(fields)} setting(s) cannot be stored; nothing was changed: "
                           f"{', '.join(sorted(fields))}.", {"fields": fields})


def _validate_settings(kind: SourceKind, values: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    _refuse_unstorable(values)
    _refuse_managed(kind, values)
    try:
        return dict(kind.settings_schema().load(dict(values), partial=partial))
    except ValidationError as exc:
        fields = {f"settings.{k}": v for k, v in flatten_errors(exc.messages).items()}
        raise InvalidInput("invalid_settings", f"{len(fields)} setting(s) are not valid; nothing was changed.",
                           {"fields": fields}) from exc


def _refuse_hosts(kind: SourceKind, values: Mapping[str, Any]) -> None:
    """A URL setting on a host nobody allowed is refused when it is set (422 ``host_not_allowed``), not first
    when the connection is authorized or used."""
    problems = kind.host_problems(values, settings().allowed_instance_hosts)
    if problems:
        raise InvalidInput("host_not_allowed", f"{len(problems)} setting(s) name a host the connector may not call; "
                           f"nothing was changed: {', '.join(f'settings.{key}' for key in sorted(problems))}.",
                           {"fields": {f"settings.{key}": [message] for key, message in problems.items()}})


def _split(kind: SourceKind, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    public = {k: v for k, v in values.items() if k not in kind.secret_fields}
    secret = {k: v for k, v in values.items() if k in kind.secret_fields and v not in (None, "")}
    return public, secret


def create(name: str, kind_name: str, settings: Mapping[str, Any], actor: str) -> Connection:
    kind = kind_or_error(kind_name)
    if find(name) is not None:
        raise StateConflict("connection_exists", f"A connection named '{name}' already exists.", {"name": name})
    values = _validate_settings(kind, settings, partial=False)
    _refuse_hosts(kind, values)
    public, secret = _split(kind, values)
    conn = Connection(name=name, kind=kind.name, status="needs_authorization",
                      status_detail="Authorize the connection to start syncing.", settings=public,
                      secrets=secret or None, created_at=utcnow(), updated_at=utcnow())
    db.session.add(conn)
    db.session.flush()
    audit.append(actor, "connection.created", f"connection:{name}",
                 {"kind": kind.name, "settings": public, "secrets_set": sorted(secret)})
    set_mapping(conn, kind.default_mapping(), actor, check_live=False)
    return conn


def update_settings(conn: Connection, changes: Mapping[str, Any], actor: str) -> Connection:
    kind = get_kind(conn.kind)
    values = _validate_settings(kind, changes, partial=True)
    _refuse_hosts(kind, values)  # the settings changed: those kept were checked when they were set
    public, secret = _split(kind, values)
    conn.settings = {**(conn.settings or {}), **public}
    if secret:
        conn.secrets = {**(conn.secrets or {}), **secret}
    forget_source_fields(conn)
    audit.append(actor, "connection.changed", f"connection:{conn.name}",
                 {"settings": public, "secrets_changed": sorted(secret)})
    return conn


def delete(conn: Connection, actor: str) -> None:
    in_use = db.session.scalar(select(ExceptionRequest.pk).where(ExceptionRequest.connection_id == conn.id).limit(1))
    if in_use is not None:
        raise StateConflict("connection_in_use", f"Requests came through '{conn.name}'; pause it instead of deleting "
                            "it so their history stays linked.", {"name": conn.name})
    audit.append(actor, "connection.deleted", f"connection:{conn.name}", {"kind": conn.kind})
    db.session.delete(conn)


def set_status(conn_id: int, status: str, detail: str | None, actor: str = "connector") -> None:
    """Change a connection's status in its own short transaction (sync and worker call this mid-run).

    ``updated_at`` always moves (the schedule retries a failed connection an interval after its last failure);
    the audit event is written only when the status or its detail changes, so a source that stays down for a
    week does not fill the log with the same failure every interval.
    """
    with db.engine.begin() as connection:
        before = connection.execute(select(Connection.status, Connection.status_detail)
                                    .where(Connection.id == conn_id)).first()
        connection.execute(update(Connection).where(Connection.id == conn_id)
                           .values(status=status, status_detail=detail, updated_at=utcnow()))
    conn = db.session.get(Connection, conn_id)
    if conn is not None:
        db.session.refresh(conn)
        if before is None or tuple(before) != (status, detail):
            audit.append(actor, "connection.status", f"connection:{conn.name}",
                         {"status": status, "detail": detail})


class ConnectionTokenStore:
    """The adapters' token store over the encrypted column, saved in its own committed transaction.

    A rotated Zendesk refresh token must be durable before it is used, whatever the caller's transaction does.
    """

    def __init__(self, app: Any, conn_id: int) -> None:
        self._app, self._id = app, conn_id

    def load(self) -> dict[str, Any] | None:
        with self._app.app_context(), db.engine.connect().execution_options(**READ_ONLY) as connection:
            row = connection.execute(select(Connection.token).where(Connection.id == self._id)).first()
            return row[0] if row else None

    def save(self, token: dict[str, Any]) -> None:
        with self._app.app_context(), db.engine.begin() as connection:
            connection.execute(update(Connection).where(Connection.id == self._id).values(token=token))


def context(conn: Connection, *, with_mapping: bool = True, with_templates: bool = False) -> ConnectionContext:
    """What the source kind needs; ``with_mapping=False`` skips loading the mapping where nothing reads it
    (verifying and storing a push: the hot path of webhooks); ``with_templates`` adds the policy's templates (a
    write-back: the wording of the notices a kind posts)."""
    config = settings()
    return ConnectionContext(
        id=conn.id, name=conn.name, kind=conn.kind, settings={**(conn.settings or {}), **(conn.secrets or {})},
        token_store=ConnectionTokenStore(current_app._get_current_object(), conn.id),  # type: ignore[attr-defined]
        base_url=config.public_url, allowed_instance_hosts=config.allowed_instance_hosts,
        http_timeout=config.http_timeout,
        mapping=resolved(conn, current_mapping(conn)[1]) if with_mapping and conn.mapping_version is not None
        else None,
        templates=current_policy().templates if with_templates else {},
    )


def connection_of_target(target: str) -> Connection | None:
    return find(target.split(":", 1)[1]) if target.startswith("connection:") else None


# --- mappings ----------------------------------------------------------------------------------------------

def current_mapping(conn: Connection) -> tuple[int, MappingDocument]:
    row = db.session.scalar(select(MappingVersion).where(MappingVersion.connection_id == conn.id,
                                                         MappingVersion.version == conn.mapping_version))
    if row is None:
        raise StateConflict("no_mapping", f"Connection '{conn.name}' has no mapping yet.")
    return row.version, load_mapping(row.document)


def resolved(conn: Connection, doc: MappingDocument) -> MappingDocument:
    placeholders = get_kind(conn.kind).mapping_placeholders(conn.settings or {})
    return resolve_placeholders(doc, placeholders) if placeholders else doc


def mapping_problems(conn: Connection, doc: MappingDocument | Mapping[str, Any] | str,
                     source_fields: set[str] | None = None) -> list[dict[str, str]]:
    policy = current_policy()
    kind = get_kind(conn.kind)
    placeholders = kind.mapping_placeholders(conn.settings or {})
    problems = validate_mapping(doc, kind.dialect, GOVERNANCE_FIELDS, OUTBOUND_PATHS, source_fields,
                                placeholders or None, enums={"category": policy.categories})
    return [{"field": p.field, "rule": p.rule, "message": p.message} for p in problems]


def set_mapping(conn: Connection, document: MappingDocument | Mapping[str, Any] | str, actor: str,
                check_live: bool = True) -> MappingVersion:
    """Validate (against the live source when connected) and store a new mapping version, audited with a diff."""
    source_fields = None
    if check_live and conn.status == "connected":
        source_fields = live_source_fields(conn)
    # An unfilled placeholder (a Zendesk field not created yet) is a setup step, not an error: its rules read as
    # missing until `connections provision` or the admin fills `field_ids`; validation still reports it.
    problems = [p for p in mapping_problems(conn, document, source_fields) if p["rule"] != "unresolved_placeholder"]
    if problems:
        fields: dict[str, list[str]] = {}
        for p in problems:
            fields.setdefault(p["field"], []).append(f"{p['rule']}: {p['message']}")
        raise InvalidInput("mapping_invalid", f"The mapping has {len(problems)} problem(s); nothing was changed.",
                           {"fields": fields, "problems": problems})
    doc = load_mapping(document)
    previous = None
    if conn.mapping_version is not None:
        previous = current_mapping(conn)[1].to_dict()
    version = (conn.mapping_version or 0) + 1
    row = MappingVersion(connection_id=conn.id, version=version, document=doc.to_dict(), created_by=actor,
                         created_at=utcnow())
    db.session.add(row)
    conn.mapping_version = version
    db.session.flush()
    audit.append(actor, "mapping.changed", f"connection:{conn.name}",
                 {"version": version, "diff": mapping_diff(previous, doc.to_dict()) if previous else "initial"})
    return row


_source_field_cache: dict[tuple[str, int, str], set[str] | None] = {}


def _field_cache_key(conn: Connection) -> tuple[str, int, str]:
    return (str(db.engine.url), conn.id, str((conn.settings or {}).get("object") or conn.kind))


def forget_source_fields(conn: Connection) -> None:
    """Drop the cached source fields (after provisioning new fields or pointing at another object)."""
    for key in [k for k in _source_field_cache if k[:2] == _field_cache_key(conn)[:2]]:
        _source_field_cache.pop(key, None)


def live_source_fields(conn: Connection) -> set[str] | None:
    """The live source's field names (describe / ticket fields), cached per database, connection and object."""
    key = _field_cache_key(conn)
    if key not in _source_field_cache:
        try:
            kind, ctx = get_kind(conn.kind), context(conn)
            with released():  # nothing written yet; no transaction (SQLite: no lock) while the source talks HTTP
                _source_field_cache[key] = kind.source_fields(ctx)
        except Exception:  # the source being unreachable must not block editing a mapping
            current_app.logger.warning("could not read source fields of %s", conn.name, exc_info=True)
            return None
    return _source_field_cache[key]


@lru_cache(maxsize=64)
def _program(conn_id: int, version: int, document_key: str) -> InboundProgram:
    return compile_inbound(load_mapping(json.loads(document_key)), GOVERNANCE_FIELDS)


def inbound_program(conn: Connection) -> tuple[int, InboundProgram, MappingDocument]:
    version, doc = current_mapping(conn)
    doc = resolved(conn, doc)
    return version, _program(conn.id, version, json.dumps(doc.to_dict(), sort_keys=True, default=str)), doc


# --- the shape of a new connection (API body and UI form) ------------------------------------------------------

class KnownKind(validate.Validator):
    """One of the registered source kinds, read from the registry when a value is checked and when the OpenAPI
    document lists them (an ``enum``, as ``OneOf`` gives)."""

    error = "Must be one of: {choices}."

    @property
    def choices(self) -> list[str]:
        return list(kinds())

    def __call__(self, value: Any) -> Any:
        choices = self.choices
        if value not in choices:
            raise ValidationError(self.error.format(choices=", ".join(choices)))
        return value


class ConnectionCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    name = mfields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,62}$",
                                                                  error="Use lowercase letters, digits, - and _."))
    kind = mfields.String(required=True, validate=KnownKind())
    settings = mfields.Dict(load_default=dict)


# --- authorization ---------------------------------------------------------------------------------------------

#: how long an authorize link (its OAuth state) stays usable
STATE_TTL_SECONDS = 900


class AuthorizationRefused(GovernanceError):
    """An OAuth callback that cannot complete (unknown or expired state, no code, a refused exchange): answered
    400, and the admin starts again from the authorize link."""

    kind = "malformed"

    def __init__(self, message: str) -> None:
        super().__init__("bad_request", message)


def redirect_uri() -> str:
    return f"{settings().public_url}/oauth/callback"


def start_authorization(conn: Connection, actor: str) -> str | None:
    """The provider URL to send the admin to (state + PKCE), or None when a server-to-server flow finished."""
    kind = get_kind(conn.kind)
    ctx = context(conn)
    direct = kind.authorize_without_browser(ctx)
    if direct is not None:
        _record_authorization(conn, direct.token, direct.settings_update, actor)
        return None
    state = secrets.token_urlsafe(32)
    url, verifier = kind.authorization_url(ctx, state, redirect_uri())
    db.session.add(OAuthState(state=state, connection_id=conn.id, code_verifier=verifier,
                              redirect_uri=redirect_uri(), created_at=utcnow()))
    audit.append(actor, "connection.authorization_started", f"connection:{conn.name}", {})
    return url


def _record_authorization(conn: Connection, token: dict[str, Any], settings_update: dict[str, Any],
                          actor: str) -> None:
    conn.token = token
    if settings_update:
        conn.settings = {**(conn.settings or {}), **settings_update}
    conn.status, conn.status_detail = "connected", None
    audit.append(actor, "connection.authorized", f"connection:{conn.name}", {"settings": settings_update})


def claim_state(state_value: str) -> bool:
    """Mark an OAuth state used, atomically: False when another callback already did.

    ``UPDATE … WHERE used_at IS NULL`` decides between concurrent callbacks (PostgreSQL re-checks the condition
    once the other transaction commits; SQLite serialises writers), so at most one ever gets to the exchange.
    """
    claimed = cast(CursorResult[Any], db.session.execute(
        update(OAuthState).where(OAuthState.state == state_value, OAuthState.used_at.is_(None))
        .values(used_at=utcnow())))
    return claimed.rowcount == 1


def _claimed_state(state_value: str, code: str | None) -> OAuthState:
    """The callback's state, claimed; refused when unknown, spent, expired or without a code."""
    state = db.session.get(OAuthState, state_value) if state_value else None
    if state is None:
        raise AuthorizationRefused("Unknown or forged OAuth state; start again from the connection's authorize link.")
    used_again = StateConflict("conflict", "This authorization was already completed; start again from the "
                               "authorize link.")
    if state.used_at is not None:
        raise used_again
    if (utcnow() - state.created_at).total_seconds() > STATE_TTL_SECONDS:
        raise AuthorizationRefused("This authorization link expired; start again from the connection's authorize "
                                   "link.")
    if not code:
        raise AuthorizationRefused("The provider did not return an authorization code.")
    if not claim_state(state_value):
        raise used_again
    return state


def finish_authorization(state_value: str, code: str | None) -> Connection:
    """Complete the authorization the provider redirected back with: claim the state, exchange the code, store
    the token. The state is spent before the provider sees the code: a failed exchange (which rolls the request
    back) must not make it usable again, and no transaction stays open while the provider answers."""
    state = _claimed_state(state_value, code)
    conn = db.session.get(Connection, state.connection_id)
    assert conn is not None and code is not None
    kind = get_kind(conn.kind)
    ctx, conn_id, verifier, return_uri = context(conn), conn.id, state.code_verifier, state.redirect_uri
    with released():
        try:
            result = kind.complete_authorization(ctx, code, verifier, return_uri)
        except SourceError as exc:
            raise AuthorizationRefused(f"Authorization failed: {exc.message}") from exc
    reloaded = db.session.get(Connection, conn_id)
    if reloaded is None:
        raise StateConflict("conflict", "The connection was deleted while it was being authorized.")
    _record_authorization(reloaded, result.token, result.settings_update, "oauth")
    return reloaded
