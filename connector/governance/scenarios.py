"""Change-impact scenarios: a change to the product or its ecosystem, checked against the exceptions granted and
asked for.

A scenario is a small typed document — a feature removed or renamed, a region or an environment type withdrawn, a
version reaching end of life, a third-party integration changing, a list price change — with the date it takes
effect. ``impacts`` finds each open request and active exception it touches, says which requested or granted term
it hits and why, and suggests what to do: amend the exception, renew it on new terms, revoke it, or tell the
customer. Matching is on the governance terms (case-insensitive), never on free text alone, except for versions
and integrations, which the terms have no field for: those are looked for in the text of the other terms, the use
case and the conditions, and reported as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from connector.governance.errors import InvalidInput
from connector.governance.paths import flatten_errors

KINDS = ("feature_removed", "feature_renamed", "region_withdrawn", "environment_withdrawn", "version_end_of_life",
         "integration_changed", "price_change")
#: kind -> the document fields it needs
NEEDS: dict[str, tuple[str, ...]] = {
    "feature_removed": ("feature",), "feature_renamed": ("feature", "renamed_to"), "region_withdrawn": ("region",),
    "environment_withdrawn": ("environment",), "version_end_of_life": ("version",),
    "integration_changed": ("integration",), "price_change": ("new_list_price",),
}
SUGGESTIONS = ("amend", "renew", "revoke", "notify")


class ScenarioSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    effective = fields.Date(required=True)
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    feature = fields.String(validate=validate.Length(min=1, max=200))
    renamed_to = fields.String(validate=validate.Length(min=1, max=200))
    region = fields.String(validate=validate.Length(min=1, max=200))
    environment = fields.String(validate=validate.Length(min=1, max=200))
    version = fields.String(validate=validate.Length(min=1, max=100))
    integration = fields.String(validate=validate.Length(min=1, max=200))
    new_list_price = fields.Decimal(as_string=True, validate=validate.Range(min=0))

    @validates_schema
    def _what_the_kind_needs(self, data: dict[str, Any], **_: Any) -> None:
        missing = [name for name in NEEDS.get(data.get("kind", ""), ()) if data.get(name) in (None, "")]
        if missing:
            raise ValidationError({name: [f"Required for a {data['kind']} scenario."] for name in missing})


def load_scenario(document: Mapping[str, Any]) -> dict[str, Any]:
    """A validated scenario; ``InvalidInput`` names every bad field."""
    try:
        return dict(ScenarioSchema().load(dict(document)))
    except ValidationError as exc:
        raise InvalidInput("invalid_scenario", "The scenario is not valid.",
                           {"fields": flatten_errors(exc.messages)}) from exc


@dataclass(frozen=True)
class Subject:
    """An open request or an active exception, as scenarios read it."""

    request_id: str
    key: str
    state: str
    requested: Mapping[str, Any]
    granted: Mapping[str, Any] | None = None  # the current entitlement's grants, if any is in force
    expires_at: date | None = None
    text: str = ""  # use case, other terms, conditions: where versions and integrations are named


@dataclass(frozen=True)
class Impact:
    subject: Subject
    hits: tuple[str, ...]
    why: str
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.subject.request_id, "key": self.subject.key, "state": self.subject.state,
                "hits": list(self.hits), "why": self.why, "suggestion": self.suggestion}


def _has(values: Any, wanted: str) -> bool:
    return any(str(v).strip().lower() == wanted.strip().lower() for v in values or ())


def _term_hits(subject: Subject, term: str, wanted: str) -> list[str]:
    hits = []
    if subject.granted is not None and _has(subject.granted.get(term), wanted):
        hits.append(f"granted {term}")
    if _has(subject.requested.get(term), wanted):
        hits.append(f"requested {term}")
    return hits


def impacts(scenario: Mapping[str, Any], subjects: Iterable[Subject]) -> list[Impact]:
    """Every subject the scenario touches, with what it hits and the suggested action."""
    found = []
    for subject in subjects:
        impact = _impact(scenario, subject)
        if impact is not None:
            found.append(impact)
    return found


def _impact(scenario: Mapping[str, Any], subject: Subject) -> Impact | None:
    granted = subject.granted is not None
    lasts = subject.expires_at is None or subject.expires_at >= scenario["effective"]
    if scenario["kind"] in ("feature_removed", "feature_renamed"):
        return _feature_impact(scenario, subject, granted, lasts)
    if scenario["kind"] in ("region_withdrawn", "environment_withdrawn"):
        return _scope_impact(scenario, subject, granted, lasts)
    return _textual_impact(scenario, subject, granted, lasts)


def _feature_impact(scenario: Mapping[str, Any], subject: Subject, granted: bool, lasts: bool) -> Impact | None:
    hits = _term_hits(subject, "features", scenario["feature"])
    if not hits:
        return None
    effective = scenario["effective"]
    if scenario["kind"] == "feature_renamed":
        return Impact(subject, tuple(hits), f"feature {scenario['feature']} becomes {scenario['renamed_to']} on "
                      f"{effective}", "amend" if granted else "notify")
    why = f"feature {scenario['feature']} is removed on {effective}"
    return Impact(subject, tuple(hits), why, "amend" if granted and lasts else "notify")


def _scope_impact(scenario: Mapping[str, Any], subject: Subject, granted: bool, lasts: bool) -> Impact | None:
    term, name = ("regions", "region") if scenario["kind"] == "region_withdrawn" else ("environments", "environment")
    hits = _term_hits(subject, term, scenario[name])
    if not hits:
        return None
    only = subject.granted is not None and len(subject.granted.get(term) or ()) == 1
    why = f"{name} {scenario[name]} is withdrawn on {scenario['effective']}"
    return Impact(subject, tuple(hits), why, ("revoke" if only else "amend") if granted and lasts else "notify")


def _textual_impact(scenario: Mapping[str, Any], subject: Subject, granted: bool, lasts: bool) -> Impact | None:
    kind, effective = scenario["kind"], scenario["effective"]
    if kind == "price_change":
        price = (subject.granted or {}).get("price") if granted else subject.requested.get("price")
        if price is None:
            return None
        why = f"the list price becomes {scenario['new_list_price']} on {effective}; the exception's price is {price}"
        return Impact(subject, ("granted price" if granted else "requested price",), why,
                      "renew" if granted and lasts else "notify")
    needle = str(scenario.get("version") or scenario.get("integration") or "").strip().lower()
    if not needle or needle not in subject.text.lower():
        return None
    if kind == "version_end_of_life":
        why = f"version {scenario['version']} reaches end of life on {effective}"
        return Impact(subject, ("named in the terms or use case",), why, "renew" if granted and lasts else "notify")
    why = f"integration {scenario['integration']} changes on {effective}"
    return Impact(subject, ("named in the terms or use case",), why, "notify")


def dump_scenario(scenario: Mapping[str, Any]) -> dict[str, Any]:
    """A validated scenario in its JSON form (ISO dates, decimals as text): what is stored and shown."""
    return {k: v for k, v in ScenarioSchema().dump(dict(scenario)).items() if v not in (None, "")}


def _without(values: Iterable[Any], wanted: str) -> list[Any]:
    return [v for v in values if str(v).strip().lower() != wanted.strip().lower()]


def amended_grants(scenario: Mapping[str, Any], grants: Mapping[str, Any]) -> dict[str, Any]:
    """The grants an amendment prefilled from this scenario proposes: the removed feature, region or environment
    taken out, a renamed feature renamed; other kinds leave the terms for the chair to set."""
    out = {k: list(v) if isinstance(v, list) else v for k, v in grants.items()}
    kind = scenario["kind"]
    term, wanted = {"feature_removed": ("features", "feature"), "feature_renamed": ("features", "feature"),
                    "region_withdrawn": ("regions", "region"),
                    "environment_withdrawn": ("environments", "environment")}.get(kind, ("", ""))
    if not term or term not in out:
        return out
    kept = _without(out[term], scenario[wanted])
    if kind == "feature_renamed" and len(kept) < len(out[term]):
        kept.append(scenario["renamed_to"])
    if kept:
        out[term] = kept
    else:
        del out[term]
    return out


__all__ = ["KINDS", "SUGGESTIONS", "Impact", "ScenarioSchema", "Subject", "amended_grants", "dump_scenario",
           "impacts", "load_scenario"]
