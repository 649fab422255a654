"""Connections (admin): settings with write-only secrets, OAuth authorization, sync now, and field mappings."""

from __future__ import annotations

from typing import Any

import yaml
from flask import abort, flash, redirect, request, url_for
from marshmallow import RAISE, Schema, fields
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector import connections, preview, provisioning, sync, sync_runs
from connector.api.blueprint import make_blueprint
from connector.api.bodies import value_refusal
from connector.api.pagination import PageArgs, decode_cursor, page
from connector.auth import current_principal, requires
from connector.db import db
from connector.governance.errors import InvalidInput, StateConflict
from connector.models import Connection, MappingVersion, SyncRun, utcnow
from connector.representation import iso
from connector.sources import SourceError
from mappings import load_mapping
from mappings.yaml_text import LOAD_ERRORS, yaml_error

blp = make_blueprint("connections", __name__, "Salesforce and Zendesk connections and their mappings.",
                     "/connections")
oauth_blp = make_blueprint("oauth", __name__, "The OAuth redirect target.")


class ConnectionPatchSchema(Schema):
    class Meta:
        unknown = RAISE

    settings = fields.Dict(required=True)


class PreviewSchema(Schema):
    class Meta:
        unknown = RAISE

    record = fields.Dict(load_default=None)
    external_id = fields.String(load_default=None)
    mapping = fields.Raw(load_default=None, metadata={"description": "a mapping to try instead of the current one"})


def find_connection(name: str) -> Connection:
    conn = connections.find(name)
    if conn is None:
        abort(404, f"No connection named '{name}'.")
    return conn


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, description="`{items: [connection], next: cursor|null}`, oldest first.")
@requires("admin")
def list_connections(args: dict[str, Any]) -> dict[str, Any]:
    query = select(Connection).order_by(Connection.id)
    after = decode_cursor(args["after"])
    if after is not None:
        query = query.where(Connection.id > after)
    rows = list(db.session.scalars(query.limit(args["limit"] + 1)))
    result = page(rows, args["limit"], lambda c: c.id)
    result["items"] = [connections.connection_view(c) for c in result["items"]]
    return result


@blp.route("", methods=["POST"])
@blp.arguments(connections.ConnectionCreateSchema)
@blp.response(201)
@requires("admin")
def create_connection(body: dict[str, Any]) -> dict[str, Any]:
    conn = connections.create(body["name"], body["kind"], body["settings"], current_principal().name)
    return connections.connection_view(conn)


@blp.route("/<name>")
@blp.response(200)
@requires("admin")
def get_connection(name: str) -> dict[str, Any]:
    return connections.connection_view(find_connection(name))


@blp.route("/<name>", methods=["PATCH"])
@blp.arguments(ConnectionPatchSchema)
@blp.response(200)
@requires("admin")
def patch_connection(body: dict[str, Any], name: str) -> dict[str, Any]:
    conn = connections.update_settings(find_connection(name), body["settings"], current_principal().name)
    return connections.connection_view(conn)


@blp.route("/<name>", methods=["DELETE"])
@blp.response(204)
@requires("admin")
def delete_connection(name: str) -> tuple[str, int]:
    connections.delete(find_connection(name), current_principal().name)
    return "", 204


@blp.route("/<name>/authorize")
@blp.response(302, description="Redirect to the provider's consent page (state + PKCE).",
              headers={"Location": {"description": "the consent page", "schema": {"type": "string"}}})
@blp.alt_response(200, success=True, description="A server-to-server flow (JWT bearer) finished at once: the "
                                                 "connection, connected.")
@blp.alt_response(409, description="`authorization_failed`: the provider or its login host refused.")
@requires("admin")
def authorize(name: str) -> Response | tuple[dict[str, Any], int]:
    conn = find_connection(name)
    try:
        url = connections.start_authorization(conn, current_principal().name)
    except SourceError as exc:  # a refused login host, a JWT the org rejects …: the admin's to fix, not a 500
        raise StateConflict("authorization_failed", f"Authorization failed: {exc.message}") from exc
    if url is None:  # a server-to-server flow finished: 200 with the connection, not a 302 without Location
        return connections.connection_view(conn), 200
    return redirect(url, 302)


@oauth_blp.route("/oauth/callback")
@oauth_blp.response(200, description="Where the provider returns the admin; completes the authorization: "
                                    "`{connection, status: connected, message}`.")
@oauth_blp.alt_response(303, description="A browser (`Accept: text/html`) goes back to the connections page.",
                        headers={"Location": {"description": "the connections page", "schema": {"type": "string"}}})
@oauth_blp.alt_response(400, description="The provider refused, or the `state` is unknown, spent or expired, or "
                                         "the code exchange failed; start again from the authorize link.")
@oauth_blp.alt_response(409, description="The connection was deleted while it was being authorized.")
def oauth_callback() -> dict[str, Any] | Response:
    if request.args.get("error"):
        reason = request.args.get("error_description") or request.args["error"]
        abort(400, f"The provider refused the authorization: {reason}.")
    conn = connections.finish_authorization(request.args.get("state", ""), request.args.get("code"))
    message = f"{conn.kind.title()} connection '{conn.name}' is authorized; you can close this page."
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        flash(f"{conn.kind.title()} connection '{conn.name}' is authorized.", "success")
        return redirect(url_for("connector_web.connections_page"), 303)  # a person in a browser: back to the UI
    return {"connection": conn.name, "status": "connected", "message": message}


@blp.route("/<name>/sync", methods=["POST"])
@blp.response(200, description="Counts: fetched, created, updated, unchanged, needs_info (and a stop reason), "
              "once the sync is done; `POST …/syncs` queues one for a worker instead.")
@requires("admin")
def sync_now(name: str) -> dict[str, Any]:
    find_connection(name)
    counts = sync.sync(name, actor=current_principal().name)
    return counts.to_dict()


class SyncRunSchema(Schema):
    """One sync of a connection: who started it, its state and how far it got."""

    id = fields.Integer(required=True)
    connection = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "description": "`queued` (waiting for a worker), `running`, `completed`, `stopped` (the source refused: "
                       "`message` says why) or `interrupted` (its process stopped three times)"})
    live = fields.Boolean(required=True, metadata={"description": "queued, or running with a page stored lately"})
    trigger = fields.String(required=True, metadata={"description": "`web`, `api`, `cli` or `schedule`"})
    requested_by = fields.String(required=True)
    requested_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    heartbeat_at = fields.DateTime(allow_none=True, metadata={"description": "when its last page was stored"})
    attempts = fields.Integer(required=True)
    examined = fields.Integer(required=True, metadata={"description": "records gone through (fetched or skipped)"})
    total = fields.Integer(allow_none=True, metadata={
        "description": "the source's count (Salesforce's totalSize; Zendesk's ticket count, an estimate); null when "
                       "the source gives none"})
    percent = fields.Float(allow_none=True)
    eta_seconds = fields.Float(allow_none=True, metadata={"description": "time left at the rate so far"})
    counts = fields.Dict(required=True, metadata={"description": "fetched, created, updated, unchanged, needs_info…"})
    message = fields.String(allow_none=True)


class SyncRunPageSchema(Schema):
    items = fields.List(fields.Nested(SyncRunSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class QueuedSyncSchema(SyncRunSchema):
    queued = fields.Boolean(required=True, metadata={
        "description": "true: queued now; false: a sync of this connection was already queued or running, and this "
                       "is it"})


@blp.route("/<name>/syncs", methods=["POST"])
@blp.response(202, QueuedSyncSchema, description="Queued for a worker (or the sync already queued or running): "
              "follow it at `Location`.", headers={"Location": {"description": "the run",
                                                                 "schema": {"type": "string"}}})
@blp.alt_response(409, description="`not_authorized`: the connection needs authorization first.")
@requires("admin")
def queue_sync(name: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    conn = find_connection(name)
    if conn.status == "needs_authorization":
        raise StateConflict("not_authorized", f"Connection '{name}' needs authorization before it can sync: "
                            f"{conn.status_detail or 'authorize it first'}.")
    run, created = sync_runs.request(conn, current_principal().name, trigger="api")
    db.session.commit()
    body = {**sync_runs.as_dict(run, conn.name, utcnow()), "queued": created}
    return body, 202, {"Location": url_for(".get_sync", name=name, run_id=run.id)}


@blp.route("/<name>/syncs")
@blp.arguments(PageArgs, location="query")
@blp.response(200, SyncRunPageSchema, description="The connection's syncs, newest first (finished ones are kept "
              "30 days).")
@requires("admin")
def list_syncs(args: dict[str, Any], name: str) -> dict[str, Any]:
    conn = find_connection(name)
    query = select(SyncRun).where(SyncRun.connection_id == conn.id).order_by(SyncRun.id.desc())
    after = decode_cursor(args["after"])
    if after is not None:
        query = query.where(SyncRun.id < after)
    rows = list(db.session.scalars(query.limit(args["limit"] + 1)))
    result = page(rows, args["limit"], lambda run: run.id)
    now = utcnow()
    result["items"] = [sync_runs.as_dict(run, conn.name, now) for run in result["items"]]
    return result


@blp.route("/<name>/syncs/<int:run_id>")
@blp.response(200, SyncRunSchema)
@blp.alt_response(404, description="No sync of this connection has this id.")
@requires("admin")
def get_sync(name: str, run_id: int) -> dict[str, Any]:
    conn = find_connection(name)
    run = db.session.get(SyncRun, run_id)
    if run is None or run.connection_id != conn.id:
        abort(404, f"Connection '{name}' has no sync {run_id}.")
    return sync_runs.as_dict(run, conn.name, utcnow())


@blp.route("/<name>/provision", methods=["POST"])
@blp.response(200, description="Create what the source needs (Salesforce: deploy the package; Zendesk: ticket "
              "fields, webhook, trigger, and the ticket sidebar app installed with a fresh source_app token, which "
              "replaces the previous one and is never shown).")
@requires("admin")
def provision(name: str) -> dict[str, Any]:
    conn = find_connection(name)
    return provisioning.provision(conn, current_principal().name)


# --- mappings --------------------------------------------------------------------------------------------------

def _mapping_body() -> Any:
    """The mapping sent as YAML or JSON; the API's body check has already refused unreadable or unsafe bodies
    (invalid JSON with where it breaks, YAML alias loops and bombs, nesting too deep). A mapping sent as a JSON
    string is YAML text that ``parse_text`` checks the same way."""
    if request.mimetype in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            document = yaml.safe_load(request.get_data(as_text=True))
        except LOAD_ERRORS as exc:
            raise InvalidInput("mapping_not_yaml", yaml_error(exc, "The mapping")) from exc
        refusal = value_refusal(document)  # NUL characters, integers beyond 64 bits, NaN/Infinity
        if refusal is not None:
            raise refusal
        return document
    body = request.get_json(silent=True)
    if body is None:
        abort(400, "Send the mapping as JSON or YAML (Content-Type: application/yaml).")
    return body


def mapping_view(conn: Connection, version: int, doc: Any) -> dict[str, Any]:
    data = doc.to_dict()
    return {"connection": conn.name, "version": version, "mapping": data, "yaml": doc.to_yaml()}


@blp.route("/<name>/mapping")
@blp.response(200, description="The current mapping (JSON, and the same as YAML text).")
@requires("admin", "auditor")
def get_mapping(name: str) -> dict[str, Any]:
    conn = find_connection(name)
    version, doc = connections.current_mapping(conn)
    return mapping_view(conn, version, doc)


@blp.route("/<name>/mapping", methods=["PUT"])
@blp.doc(requestBody={"required": True, "content": {
    "application/yaml": {"schema": {"type": "string", "description": "the mapping document"}},
    "application/json": {"schema": {"type": "object", "description": "the mapping document"}}}})
@blp.response(200, description="The new version; 422 naming each bad field and rule.")
@requires("admin")
def put_mapping(name: str) -> dict[str, Any]:
    conn = find_connection(name)
    row = connections.set_mapping(conn, _mapping_body(), current_principal().name)
    return mapping_view(conn, row.version, load_mapping(row.document))


@blp.route("/<name>/mapping/versions")
@blp.arguments(PageArgs, location="query")
@blp.response(200, description="`{items: [mapping version], next: cursor|null}`, newest first.")
@requires("admin", "auditor")
def mapping_versions(args: dict[str, Any], name: str) -> dict[str, Any]:
    conn = find_connection(name)
    query = (select(MappingVersion).where(MappingVersion.connection_id == conn.id)
             .order_by(MappingVersion.version.desc()))
    before = decode_cursor(args["after"])
    if before is not None:
        query = query.where(MappingVersion.version < before)
    result = page(list(db.session.scalars(query.limit(args["limit"] + 1))), args["limit"], lambda r: r.version)
    result["items"] = [{"version": r.version, "created_by": r.created_by, "created_at": iso(r.created_at),
                        "current": r.version == conn.mapping_version, "mapping": r.document}
                       for r in result["items"]]
    return result


@blp.route("/<name>/mapping/preview", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": PreviewSchema}}})
@blp.response(200, description="The mapped request, field errors and intake result; nothing is written.")
@requires("admin")
def preview_mapping(name: str) -> dict[str, Any]:
    conn = find_connection(name)
    body = PreviewSchema().load(request.get_json(silent=True) or {})  # invalid JSON never gets here: 400 before
    if (body["record"] is None) == (body["external_id"] is None):
        raise InvalidInput("invalid_input", "Send either 'record' (a source record) or 'external_id' (fetched live).",
                           {"fields": {"record": ["Give exactly one of record, external_id."]}})
    try:
        return preview.preview(conn, record=body["record"], external_id=body["external_id"], mapping=body["mapping"])
    except SourceError as exc:
        raise StateConflict("source_unavailable", f"Could not fetch the record: {exc.message}") from exc
