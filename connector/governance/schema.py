"""The governance schema of SPEC §2.1 as marshmallow schemas.

Every field is optional here: completeness is intake's job (a missing field makes a request ``needs_info``),
while a value of the wrong type or format is refused outright. ``dump`` gives the JSON-safe stored form
(ISO dates, decimals as strings); ``load`` gives typed values (``date``, ``Decimal``).
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from connector.governance.fields import DATA_SENSITIVITY
from connector.governance.paths import flatten_errors

_list = fields.List
#: The largest whole number stored (a signed 64-bit column or JSON integer): larger values are refused, not lost.
MAX_WHOLE = 2**63 - 1
#: The largest amount or price accepted: far beyond any real deal, small enough to stay exact everywhere.
MAX_AMOUNT = 10**15


class WholeNumber(fields.Integer):
    """An integer that also accepts ``105.0`` (how Salesforce sends numbers) but never truncates ``105.5``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
                value = int(text.split(".")[0])
        if not isinstance(value, int):
            raise self.make_error("invalid")
        if abs(value) > MAX_WHOLE:
            raise ValidationError(f"Must be at most {MAX_WHOLE}.")
        return super()._deserialize(value, attr, data, **kwargs)


def _string_list() -> fields.List:
    return _list(fields.String(validate=validate.Length(min=1, max=200)), allow_none=True)


class TermsSchema(Schema):
    class Meta:
        unknown = RAISE

    seats = WholeNumber(validate=validate.Range(min=0), allow_none=True)
    term_end = fields.Date(allow_none=True)
    environments = _string_list()
    regions = _string_list()
    features = _string_list()
    usage_rights = _string_list()
    price = fields.Decimal(as_string=True, validate=validate.Range(min=0, max=MAX_AMOUNT), allow_none=True)
    other = fields.String(validate=validate.Length(max=10000), allow_none=True)


class CustomerSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(max=255), allow_none=True)
    account_id = fields.String(validate=validate.Length(max=255), allow_none=True)
    segment = fields.String(validate=validate.Length(max=100), allow_none=True)


class RequesterSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(max=255), allow_none=True)
    email = fields.Email(allow_none=True)
    team = fields.String(validate=validate.Length(max=255), allow_none=True)


class RevenueImpactSchema(Schema):
    class Meta:
        unknown = RAISE

    amount = fields.Decimal(as_string=True, validate=validate.Range(min=0, max=MAX_AMOUNT), allow_none=True)
    currency = fields.String(
        validate=validate.Regexp(r"^[A-Z]{3}$", error="Use a three-letter ISO 4217 code such as USD."),
        allow_none=True,
    )


class RequestFieldsSchema(Schema):
    """The governance fields of one exception request."""

    class Meta:
        unknown = RAISE
        ordered = True

    title = fields.String(validate=validate.Length(max=255), allow_none=True)
    category = fields.String(validate=validate.Length(max=64), allow_none=True)
    customer = fields.Nested(CustomerSchema, allow_none=True)
    requester = fields.Nested(RequesterSchema, allow_none=True)
    baseline_terms = fields.Nested(TermsSchema, allow_none=True)
    requested_terms = fields.Nested(TermsSchema, allow_none=True)
    use_case = fields.String(validate=validate.Length(max=20000), allow_none=True)
    justification = fields.String(validate=validate.Length(max=20000), allow_none=True)
    risk_exposure = fields.String(validate=validate.Length(max=20000), allow_none=True)
    adjacent_features = _string_list()
    revenue_impact = fields.Nested(RevenueImpactSchema, allow_none=True)
    data_sensitivity = fields.String(validate=validate.OneOf(DATA_SENSITIVITY), allow_none=True)
    user_base = WholeNumber(validate=validate.Range(min=0), allow_none=True)
    deployment_scale = WholeNumber(validate=validate.Range(min=0), allow_none=True)
    requested_start = fields.Date(allow_none=True)
    requested_end = fields.Date(allow_none=True)


FIELD_NAMES = tuple(RequestFieldsSchema().fields)
_schema = RequestFieldsSchema()
_terms = TermsSchema()


def load_fields(data: dict[str, Any]) -> dict[str, Any]:
    """JSON (API body or stored form) → typed values. Raises ``ValidationError`` naming each field."""
    return _schema.load(data)


def dump_fields(typed: dict[str, Any]) -> dict[str, Any]:
    """Typed values → the JSON-safe stored form, without empty values."""
    return _prune(_schema.dump(typed))


def load_terms(data: dict[str, Any] | None) -> dict[str, Any]:
    return _terms.load(data or {})


def dump_terms(typed: dict[str, Any] | None) -> dict[str, Any]:
    return _prune(_terms.dump(typed or {}))


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v is not None and v != {} and v != []}
    return value


def load_lenient(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values for whatever is valid, plus one message per invalid dotted path.

    Used for records from a source: a bad value must not lose the record, it makes it ``needs_info``.
    """
    try:
        return load_fields(data), {}
    except ValidationError as exc:
        errors = {path: " ".join(msgs) for path, msgs in flatten_errors(exc.messages).items()}
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return valid, errors
