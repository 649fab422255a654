"""Admins' pages: connections (connect, sync now, provision), the mapping editor with preview, the policy,
deliveries."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import yaml
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector import audit, connections, delivery, policy_simulation, preview, provisioning, sync_runs
from connector.db import db
from connector.governance.errors import GovernanceError, InvalidInput
from connector.governance.paths import flatten_errors
from connector.governance.policy import parse_policy
from connector.models import (
    Connection,
    Delivery,
    DeliveryStatus,
    DeliveryTarget,
    MappingVersion,
    Principal,
    utcnow,
)
from connector.nesting import MAX_DEPTH, deep_path
from connector.policy_store import current_policy, store_policy_with_impact
from connector.sources import SourceError, get_kind
from connector.web import delivery_health, sync_progress
from connector.web.blueprint import bp, position_arg, status_for
from connector.web.document_lines import line_of
from connector.web.forms import ButtonForm, ConnectionForm, MappingForm, PolicyForm
from connector.web.signin import current_user, requires_sign_in
from mappings.yaml_text import LOAD_ERRORS, unsafe_yaml, yaml_error

DELIVERY_PAGE = 50


def _actor() -> str:
    user: Principal | None = current_user()
    assert user is not None
    return user.name


def _connection(name: str) -> Connection:
    conn = connections.find(name)
    if conn is None:
        abort(404, f"No connection named '{name}'.")
    return conn


# --- connections ---------------------------------------------------------------------------------------------

_SETTING_LINE = re.compile(r"^(\s*)([A-Za-z_][\w-]*)\s*:(.*)$")


def without_secrets(text: str) -> str:
    """The settings text as typed, with every secret's value emptied (a block value's lines too): a form shown
    again after an error never carries a secret back to the page."""
    out: list[str] = []
    skip_deeper_than: int | None = None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip_deeper_than is not None:
            if line.strip() and indent <= skip_deeper_than:
                skip_deeper_than = None
            else:
                continue
        match = _SETTING_LINE.match(line)
        if match and audit.is_secret_name(match.group(2)) and match.group(3).strip():
            out.append(f'{match.group(1)}{match.group(2)}: ""  # secrets are never shown again: enter it again')
            if match.group(3).strip()[:1] in ("|", ">"):
                skip_deeper_than = indent
            continue
        out.append(line)
    return "\n".join(out)


def _render_connections(form: ConnectionForm | None = None, problems: list[str] | None = None,
                        status: int = 200, problems_title: str | None = None) -> tuple[str, int]:
    if form is not None and form.settings.data:
        form.settings.data = without_secrets(form.settings.data)
    rows = db.session.scalars(select(Connection).order_by(Connection.name)).all()
    now = utcnow()
    latest = sync_runs.latest(c.id for c in rows)
    runs = {c.name: sync_progress.view(latest[c.id], now) for c in rows if c.id in latest}
    return render_template("web/connections.html", rows=[connections.connection_view(c) for c in rows], runs=runs,
                           form=form or ConnectionForm(formdata=None), button=ButtonForm(formdata=None),
                           problems=problems or [], problems_title=problems_title), status


@bp.route("/admin/connections")
@requires_sign_in("admin")
def connections_page() -> tuple[str, int]:
    return _render_connections()


@bp.route("/admin/connections", methods=["POST"])
@requires_sign_in("admin")
def connection_create() -> Response | tuple[str, int]:
    form = ConnectionForm()
    if not form.validate():
        return _render_connections(form, ["The connection was not added: see the marked fields."], 422)
    problem = unsafe_yaml(form.settings.data or "")
    if problem is not None:
        form.settings.errors = [problem.message]
        return _render_connections(form, ["The connection was not added: see the marked fields."], 422)
    try:
        settings = yaml.safe_load(form.settings.data or "") or {}
    except LOAD_ERRORS as exc:
        form.settings.errors = [yaml_error(exc, "The settings text")]
        return _render_connections(form, ["The connection was not added: see the marked fields."], 422)
    if not isinstance(settings, dict):
        form.settings.errors = ["Write the settings as 'key: value' lines."]
        return _render_connections(form, ["The connection was not added: see the marked fields."], 422)
    try:
        body = connections.ConnectionCreateSchema().load({"name": form.name.data, "kind": form.kind.data,
                                                          "settings": settings})
        conn = connections.create(body["name"], body["kind"], body["settings"], _actor())
    except ValidationError as exc:
        return _field_problems(form, flatten_errors(exc.messages), "The connection was not added.")
    except GovernanceError as exc:
        db.session.rollback()
        if isinstance(exc, InvalidInput) and exc.details.get("fields"):
            return _field_problems(form, exc.details["fields"], exc.message, status_for(exc))
        return _render_connections(form, [exc.message], status_for(exc))
    flash(f"Connection '{conn.name}' added with the default mapping. Connect it to start syncing.", "success")
    return redirect(url_for("connector_web.connections_page"), 303)


def _field_problems(form: ConnectionForm, fields: dict[str, list[str]], message: str,
                    status: int = 422) -> tuple[str, int]:
    """Name and kind errors on their fields; every settings error on the settings field, with its key."""
    db.session.rollback()
    for path, messages in fields.items():
        if path in ("name", "kind"):
            field = getattr(form, path)
            field.errors = [*list(field.errors or []), *messages]
        else:
            form.settings.errors = [*list(form.settings.errors or []), *(f"{path}: {m}" for m in messages)]
    return _render_connections(form, [message], status)


@bp.route("/admin/connections/<name>/connect", methods=["POST"])
@requires_sign_in("admin")
def connection_connect(name: str) -> Response | tuple[str, int]:
    conn = _connection(name)
    try:
        url = connections.start_authorization(conn, _actor())
    except SourceError as exc:
        db.session.rollback()
        return _render_connections(problems=[f"Could not start the authorization of '{name}': {exc.message}"],
                                   status=409)
    except GovernanceError as exc:
        db.session.rollback()
        return _render_connections(problems=[exc.message], status=status_for(exc))
    if url is None:
        flash(f"Connection '{name}' is authorized (server-to-server).", "success")
        return redirect(url_for("connector_web.connections_page"), 303)
    return redirect(url, 303)


@bp.route("/admin/connections/<name>/sync", methods=["POST"])
@requires_sign_in("admin")
def connection_sync(name: str) -> Response:
    """Queue a sync for a worker (a backfill takes minutes: no page waits for it); the connections page follows
    its progress. A sync already queued or running is the one shown, not a second."""
    conn = _connection(name)
    if conn.status == "needs_authorization":
        flash(f"Sync of '{name}' not started: the connection is needs authorization "
              f"({conn.status_detail or 'not connected yet'}). Connect it first.", "error")
        return redirect(url_for("connector_web.connections_page", _anchor=f"sync-{name}"), 303)
    run, created = sync_runs.request(conn, _actor(), trigger="web")
    db.session.commit()
    if created:
        flash(f"Sync of '{name}' queued: a worker runs it now and its progress shows below.", "success")
    else:
        flash(f"A sync of '{name}' is already {run.state} (started by {run.requested_by}): its progress shows "
              "below.", "info")
    return redirect(url_for("connector_web.connections_page", _anchor=f"sync-{name}"), 303)


@bp.route("/admin/connections/<name>/sync/progress")
@requires_sign_in("admin")
def connection_sync_progress(name: str) -> Response:
    """The connection's latest sync run as JSON, polled by the connections page's progress bar."""
    conn = _connection(name)
    run = sync_runs.latest([conn.id]).get(conn.id)
    if run is None:
        return jsonify({"state": None, "live": False, "words": "Never synced."})
    return jsonify(sync_progress.view(run, utcnow()))


@bp.route("/admin/connections/<name>/provision", methods=["POST"])
@requires_sign_in("admin")
def connection_provision(name: str) -> Response | tuple[str, int]:
    conn = _connection(name)
    try:
        result = provisioning.provision(conn, _actor())
    except GovernanceError as exc:
        db.session.rollback()
        reasons = list(exc.details.get("problems") or [])
        headline = (f"{get_kind(conn.kind).label} refused it, for the reasons below. Fix them and press Provision "
                    "again: whatever was already created is found and reused." if reasons else exc.message)
        return _render_connections(problems=[headline, *reasons], status=status_for(exc),
                                   problems_title=f"Provisioning '{name}' stopped")
    db.session.commit()
    flash(provision_summary(result), "success")
    return redirect(url_for("connector_web.connections_page"), 303)


def _counted(items: list[dict[str, Any]], noun: str) -> str:
    """``15 ticket fields reused``, ``1 trigger created``, ``15 ticket fields (13 created, 2 reused)``."""
    words = f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
    actions = Counter(str(item.get("action")) for item in items)
    if len(actions) == 1:
        return f"{words} {next(iter(actions))}"
    return f"{words} ({', '.join(f'{n} {action}' for action, n in sorted(actions.items()))})" if actions else words


def provision_summary(result: dict[str, Any]) -> str:
    """What provisioning created, reused or updated, in one sentence (the token itself is never in ``result``)."""
    parts: list[str] = []
    if "fields" in result:
        parts.append(_counted(list(result["fields"].values()), "ticket field"))
    if "webhook" in result:
        parts.append(f"webhook {result['webhook']['action']}")
    if "triggers" in result:
        parts.append(_counted(list(result["triggers"]), "trigger"))
    if "deployment" in result:
        deployment = result["deployment"]
        parts.append(f"package deployed ({deployment.get('components')} components, deployment {deployment['id']}, "
                     f"{deployment.get('status')}); pushes go to {result.get('push_url')} as "
                     f"{result.get('integration_user')}")
    if "app" in result:
        parts.append(f"app '{result['app']['name']}' {result['app']['action']} and its installation "
                     f"{result['installation']['action']}")
    if "app_token" in result:
        parts.append(f"the app's token {result['app_token']['action']}")
    return f"Provisioned '{result['connection']}': " + "; ".join(parts) + "."


# --- mappings --------------------------------------------------------------------------------------------------

def _located(problems: list[dict[str, str]], text: str) -> list[dict[str, Any]]:
    return [{**p, "line": line_of(text, p["field"])} for p in problems]


def _render_mapping(conn: Connection, form: MappingForm, *, problems: list[dict[str, Any]] | None = None,
                    result: dict[str, Any] | None = None, messages: list[str] | None = None,
                    status: int = 200) -> tuple[str, int]:
    if problems:
        form.document.render_kw = {**(form.document.render_kw or {}), "aria-invalid": "true",
                                   "aria-describedby": "mapping-problems"}
    versions = db.session.scalars(select(MappingVersion).where(MappingVersion.connection_id == conn.id)
                                  .order_by(MappingVersion.version.desc()).limit(10)).all()
    return render_template("web/mapping.html", conn=conn, form=form, problems=problems, result=result,
                           messages=messages or [], versions=versions), status


@bp.route("/admin/connections/<name>/mapping")
@requires_sign_in("admin")
def mapping_page(name: str) -> tuple[str, int]:
    conn = _connection(name)
    form = MappingForm(formdata=None)
    if conn.mapping_version is not None:
        form.document.data = connections.current_mapping(conn)[1].to_yaml()
    return _render_mapping(conn, form)


def _preview_record(form: MappingForm) -> tuple[dict[str, Any] | None, str | None]:
    """The pasted record (a JSON object) or the live id: exactly one; errors go on the fields."""
    text = (form.record.data or "").strip()
    external_id = (form.external_id.data or "").strip() or None
    if bool(text) == bool(external_id):
        form.record.errors = ["Paste a record or give a live record id (one of them)."]
        return None, None
    if external_id:
        return None, external_id
    try:
        record = json.loads(text)
    except ValueError as exc:
        form.record.errors = [f"Not valid JSON: {exc}."]
        return None, None
    except RecursionError:
        form.record.errors = ["The record nests too deeply to be a source record."]
        return None, None
    if deep_path(record) is not None:
        form.record.errors = [f"The record nests more than {MAX_DEPTH} levels deep."]
        return None, None
    if not isinstance(record, dict):
        form.record.errors = ["The record must be a JSON object ({...})."]
        return None, None
    return record, None


@bp.route("/admin/connections/<name>/mapping", methods=["POST"])
@requires_sign_in("admin")
def mapping_post(name: str) -> Response | tuple[str, int]:
    conn = _connection(name)
    form = MappingForm()
    if not form.validate():
        return _render_mapping(conn, form, messages=["See the marked fields."], status=422)
    text = form.document.data
    if form.preview.data:
        record, external_id = _preview_record(form)
        if record is None and external_id is None:
            return _render_mapping(conn, form, messages=["Nothing to preview yet: see the marked fields."],
                                   status=422)
        try:
            result = preview.preview(conn, record=record, external_id=external_id, mapping=text)
        except SourceError as exc:
            form.external_id.errors = [f"Could not fetch the record: {exc.message}"]
            return _render_mapping(conn, form, messages=["The record could not be fetched."], status=409)
        except GovernanceError as exc:
            return _render_mapping(conn, form, messages=[exc.message], status=status_for(exc))
        if result["mapping_problems"]:
            return _render_mapping(conn, form, problems=_located(result["mapping_problems"], text),
                                   messages=["Fix the mapping before previewing with it."], status=422)
        return _render_mapping(conn, form, result=result)
    if form.save.data:
        try:
            row = connections.set_mapping(conn, text, _actor())
        except InvalidInput as exc:
            db.session.rollback()
            problems = exc.details.get("problems") or [
                {"field": f, "rule": "invalid", "message": " ".join(m)}
                for f, m in (exc.details.get("fields") or {}).items()]
            return _render_mapping(conn, form, problems=_located(problems, text), messages=[exc.message],
                                   status=422)
        flash(f"Mapping version {row.version} saved; new syncs use it.", "success")
        return redirect(url_for("connector_web.mapping_page", name=conn.name), 303)
    live = connections.live_source_fields(conn) if conn.status == "connected" else None
    problems = connections.mapping_problems(conn, text, live)
    if problems:
        return _render_mapping(conn, form, problems=_located(problems, text),
                               messages=[f"The mapping has {len(problems)} problem(s)."], status=422)
    return _render_mapping(conn, form, problems=[], messages=["The mapping is valid (not saved yet)."])


# --- policy ----------------------------------------------------------------------------------------------------

def _policy_problems(exc: InvalidInput, text: str) -> list[dict[str, Any]]:
    fields: dict[str, list[str]] = exc.details.get("fields") or {}
    return [{"field": path, "message": " ".join(messages), "line": line_of(text, path)}
            for path, messages in sorted(fields.items())]


#: the simulated requests the editor lists (the totals count them all)
SIMULATION_ROWS = 200


def _render_policy(form: PolicyForm, *, problems: list[dict[str, Any]] | None = None,
                   messages: list[str] | None = None, status: int = 200,
                   simulation: dict[str, Any] | None = None) -> tuple[str, int]:
    if problems:
        form.document.render_kw = {**(form.document.render_kw or {}), "aria-invalid": "true",
                                   "aria-describedby": "policy-problems"}
    return render_template("web/policy.html", form=form, policy=current_policy(), problems=problems,
                           messages=messages or [], simulation=simulation, rows=SIMULATION_ROWS,
                           totals_line=policy_simulation.totals_line), status


@bp.route("/admin/policy")
@requires_sign_in("admin")
def policy_page() -> tuple[str, int]:
    form = PolicyForm(formdata=None)
    form.document.data = current_policy().document
    return _render_policy(form)


@bp.route("/admin/policy", methods=["POST"])
@requires_sign_in("admin")
def policy_post() -> Response | tuple[str, int]:
    form = PolicyForm()
    if not form.validate():
        return _render_policy(form, messages=["See the marked fields."], status=422)
    text = form.document.data.replace("\r\n", "\n")
    simulation = None
    try:
        if form.save.data:
            policy, impact = store_policy_with_impact(text, _actor())
        else:
            draft = parse_policy(text)
            if form.simulate.data:
                simulation = policy_simulation.run(current_policy(), draft)
    except InvalidInput as exc:
        db.session.rollback()
        return _render_policy(form, problems=_policy_problems(exc, text), messages=[exc.message], status=422)
    if form.save.data:
        flash(f"Policy version {policy.version} is in force. {policy_simulation.totals_line(impact['totals'])}",
              "success")
        return redirect(url_for("connector_web.policy_page"), 303)
    if simulation is not None:
        return _render_policy(form, problems=[], simulation=simulation,
                              messages=["The policy is valid (not saved yet); the simulation is below."])
    return _render_policy(form, problems=[], messages=["The policy is valid (not saved yet)."])


# --- deliveries ------------------------------------------------------------------------------------------------

#: the page's tabs, dead first (the page opens on them)
DELIVERY_STATUSES = (DeliveryStatus.DEAD, *(s for s in DeliveryStatus if s != DeliveryStatus.DEAD))


@bp.route("/admin/deliveries")
@requires_sign_in("admin")
def deliveries_page() -> str:
    """Tabs with their counts and each target's health; without a tab asked for, the one that needs attention."""
    counts = delivery_health.status_counts()
    status = request.args.get("status") or delivery_health.useful_tab(counts)
    if status not in (*DELIVERY_STATUSES, "all"):
        abort(400, f"Unknown status '{status}'. Use one of: {', '.join(DELIVERY_STATUSES)}, all.")
    before = position_arg()
    query = select(Delivery)
    if status != "all":
        query = query.where(Delivery.status == status)
    if before:
        query = query.where(Delivery.id < before)
    rows = db.session.scalars(query.order_by(Delivery.id.desc()).limit(DELIVERY_PAGE + 1)).all()
    more = len(rows) > DELIVERY_PAGE
    rows = rows[:DELIVERY_PAGE]
    targets = db.session.scalars(select(DeliveryTarget).where(DeliveryTarget.status == "disabled")).all()
    return render_template("web/deliveries.html", rows=rows, status=status, statuses=DELIVERY_STATUSES,
                           targets=targets, button=ButtonForm(formdata=None), counts=counts,
                           health=delivery_health.target_health(utcnow()),
                           next_before=rows[-1].id if more and rows else None)


@bp.route("/admin/deliveries/<key:delivery_id>/retry", methods=["POST"])
@requires_sign_in("admin")
def delivery_retry(delivery_id: int) -> Response:
    row = delivery.retry(delivery_id, _actor())
    if row is None:
        abort(404, f"No delivery {delivery_id}.")
    flash(f"Delivery {delivery_id} to {row.target} is due again now.", "success")
    return redirect(url_for("connector_web.deliveries_page", status=request.args.get("status", "dead")), 303)
