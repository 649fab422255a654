"""Fast validation of mapped source records (the sync hot path), equivalent to the governance schema.

The mapping engine already coerced each value to its catalogue type; this checks what the marshmallow schema
would (lengths, ranges, formats, enums) without its per-record overhead, and gives the stored JSON form.
Values that fail are dropped from the fields and reported by dotted path, so the record becomes ``needs_info``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError
from marshmallow.validate import Email

from connector.governance.fields import DATA_SENSITIVITY, GOVERNANCE_FIELDS
from connector.governance.schema import MAX_AMOUNT, MAX_WHOLE

Check = Callable[[Any], tuple[Any, Any]]  # value -> (typed, stored); raises ValueError(message)

_email = Email()
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX_LENGTH = {"title": 255, "customer.name": 255, "customer.account_id": 255, "customer.segment": 100,
               "requester.name": 255, "requester.team": 255, "category": 64}


def _string(limit: int) -> Check:
    def check(value: Any) -> tuple[Any, Any]:
        if not isinstance(value, str):
            raise ValueError("Not a valid string.")
        if len(value) > limit:
            raise ValueError(f"Longer than maximum length {limit}.")
        return value, value

    return check


def _email_check(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, str):
        raise ValueError("Not a valid string.")
    try:
        _email(value)
    except ValidationError as exc:
        raise ValueError("Not a valid email address.") from exc
    return value, value


def _integer(value: Any) -> tuple[Any, Any]:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Not a valid integer.")
    if value < 0:
        raise ValueError("Must be greater than or equal to 0.")
    if value > MAX_WHOLE:
        raise ValueError(f"Must be at most {MAX_WHOLE}.")
    return value, value


def _decimal(value: Any) -> tuple[Any, Any]:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ValueError("Not a valid number.")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("Special numeric values (nan or infinity) are not permitted.")
    if number < 0:
        raise ValueError("Must be greater than or equal to 0.")
    if number > MAX_AMOUNT:
        raise ValueError(f"Must be at most {MAX_AMOUNT}.")
    return number, str(number)


def _date(value: Any) -> tuple[Any, Any]:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise ValueError("Not a valid date.")
    return value, value.isoformat()


def _string_list(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list) or not all(isinstance(v, str) and 1 <= len(v) <= 200 for v in value):
        raise ValueError("Not a valid list of strings (each 1 to 200 characters).")
    return value, list(value)


def _enum(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> tuple[Any, Any]:
        if value not in choices:
            raise ValueError(f"Must be one of: {', '.join(choices)}.")
        return value, value

    return check


def _currency(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise ValueError("Use a three-letter ISO 4217 code such as USD.")
    return value, value


def _check_for(path: str, kind: str) -> Check:
    if path == "data_sensitivity":
        return _enum(DATA_SENSITIVITY)
    if path == "revenue_impact.currency":
        return _currency
    return {
        "email": _email_check, "integer": _integer, "decimal": _decimal, "date": _date, "list": _string_list,
        "text": _string(20000),
    }.get(kind) or _string(_MAX_LENGTH.get(path, 10000))


CHECKS: dict[str, Check] = {path: _check_for(path, kind) for path, kind in GOVERNANCE_FIELDS.items()}


#: group ("customer") → its fields' checks ("name" → check): nested values need no joined path to look up.
NESTED: dict[str, dict[str, Check]] = {}
for _path, _check in CHECKS.items():
    if "." in _path:
        _head, _leaf = _path.split(".", 1)
        NESTED.setdefault(_head, {})[_leaf] = _check


#: value types that are never a mapping: checked by identity before the (slow) ``Mapping`` ABC check
_SCALARS = frozenset({str, int, float, bool, list, Decimal, date, datetime, type(None)})


def normalize(fields: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Nested mapped fields → (typed, stored JSON form, errors by dotted path)."""
    typed: dict[str, Any] = {}
    stored: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in fields.items():
        kind = type(value)
        if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):  # ABC checks are slow
            group_typed, group_stored = _normalize_group(key, value, errors)
            if group_typed:
                typed[key], stored[key] = group_typed, group_stored
        elif value is None or value == [] or value == "":
            continue
        else:
            check = CHECKS.get(key)
            if check is None:
                errors[key] = "Unknown field."
                continue
            try:
                typed[key], stored[key] = check(value)
            except ValueError as exc:
                errors[key] = str(exc)
    return typed, stored, errors


def _normalize_group(key: str, value: Mapping[str, Any], errors: dict[str, str]) -> tuple[dict[str, Any],
                                                                                         dict[str, Any]]:
    """One group of fields (``customer``): its typed and stored values; problems go into ``errors``."""
    checks = NESTED.get(key) or {}
    typed: dict[str, Any] = {}
    stored: dict[str, Any] = {}
    for sub, sub_value in value.items():
        if sub_value is None or sub_value == [] or sub_value == "":
            continue
        check = checks.get(sub)
        if check is None:
            errors[f"{key}.{sub}"] = "Unknown field."
            continue
        try:
            typed[sub], stored[sub] = check(sub_value)
        except ValueError as exc:
            errors[f"{key}.{sub}"] = str(exc)
    return typed, stored
