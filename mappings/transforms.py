"""Value coercions for inbound mapping: source values as the real APIs return them -> governance values.

Salesforce returns every number as a JSON float (`105.0`), multi-select picklists as `;`-joined text and
datetimes as `2026-11-20T10:30:00.000+0000`; Zendesk returns numeric custom fields as strings, multiselect
fields as lists of tag values and datetimes as `2026-11-20T10:30:00Z`. Each coercion takes one non-null value
and returns the governance value (None for blank text, which counts as missing) or raises `InvalidValue`
with a message an admin can act on. None of them
truncates, rounds or guesses silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

#: The `type` values a rule may name (SPEC §4).
RULE_TYPES: Final[tuple[str, ...]] = ("string", "integer", "decimal", "date", "datetime", "boolean")

#: The `case` values a rule may name.
CASES: Final[tuple[str, ...]] = ("lower", "upper", "title")

#: Separator applied to text values bound for a list target when the rule names no `split`
#: (the Salesforce multi-select picklist separator).
DEFAULT_LIST_SEPARATOR: Final[str] = ";"

#: Bound on decimal exponents read from text, so `1e999999999` is refused instead of expanded.
_MAX_EXPONENT: Final[int] = 40

_TRUE: Final[frozenset[str]] = frozenset({"true", "1", "yes", "y", "on", "t"})
_FALSE: Final[frozenset[str]] = frozenset({"false", "0", "no", "n", "off", "f"})

Coercion = Callable[[Any], Any]


class InvalidValue(ValueError):
    """A source value that cannot become the governance value its target needs."""


def describe(value: Any) -> str:
    """Short rendering of a source value for error messages (never the whole payload)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_text(value: Any) -> str:
    """Text from a scalar; numbers keep their exact written form (`105.0` -> `105`)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if not math.isfinite(value):
            raise InvalidValue(f"Expected text, got {describe(value)}.")
        return str(int(value)) if value.is_integer() else repr(value)
    if kind is Decimal:
        if not value.is_finite():
            raise InvalidValue(f"Expected text, got {describe(value)}.")
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise InvalidValue(f"Expected a single text value, got {describe(value)}.")


def to_integer(value: Any) -> int | None:
    """Whole number; `105.0` is 105, `105.5` is an error rather than a silent truncation."""
    kind = type(value)
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float:
        if value.is_integer():  # False for inf and nan too
            return int(value)
        raise InvalidValue(f"Expected a whole number, got {describe(value)}.")
    if kind is str:
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            pass
        number = _decimal_from_text(text, "a whole number", value)
        if number == number.to_integral_value():
            return int(number)
        raise InvalidValue(f"Expected a whole number, got {describe(value)}.")
    if kind is Decimal:
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise InvalidValue(f"Expected a whole number, got {describe(value)}.")
    raise InvalidValue(f"Expected a whole number, got {describe(value)}.")


def to_decimal(value: Any) -> Decimal | None:
    """Exact decimal: floats go through their shortest repr, text keeps its digits (`1234.50`)."""
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return Decimal(repr(value))
        raise InvalidValue(f"Expected a number, got {describe(value)}.")
    if kind is int:
        return Decimal(value)
    if kind is str:
        text = value.strip()
        return _decimal_from_text(text, "a number", value) if text else None
    if kind is Decimal:
        if value.is_finite():
            return value  # type: ignore[no-any-return]
        raise InvalidValue(f"Expected a number, got {describe(value)}.")
    raise InvalidValue(f"Expected a number, got {describe(value)}.")


def _decimal_from_text(text: str, expected: str, original: Any) -> Decimal:
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InvalidValue(f"Expected {expected}, got {describe(original)}.") from None
    if not number.is_finite():
        raise InvalidValue(f"Expected {expected}, got {describe(original)}.")
    if number and not -_MAX_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        raise InvalidValue(f"Number out of range: {describe(original)}.")
    return number


def to_date(value: Any) -> date | None:
    """Calendar date from `YYYY-MM-DD`; a datetime keeps the date it was written with."""
    kind = type(value)
    if kind is str:
        if len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        text = value.strip()
        if not text:
            return None
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            raise InvalidValue(f"Expected a date like 2026-11-20, got {describe(value)}.") from None
    if kind is datetime:
        return value.date()  # type: ignore[no-any-return]
    if kind is date:
        return value  # type: ignore[no-any-return]
    raise InvalidValue(f"Expected a date like 2026-11-20, got {describe(value)}.")


def to_datetime(value: Any) -> datetime | None:
    """Timezone-aware UTC datetime; values without an offset are taken as UTC (both sources send UTC)."""
    kind = type(value)
    if kind is str:
        text = value.strip()
        if not text:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValue(f"Expected a date and time like 2026-11-20T10:30:00Z, got {describe(value)}.") from None
    elif kind is datetime:
        parsed = value
    elif kind is date:
        parsed = datetime(value.year, value.month, value.day)
    else:
        raise InvalidValue(f"Expected a date and time like 2026-11-20T10:30:00Z, got {describe(value)}.")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidValue(f"Date and time out of range: {describe(value)}.") from None


def to_boolean(value: Any) -> bool | None:
    """True/false from a checkbox (`true`), text (`"true"`, `"1"`, `"yes"`) or 0/1."""
    kind = type(value)
    if kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is str:
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif kind is int or kind is float or kind is Decimal:
        if value == 1:
            return True
        if value == 0:
            return False
    raise InvalidValue(f"Expected true or false, got {describe(value)}.")


def to_plain(value: Any) -> Any:
    """Targets of unknown type keep the source's JSON value as it is (text trimmed; blank is missing)."""
    if type(value) is str:
        return value.strip() or None
    return value


#: Coercion for each rule type and each catalogue type (list targets are handled element-wise).
COERCIONS: Final[dict[str, Coercion]] = {
    "string": to_text,
    "text": to_text,
    "email": to_text,
    "enum": to_text,
    "integer": to_integer,
    "decimal": to_decimal,
    "date": to_date,
    "datetime": to_datetime,
    "boolean": to_boolean,
}

#: Rule `type` values that make sense for each catalogue type; anything else is a `type_mismatch`.
COMPATIBLE_TYPES: Final[dict[str, frozenset[str]]] = {
    "string": frozenset({"string"}),
    "text": frozenset({"string"}),
    "email": frozenset({"string"}),
    "enum": frozenset({"string"}),
    "integer": frozenset({"integer"}),
    "decimal": frozenset({"decimal", "integer"}),
    "date": frozenset({"date", "datetime"}),
    "datetime": frozenset({"datetime", "date"}),
    "boolean": frozenset({"boolean"}),
    "list": frozenset({"string"}),
}

CASE_FUNCTIONS: Final[dict[str, Callable[[str], str]]] = {
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
}
