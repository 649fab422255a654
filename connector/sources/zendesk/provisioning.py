"""Setting up a Zendesk account for the connector: the custom ticket fields the mapping writes, the webhook the
pushes come through, one trigger per selecting tag or ticket form, and the ticket sidebar app (uploaded, built and
installed through the Apps API with the connector's URL and the ``source_app`` token in its secure setting).
Idempotent: whatever exists is found and reused; the app and its installation are updated in place (a new version
of the app, the new token). Nothing is stored here: the generic ``connector.provisioning`` stores what
``provision`` returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.zendesk import ZendeskClient, ZendeskError, ZendeskSettings, app_build, trigger_notifies
from adapters.zendesk.apps_api import AppsApi
from connector.sources import ConnectionContext, Provisioned, SourceError
from connector.sources.zendesk.settings import adapter_settings, as_source_error, make_client, selections
from mappings import ZENDESK_PLACEHOLDER_FIELDS

#: the app's name in the account (one app per connection: each reads its own connection)
APP_NAME = "License Exception Connector"
APP_DESCRIPTION = "Where a ticket's license exception stands, and a form to flag one."
#: how long Zendesk may take to build the app before provisioning reports it as still running
BUILD_TIMEOUT_SECONDS = 300.0


def provision(ctx: ConnectionContext, poll_seconds: float = 1.0) -> Provisioned:
    """Create (or find) the ticket fields, the webhook and its trigger(s), then upload and install (or update) the
    ticket sidebar app when the connector handed a token for it (``ctx.app_token``)."""
    settings = adapter_settings(ctx)
    client = make_client(ctx)
    try:
        field_ids, field_report = _provision_fields(client, ctx.settings.get("field_ids") or {})
        endpoint = f"{ctx.base_url}/webhooks/zendesk/{ctx.name}"
        webhook_id, webhook_action = _provision_webhook(client, f"License Exception Connector: {ctx.name}", endpoint)
        secret = client.webhook_signing_secret(webhook_id)
        triggers = _provision_triggers(client, ctx.name, webhook_id, selections(ctx, settings))
        app_settings, app_report = (_provision_app(AppsApi(client), ctx, ctx.app_token, poll_seconds)
                                    if ctx.app_token else ({}, {}))
    except ZendeskError as exc:
        raise as_source_error(exc) from exc
    return Provisioned(
        settings={"field_ids": field_ids, "webhook_id": webhook_id, "trigger_ids": [int(t["id"]) for t in triggers],
                  **app_settings},
        secrets={"webhook_secret": secret},
        summary={"fields": field_report, "webhook": {"id": webhook_id, "endpoint": endpoint, "action": webhook_action},
                 "triggers": triggers, **app_report},
    )


# --- ticket fields ------------------------------------------------------------------------------------------------

def _option_values(ticket_field: Mapping[str, Any]) -> set[str]:
    return {str(o.get("value")) for o in ticket_field.get("custom_field_options") or () if o.get("value")}


def _same_title(spec: Mapping[str, Any], candidate: Mapping[str, Any]) -> bool:
    title = str(spec["title"]).strip().lower()
    return str(candidate.get("title") or "").strip().lower() == title and candidate.get("type") == spec["type"]


def _same_options(spec: Mapping[str, Any], candidate: Mapping[str, Any]) -> bool:
    ours = {str(o["value"]) for o in spec.get("options") or ()}
    return bool(ours) and candidate.get("type") == spec["type"] and bool(ours & _option_values(candidate))


def _matching_field(name: str, spec: Mapping[str, Any], existing: Sequence[Mapping[str, Any]],
                    configured: Mapping[str, Any], taken: set[int]) -> Mapping[str, Any] | None:
    """An existing field to reuse: the configured id, else the same title and type, else (dropdowns) a field
    already carrying our option tags (Zendesk refuses to create a second field with the same tags)."""
    by_id = {int(f["id"]): f for f in existing if f.get("id") is not None}
    if configured.get(name) is not None and int(configured[name]) in by_id:
        return by_id[int(configured[name])]
    free = [f for f in existing if int(f["id"]) not in taken and f.get("removable", True)]
    return (next((f for f in free if _same_title(spec, f)), None)
            or next((f for f in free if _same_options(spec, f)), None))


def _provision_fields(client: ZendeskClient,
                      configured: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    existing = client.ticket_fields()
    field_ids: dict[str, int] = {}
    report: dict[str, dict[str, Any]] = {}
    for name, spec in ZENDESK_PLACEHOLDER_FIELDS.items():
        found = _matching_field(name, spec, existing, configured, set(field_ids.values()))
        if found is None:
            options = [(str(o["name"]), str(o["value"])) for o in spec.get("options") or ()]
            found = client.create_ticket_field(spec["type"], spec["title"], options or None,
                                               description=spec.get("description", ""))
            action = "created"
        else:
            action = "reused"
        field_ids[name] = int(found["id"])
        report[name] = {"id": int(found["id"]), "title": found.get("title"), "action": action}
    return field_ids, report


# --- the webhook and its triggers ---------------------------------------------------------------------------------

def _provision_webhook(client: ZendeskClient, name: str, endpoint: str) -> tuple[str, str]:
    for webhook in client.webhooks():
        if webhook.get("endpoint") == endpoint and webhook.get("id"):
            return str(webhook["id"]), "reused"
    return client.create_webhook(name, endpoint), "created"


def _wanted_triggers(name: str, chosen: Sequence[ZendeskSettings]) -> list[tuple[str, str, Any]]:
    """(what it selects on, title, value) of each trigger: one per selecting tag and per ticket form."""
    wanted: list[tuple[str, str, Any]] = []
    for selection in chosen:
        if selection.tag:
            wanted.append(("tag", f"License Exception Connector ({name}): tag {selection.tag}", selection.tag))
        if selection.ticket_form_id:
            wanted.append(("form", f"License Exception Connector ({name}): form {selection.ticket_form_id}",
                           selection.ticket_form_id))
    return list(dict.fromkeys(wanted))


def _provision_triggers(client: ZendeskClient, name: str, webhook_id: str,
                        chosen: Sequence[ZendeskSettings]) -> list[dict[str, Any]]:
    """One trigger per selecting tag (the adapter's) and per ticket form, each posting the ticket id."""
    existing = list(client.triggers())
    report: list[dict[str, Any]] = []
    for selects_on, title, value in _wanted_triggers(name, chosen):
        found = next((t for t in existing if t.get("title") == title and trigger_notifies(t, webhook_id)), None)
        if found is not None:
            report.append({"id": found["id"], "title": title, "action": "reused"})
            continue
        if selects_on == "tag":
            created = client.create_trigger(title, webhook_id, str(value))
        else:
            created = client.create_trigger(title, webhook_id, ticket_form_id=value)
        report.append({"id": created.get("id"), "title": title, "action": "created"})
    return report


# --- the ticket sidebar app ---------------------------------------------------------------------------------------

def app_name(connection: str) -> str:
    return f"{APP_NAME} ({connection})"


def _existing(items: Sequence[Mapping[str, Any]], configured: Any, **matching: Any) -> Mapping[str, Any] | None:
    """The item with the configured id, else the first one matching every ``key=value`` given."""
    if configured is not None:
        found = next((i for i in items if str(i.get("id")) == str(configured)), None)
        if found is not None:
            return found
    return next((i for i in items if all(str(i.get(k)) == str(v) for k, v in matching.items())), None)


def _built_app(apps: AppsApi, ctx: ConnectionContext, poll_seconds: float) -> tuple[int, str, int]:
    """Upload the app filled in for this connector and build it: a new version of our app, or a new app.
    Returns (app id, created/updated, upload id); Zendesk's refusal of the upload is raised in its words."""
    try:
        archive = app_build.app_zip(app_build.fill(app_build.app_files(), ctx.base_url))
    except app_build.AppError as exc:
        raise SourceError("error", f"The connector's Zendesk app would be refused: {exc}.",
                          problems=exc.problems) from exc
    existing = _existing(apps.owned(), ctx.settings.get("app_id"), name=app_name(ctx.name))
    upload_id = apps.upload(archive)
    if existing is not None:
        job_id, action = apps.update(int(existing["id"]), upload_id), "updated"
    else:
        job_id, action = apps.create(app_name(ctx.name), upload_id, APP_DESCRIPTION), "created"
    build = apps.wait_for_build(job_id, poll_interval=poll_seconds, timeout=BUILD_TIMEOUT_SECONDS)
    if not build.success or build.app_id is None:
        problems = build.problems()
        raise SourceError("error", f"Zendesk refused the app (build job {build.job_id} {build.status}): "
                                   f"{'; '.join(problems)}.", problems=problems)
    return build.app_id, action, upload_id


def _provision_app(apps: AppsApi, ctx: ConnectionContext, token: str,
                   poll_seconds: float) -> tuple[dict[str, int], dict[str, Any]]:
    """Upload and build the app, then install it with its settings or update the installation (the token rotates
    with every run)."""
    app_id, app_action, upload_id = _built_app(apps, ctx, poll_seconds)
    settings = app_build.Installation(ctx.base_url, ctx.name, token).settings()
    ours = [i for i in apps.installations() if str(i.get("app_id")) == str(app_id)]
    installation = _existing(ours, ctx.settings.get("app_installation_id"))
    if installation is not None:
        installation_id, installation_action = int(installation["id"]), "updated"
        apps.update_installation(installation_id, settings)
    else:
        installed = apps.install(app_id, settings)
        installation_id, installation_action = int(installed["id"]), "created"
    shown = {k: v for k, v in settings.items() if k != "token"}
    return ({"app_id": app_id, "app_installation_id": installation_id},
            {"app": {"id": app_id, "name": app_name(ctx.name), "action": app_action, "upload_id": upload_id},
             "installation": {"id": installation_id, "action": installation_action, "settings": shown,
                              "secure_settings": ["token"]}})
