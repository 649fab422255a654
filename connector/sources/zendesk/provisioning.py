"""Setting up a Zendesk account for the connector: the custom ticket fields the mapping writes, the webhook the
pushes come through, and one trigger per selecting tag or ticket form. Idempotent: whatever exists is found and
reused. Nothing is stored here: the generic ``connector.provisioning`` stores what ``provision`` returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.zendesk import ZendeskClient, ZendeskError, ZendeskSettings, trigger_notifies
from connector.sources import ConnectionContext, Provisioned
from connector.sources.zendesk.settings import adapter_settings, as_source_error, make_client, selections
from mappings import ZENDESK_PLACEHOLDER_FIELDS


def provision(ctx: ConnectionContext) -> Provisioned:
    """Create (or find) the ticket fields, the webhook and its trigger(s)."""
    settings = adapter_settings(ctx)
    client = make_client(ctx)
    try:
        field_ids, field_report = _provision_fields(client, ctx.settings.get("field_ids") or {})
        endpoint = f"{ctx.base_url}/webhooks/zendesk/{ctx.name}"
        webhook_id, webhook_action = _provision_webhook(client, f"License Exception Connector: {ctx.name}", endpoint)
        secret = client.webhook_signing_secret(webhook_id)
        triggers = _provision_triggers(client, ctx.name, webhook_id, selections(ctx, settings))
    except ZendeskError as exc:
        raise as_source_error(exc) from exc
    return Provisioned(
        settings={"field_ids": field_ids, "webhook_id": webhook_id, "trigger_ids": [int(t["id"]) for t in triggers]},
        secrets={"webhook_secret": secret},
        summary={"fields": field_report, "webhook": {"id": webhook_id, "endpoint": endpoint, "action": webhook_action},
                 "triggers": triggers},
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
