"""The governance policy (SPEC §2.5): one versioned YAML document, validated before it takes effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from importlib import resources
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from connector.governance.communications import check_templates
from connector.governance.errors import InvalidInput
from connector.governance.fields import GOVERNANCE_FIELDS
from connector.governance.outcomes import OutcomeSchema
from connector.governance.paths import flatten_errors
from mappings.storable import unstorable
from mappings.yaml_text import LOAD_ERRORS, unsafe_yaml, yaml_error

DIMENSIONS = ("commercial", "legal", "technical", "reputational")
BANDS = ("low", "medium", "high", "critical")
COMMITTEE_ROLES = ("licensing", "legal", "product", "sales", "security")
TRACKS = ("fast", "standard")
OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "present", "contains_any")
DERIVED_FIELDS = (
    "revenue_base",
    "duration_days",
    "seat_increase",
    "seat_increase_ratio",
    "requested_keys",
    "new_regions",
    "new_environments",
    "new_features",
)
GROUP_FIELDS = ("customer", "requester", "baseline_terms", "requested_terms", "revenue_impact")
REQUIRABLE = tuple(GOVERNANCE_FIELDS) + GROUP_FIELDS
RULE_FIELDS = tuple(GOVERNANCE_FIELDS) + DERIVED_FIELDS


def _one_of(choices: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(choices, error="Must be one of: {choices}.")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ConditionSchema(_Strict):
    field = fields.String(required=True, validate=_one_of(RULE_FIELDS))
    op = fields.String(required=True, validate=_one_of(OPERATORS))
    value = fields.Raw(allow_none=True)

    @validates_schema
    def _value_fits_op(self, data: dict[str, Any], **_: Any) -> None:
        op, value = data.get("op"), data.get("value")
        if op in ("in", "not_in", "contains_any") and not isinstance(value, list):
            raise ValidationError(f"'{op}' needs a list value.", "value")
        if op in ("gt", "gte", "lt", "lte") and not isinstance(value, (int, float)):
            raise ValidationError(f"'{op}' needs a number.", "value")
        if op in ("eq", "ne") and "value" not in data:
            raise ValidationError(f"'{op}' needs a value.", "value")


class RuleSchema(_Strict):
    dimension = fields.String(required=True, validate=_one_of(DIMENSIONS))
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=-5, max=5))
    when = fields.Nested(ConditionSchema, required=True)
    because = fields.String(required=True, validate=validate.Length(min=1, max=300))


class RiskSchema(_Strict):
    weights = fields.Dict(keys=fields.String(validate=_one_of(DIMENSIONS)),
                          values=fields.Float(validate=validate.Range(min=0)), required=True)
    bands = fields.Dict(keys=fields.String(validate=_one_of(BANDS)),
                        values=fields.Float(validate=validate.Range(min=0, max=5)), required=True)
    rules = fields.List(fields.Nested(RuleSchema), required=True)

    @validates_schema
    def _complete(self, data: dict[str, Any], **_: Any) -> None:
        weights, bands = data.get("weights") or {}, data.get("bands") or {}
        if set(weights) != set(DIMENSIONS) or sum(weights.values()) <= 0:
            raise ValidationError("Give a weight for each of commercial, legal, technical, reputational.",
                                  "weights")
        if set(bands) != set(BANDS):
            raise ValidationError("Give a lower bound for each of low, medium, high, critical.", "bands")
        bounds = [bands[b] for b in BANDS]
        if bounds[0] != 0 or bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValidationError("Band bounds must start at 0 for low and rise strictly to critical.", "bands")


class FastTrackSchema(_Strict):
    categories = fields.List(fields.String(), required=True)
    max_revenue_impact = fields.Float(required=True, validate=validate.Range(min=0))
    max_user_base = fields.Integer(required=True, validate=validate.Range(min=0))
    data_sensitivity = fields.List(fields.String(validate=_one_of(("public", "internal", "confidential",
                                                                   "regulated"))), required=True)
    max_duration_days = fields.Integer(required=True, validate=validate.Range(min=1))


class CommitteeSchema(_Strict):
    roles = fields.List(fields.String(validate=_one_of(COMMITTEE_ROLES)), required=True,
                        validate=validate.Length(min=1))
    chair = fields.String(required=True, validate=_one_of(COMMITTEE_ROLES))
    required_by_band = fields.Dict(keys=fields.String(validate=_one_of(BANDS)),
                                   values=fields.List(fields.String(validate=_one_of(COMMITTEE_ROLES)),
                                                      validate=validate.Length(min=1)),
                                   required=True)

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        roles = set(data.get("roles") or ())
        if data.get("chair") not in roles:
            raise ValidationError("The chair must be one of the committee roles.", "chair")
        by_band = data.get("required_by_band") or {}
        missing = [b for b in BANDS if b not in by_band]
        if missing:
            raise ValidationError(f"Name the required roles for: {', '.join(missing)}.", "required_by_band")
        for band, required in by_band.items():
            unknown = set(required) - roles
            if unknown:
                raise ValidationError(f"{band}: {', '.join(sorted(unknown))} not in the committee roles.",
                                      "required_by_band")


class TrackSlaSchema(_Strict):
    business_days = fields.Float(required=True, validate=validate.Range(min=0.1, max=365))


class SlaSchema(_Strict):
    fast = fields.Nested(TrackSlaSchema, required=True)
    standard = fields.Nested(TrackSlaSchema, required=True)
    reminder_fraction = fields.Float(required=True, validate=validate.Range(min=0.05, max=0.95))
    escalation_contact = fields.String(required=True, validate=validate.Length(min=1))
    holidays = fields.List(fields.Date(), load_default=list)


class ExceptionsSchema(_Strict):
    max_duration_days = fields.Integer(required=True, validate=validate.Range(min=1, max=3650))
    default_notice_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))


class ReviewSchema(_Strict):
    """The periodic policy review: how often the worker opens one, who records findings and closes it (committee
    roles), and how many identical approvals make terms a candidate for a standard outcome."""

    cadence_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=3650))
    owners = fields.List(fields.String(validate=_one_of(COMMITTEE_ROLES)), required=True,
                         validate=validate.Length(min=1))
    standard_terms_min_approvals = fields.Integer(load_default=3, strict=True, validate=validate.Range(min=2,
                                                                                                      max=1000))


#: a stored policy written before reviews existed reviews quarterly, owned by the chair's usual role
DEFAULT_REVIEW = {"cadence_days": 90, "owners": ["licensing"], "standard_terms_min_approvals": 3}


def _shipped_template(name: str) -> Any:
    """The shipped wording of a template a policy stored before the template existed leaves out."""
    return lambda: str(yaml.safe_load(default_policy_text())["templates"][name])


class TemplatesSchema(_Strict):
    customer_summary = fields.String(required=True, validate=validate.Length(min=1))
    internal_note = fields.String(required=True, validate=validate.Length(min=1))
    needs_info_notice = fields.String(load_default=_shipped_template("needs_info_notice"),
                                      validate=validate.Length(min=1))
    ending_reply = fields.String(load_default=_shipped_template("ending_reply"), validate=validate.Length(min=1))
    ending_note = fields.String(load_default=_shipped_template("ending_note"), validate=validate.Length(min=1))


#: where committee notifications go (``connector.notifications``)
NOTIFICATION_CHANNELS = ("email", "slack", "teams")


class NotificationsSchema(_Strict):
    #: channels whose messages leave the organisation's control: they never carry internal notes or rationales
    external_channels = fields.List(fields.String(validate=_one_of(NOTIFICATION_CHANNELS)), load_default=list)


class PolicySchema(_Strict):
    version_note = fields.String(load_default="")
    categories = fields.List(fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,63}$",
                                                                    error="Use snake_case names.")),
                             required=True, validate=validate.Length(min=1))
    required_fields = fields.List(fields.String(validate=_one_of(REQUIRABLE)), required=True)
    base_currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    fx_rates = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[A-Z]{3}$")),
                           values=fields.Float(validate=validate.Range(min=0, min_inclusive=False)),
                           load_default=dict)
    fast_track = fields.Nested(FastTrackSchema, required=True)
    risk = fields.Nested(RiskSchema, required=True)
    committee = fields.Nested(CommitteeSchema, required=True)
    sla = fields.Nested(SlaSchema, required=True)
    exceptions = fields.Nested(ExceptionsSchema, required=True)
    templates = fields.Nested(TemplatesSchema, required=True)
    #: category -> its predefined outcome (``connector.governance.outcomes``); optional per category
    outcomes = fields.Dict(keys=fields.String(), values=fields.Nested(OutcomeSchema), load_default=dict)
    review = fields.Nested(ReviewSchema, load_default=lambda: dict(DEFAULT_REVIEW))
    notifications = fields.Nested(NotificationsSchema, load_default=lambda: {"external_channels": []})

    @validates_schema
    def _cross_checks(self, data: dict[str, Any], **_: Any) -> None:
        cats = data.get("categories") or []
        if len(set(cats)) != len(cats):
            raise ValidationError("Categories must be unique.", "categories")
        stray = set(data.get("outcomes") or {}) - set(cats)
        if stray:
            raise ValidationError({"outcomes": [f"Outcomes for unknown categories: {', '.join(sorted(stray))}."]})
        fast = data.get("fast_track") or {}
        unknown = set(fast.get("categories") or ()) - set(cats)
        if unknown:
            raise ValidationError(
                {"fast_track": {"categories": [f"Unknown categories: {', '.join(sorted(unknown))}."]}}
            )

    @validates_schema
    def _review_owners_sit_on_the_committee(self, data: dict[str, Any], **_: Any) -> None:
        owners = set((data.get("review") or {}).get("owners") or ())
        stray = owners - set((data.get("committee") or {}).get("roles") or ())
        if stray:
            raise ValidationError({"review": {"owners": [f"Not committee roles: {', '.join(sorted(stray))}."]}})


@dataclass(frozen=True)
class Policy:
    """A validated policy document (``document`` keeps the admin's YAML text as written)."""

    data: dict[str, Any]
    document: str
    version: int = 0

    @property
    def categories(self) -> list[str]:
        return list(self.data["categories"])

    @property
    def required_fields(self) -> list[str]:
        return list(self.data["required_fields"])

    @property
    def chair(self) -> str:
        return str(self.data["committee"]["chair"])

    @property
    def committee_roles(self) -> list[str]:
        return list(self.data["committee"]["roles"])

    @property
    def max_duration_days(self) -> int:
        return int(self.data["exceptions"]["max_duration_days"])

    @property
    def default_notice_days(self) -> int:
        return int(self.data["exceptions"]["default_notice_days"])

    @property
    def sla(self) -> dict[str, Any]:
        return dict(self.data["sla"])

    @property
    def holidays(self) -> list[date]:
        return list(self.data["sla"].get("holidays") or [])

    @property
    def templates(self) -> dict[str, str]:
        return dict(self.data["templates"])

    @property
    def review(self) -> dict[str, Any]:
        """``cadence_days``, ``owners`` (committee roles) and ``standard_terms_min_approvals``."""
        return dict(self.data.get("review") or DEFAULT_REVIEW)

    def outcome(self, category: str | None) -> dict[str, Any] | None:
        """The category's predefined outcome, or None when the policy defines none for it."""
        found = (self.data.get("outcomes") or {}).get(category or "")
        return dict(found) if found is not None else None

    @property
    def external_channels(self) -> frozenset[str]:
        """Notification channels the policy marks external (no internal notes go there)."""
        return frozenset((self.data.get("notifications") or {}).get("external_channels") or ())

    def required_roles(self, track: str | None, band: str | None) -> list[str]:
        """Fast track needs only the chair; otherwise the roles the policy names for the band."""
        if track == "fast":
            return [self.chair]
        return list(self.data["committee"]["required_by_band"][band or "critical"])

    def to_base_currency(self, amount: Decimal | None, currency: str | None) -> Decimal | None:
        if amount is None:
            return None
        if currency is None or currency == self.data["base_currency"]:
            return amount
        rate = (self.data.get("fx_rates") or {}).get(currency)
        return None if rate is None else amount * Decimal(str(rate))

    @cached_property
    def compiled_rules(self) -> list[dict[str, Any]]:
        return list(self.data["risk"]["rules"])

    @cached_property
    def required_paths(self) -> tuple[str, ...]:
        """``required_fields`` read once (intake checks them for every synced record)."""
        return tuple(self.data["required_fields"])

    @cached_property
    def category_set(self) -> frozenset[str]:
        return frozenset(self.data["categories"])

    @cached_property
    def risk_scale(self) -> tuple[tuple[tuple[str, Any], ...], Any, tuple[tuple[str, Any], ...]]:
        """The risk weights (in dimension order), their total and the bands (highest first), read once."""
        weights, bands = self.data["risk"]["weights"], self.data["risk"]["bands"]
        return (tuple((d, weights[d]) for d in DIMENSIONS), sum(weights.values()),
                tuple((b, bands[b]) for b in reversed(BANDS)))


def _refuse_unstorable(raw: dict[str, Any]) -> None:
    """YAML escapes can spell what no column holds (``"\\ud800"``, ``"\\0"``): refused here, by path, before a
    template renders it into a decision the database cannot store."""
    fields_: dict[str, list[str]] = {}
    for path, message in unstorable(raw):
        fields_.setdefault(path, []).append(message)
    if fields_:
        raise InvalidInput("policy_invalid", f"The policy has {len(fields_)} value(s) that cannot be stored; nothing "
                           f"was changed: {', '.join(sorted(fields_))}.", {"fields": fields_})


def parse_policy(document: str | dict[str, Any], version: int = 0) -> Policy:
    """Parse and validate; raises ``InvalidInput`` naming every bad field (dotted paths)."""
    if isinstance(document, str):
        text = document
        problem = unsafe_yaml(document)
        if problem is not None:
            raise InvalidInput(problem.code, f"{problem.message} Nothing was changed.",
                               {"fields": {"document": [problem.message]}})
        try:
            raw = yaml.safe_load(document)
        except LOAD_ERRORS as exc:
            raise InvalidInput("policy_not_yaml", yaml_error(exc, "The policy")) from exc
    else:
        raw = document
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if not isinstance(raw, dict):
        raise InvalidInput("policy_invalid", "The policy must be a YAML mapping.")
    _refuse_unstorable(raw)
    try:
        data = PolicySchema().load(raw)
    except ValidationError as exc:
        fields_ = flatten_errors(exc.messages)
        raise InvalidInput(
            "policy_invalid",
            f"The policy has {len(fields_)} problem(s); nothing was changed.",
            {"fields": fields_},
        ) from exc
    policy = Policy(data=data, document=text, version=version)
    template_errors = check_templates(policy)
    if template_errors:
        raise InvalidInput(
            "policy_invalid",
            "A communication template does not render; nothing was changed.",
            {"fields": {f"templates.{k}": [v] for k, v in template_errors.items()}},
        )
    return policy


def default_policy_text() -> str:
    return resources.files("connector.governance").joinpath("default_policy.yaml").read_text("utf-8")


def default_policy() -> Policy:
    return parse_policy(default_policy_text(), version=1)
