"""Request bodies and query arguments of the API (marshmallow; the OpenAPI document is built from these)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from connector.governance.policy import BANDS, COMMITTEE_ROLES, DIMENSIONS
from connector.governance.review import OUTCOMES, VOTE_CHOICES
from connector.governance.schema import RequestFieldsSchema
from connector.governance.states import STATES


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` only: marshmallow's Boolean also takes ``1``, ``"yes"``, ``"on"``…, which a JSON
    body never needs and the document (``type: boolean``) does not promise."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def required_text() -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=20000))


class RequestCreateSchema(RequestFieldsSchema):
    """The governance fields (SPEC §2.1) plus an optional external id that makes the call idempotent."""

    external_id = fields.String(validate=validate.Length(min=1, max=255), load_default=None)
    external_url = fields.Url(load_default=None, require_tld=False)


class RequestListArgs(Schema):
    state = fields.String(validate=validate.OneOf(STATES))
    track = fields.String(validate=validate.OneOf(("fast", "standard")))
    band = fields.String(validate=validate.OneOf(BANDS))
    category = fields.String()
    source = fields.String(validate=validate.OneOf(("salesforce", "zendesk", "api")))
    connection = fields.String()
    overdue = fields.Boolean()
    after = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class _Body(Schema):
    class Meta:
        unknown = RAISE


class VoteSchema(_Body):
    role = fields.String(required=True, validate=validate.OneOf(COMMITTEE_ROLES))
    vote = fields.String(required=True, validate=validate.OneOf(VOTE_CHOICES))
    rationale = fields.String(load_default=None, validate=validate.Length(max=20000))


class DecisionSchema(_Body):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    rationale = required_text()
    entitlement = fields.Dict(load_default=None, allow_none=True,
                              metadata={"description": "grants, effective_from, expires_at, conditions, renewal, "
                                                       "success_metrics; required for approvals (unless "
                                                       "`use_predefined_outcome`)"})
    use_predefined_outcome = fields.Boolean(load_default=False, metadata={
        "description": "Start an approval from the category's predefined outcome (`GET …/decision/prefill`): "
                       "each key of `entitlement` given replaces the predefined one. A decision that departs from "
                       "the predefined outcome is recorded as bespoke, with its departures."})


class AmendSchema(_Body):
    rationale = required_text()
    entitlement = fields.Dict(required=True)


class RenewSchema(_Body):
    rationale = required_text()
    expires_at = fields.Date(required=True)


class RevokeSchema(_Body):
    reason = required_text()
    effective = fields.Date(load_default=None)


class DisputeSchema(_Body):
    reason = required_text()


class WithdrawSchema(_Body):
    reason = required_text()


class RiskOverrideSchema(_Body):
    dimension = fields.String(required=True, validate=validate.OneOf(DIMENSIONS))
    value = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=5))
    rationale = required_text()


class PrecedentArgs(Schema):
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))


class PeriodArgs(Schema):
    period = fields.String(load_default="month", validate=validate.OneOf(("week", "month", "quarter", "year")))
