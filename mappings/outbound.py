"""Outbound mapping: a request's public view (SPEC §7.4) -> source field values to write back.

Values are shaped for CRM fields: dates as `YYYY-MM-DD`, numbers as numbers, text on one line where the
target is a one-line summary, and None for anything missing so the source field is cleared rather than left
showing a stale value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from mappings.document import MappingDocument
from mappings.paths import PLACEHOLDER, compile_reader

_WHITESPACE: Final = re.compile(r"\s+")

#: Outbound paths that hold dates (written as `YYYY-MM-DD`).
DATE_PATHS: Final[frozenset[str]] = frozenset({"entitlement.effective_from", "entitlement.expires_at"})


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def iso_date(value: Any) -> str | None:
    """`YYYY-MM-DD` from a date, a datetime or ISO text; None when it is not a date."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10]).isoformat() if len(text) >= 10 else None
        except ValueError:
            return None
    return None


def _format(value: Any) -> str:
    """A governance value as readable text for summaries."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return _one_line(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{_format(k)}: {text}" for k, v in value.items() if (text := _format(v)))
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(text for v in value if (text := _format(v)))
    return _one_line(str(value))


def summarize_grants(entitlement: Mapping[str, Any] | None) -> str:
    """The granted boundaries as one line, e.g.
    `seats: 105; regions: EMEA, APAC; term_end: 2027-06-30; valid 2026-12-01 to 2027-11-30`.

    Grants appear in the order the decision listed them, then the validity window and any conditions;
    an empty string when there is no entitlement.
    """
    if not isinstance(entitlement, Mapping):
        return ""
    parts: list[str] = []
    grants = entitlement.get("grants")
    if isinstance(grants, Mapping):
        for key, value in grants.items():
            text = _format(value)
            if text:
                parts.append(f"{_format(key)}: {text}")
    effective = _date_text(entitlement.get("effective_from"))
    expires = _date_text(entitlement.get("expires_at"))
    if effective and expires:
        parts.append(f"valid {effective} to {expires}")
    elif expires:
        parts.append(f"valid until {expires}")
    elif effective:
        parts.append(f"valid from {effective}")
    conditions = _format(entitlement.get("conditions"))
    if conditions:
        parts.append(f"conditions: {conditions}")
    return "; ".join(parts)


def _date_text(value: Any) -> str:
    return iso_date(value) or _format(value)


def summarize_intake(intake: Mapping[str, Any] | None) -> str:
    """What is missing, invalid or conflicting as text for the rep or agent; empty when intake is complete.

    e.g. `Missing: customer.name, use_case. Invalid: requester.email (Not a valid email address.).
    Conflicts: seats_not_increased (Requested seats are not above the baseline.)`
    """
    if not isinstance(intake, Mapping):
        return ""
    sections: list[str] = []
    missing = intake.get("missing")
    if isinstance(missing, list | tuple) and missing:
        names = [text for m in missing if (text := _format(m))]
        if names:
            sections.append("Missing: " + ", ".join(names))
    invalid = [f"{name} ({message})" if message else name for name, message in _error_items(intake.get("errors"))]
    if invalid:
        sections.append("Invalid: " + "; ".join(invalid))
    conflicts = [
        f"{code} ({message})" if message and code else code or message
        for code, message in _conflict_items(intake.get("conflicts"))
    ]
    if conflicts:
        sections.append("Conflicts: " + "; ".join(conflicts))
    return ". ".join(sections)


def _error_items(errors: Any) -> list[tuple[str, str]]:
    """Intake errors as (field, message) from {field: message}, {field: [messages]} or [{field, message}]."""
    items: list[tuple[str, str]] = []
    if isinstance(errors, Mapping):
        for name, message in errors.items():
            text = " ".join(_format(m) for m in message) if isinstance(message, list) else _format(message)
            items.append((_format(name), text))
    elif isinstance(errors, list):
        for entry in errors:
            if isinstance(entry, Mapping):
                items.append((_format(entry.get("field")), _format(entry.get("message"))))
    return [(name, message) for name, message in items if name or message]


def _conflict_items(conflicts: Any) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    if isinstance(conflicts, list | tuple):
        for entry in conflicts:
            if isinstance(entry, Mapping):
                items.append((_format(entry.get("code")), _format(entry.get("message"))))
            elif (text := _format(entry)) != "":
                items.append((text, ""))
    return [(code, message) for code, message in items if code or message]


def _field_value(value: Any) -> Any:
    """A view value as a CRM field value: numbers stay numbers, missing becomes None (clears the field)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = _format(value) if not isinstance(value, str) else value
    return text if text.strip() else None


#: an outbound path computed from the whole view (and the mapping itself) rather than read from one place
Computed = Callable[[MappingDocument, Mapping[str, Any]], Any]


def fields_to_fill(doc: MappingDocument, intake: Mapping[str, Any] | None) -> str:
    """The source fields a rep or agent should fill or correct, e.g. `Use_Case__c, Account__r.Name`.

    Intake names governance fields (missing, invalid, in conflict); the connection's own inbound mapping says
    which source field each is read from, so the CRM side can point at the field to fill rather than at a
    governance name its users never see. A group such as `requested_terms` stands for every rule under it.
    Governance fields no rule reads are left out: there is nothing on the record to fill for them.
    """
    sources: list[str] = []
    for path in _named_fields(intake):
        for governance, rule in doc.inbound.items():
            if (governance == path or governance.startswith(path + ".")) and rule.source \
                    and rule.source not in sources:
                sources.append(rule.source)
    return ", ".join(sources)


def _named_fields(intake: Mapping[str, Any] | None) -> list[str]:
    """The governance fields intake names: missing, then invalid, then those of each conflict."""
    if not isinstance(intake, Mapping):
        return []
    named: list[str] = [text for m in intake.get("missing") or () if (text := _format(m))]
    named += [name for name, _ in _error_items(intake.get("errors"))]
    for conflict in intake.get("conflicts") or ():
        if isinstance(conflict, Mapping):
            named += [_format(f) for f in conflict.get("fields") or ()]
    return named


def _computed(function: Callable[[Mapping[str, Any] | None], str], key: str) -> Computed:
    def read(doc: MappingDocument, view: Mapping[str, Any]) -> Any:
        return function(view.get(key)) or None

    return read


def _fields_to_fill(doc: MappingDocument, view: Mapping[str, Any]) -> Any:
    return fields_to_fill(doc, view.get("intake")) or None


_COMPUTED: Final[dict[str, Computed]] = {
    "entitlement.grants_summary": _computed(summarize_grants, "entitlement"),
    "intake.summary": _computed(summarize_intake, "intake"),
    "intake.missing_fields": _fields_to_fill,
}


def apply_outbound(doc: MappingDocument, view: Mapping[str, Any]) -> dict[str, Any]:
    """Source field -> value for each outbound rule of the document.

    Keys still holding an unresolved placeholder are left out (there is no field to write to). For Zendesk
    the keys are `custom_fields.<id>`; `zendesk_custom_fields` turns them into the API's list form.
    """
    if not isinstance(view, Mapping):
        view = {}
    out: dict[str, Any] = {}
    for key, path in doc.outbound.items():
        if PLACEHOLDER.search(key):
            continue
        try:
            computed = _COMPUTED.get(path)
            if computed is not None:
                out[key] = computed(doc, view)
            elif path in DATE_PATHS:
                out[key] = iso_date(compile_reader(path)(view))
            else:
                out[key] = _field_value(compile_reader(path)(view))
        except Exception:  # a malformed view must not block the other fields' write-back
            out[key] = None
    return out


def zendesk_custom_fields(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`{"custom_fields.123": v}` -> `[{"id": 123, "value": v}]`, the Zendesk ticket update form."""
    fields: list[dict[str, Any]] = []
    for key, value in values.items():
        prefix, _, field_id = key.partition(".")
        if prefix == "custom_fields" and field_id.isdigit():
            fields.append({"id": int(field_id), "value": value})
    return fields
