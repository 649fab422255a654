"""Money, numbers, dates and enum values formatted one way on every page, in one locale (``CONNECTOR_LOCALE``).

Flask-Babel holds the locale; every page formats through these filters, so ``4800000.0 USD`` from one source and
``2000 USD`` from another both read ``$4,800,000.00`` and ``$2,000.00`` (en_US), and ``Mid-Market`` and
``mid_market`` both read ``Mid market``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app
from flask_babel import Babel, format_currency, format_date, format_decimal

DEFAULT_LOCALE = "en_US"
#: names people know differently from their snake_case spelling
LABELS = {"api": "API", "sla": "SLA", "oem": "OEM", "emea": "EMEA", "apac": "APAC", "amer": "AMER",
          "needs_info": "Needs information", "in_review": "In review", "approved_with_conditions":
          "Approved with conditions", "salesforce": "Salesforce", "zendesk": "Zendesk"}


def locale_setting(app: Flask) -> str:
    """``CONNECTOR_LOCALE`` (``en_US``, ``de_DE``…); an unknown locale fails at start, not on a page."""
    value = str(app.config.get("CONNECTOR_LOCALE") or DEFAULT_LOCALE)
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"CONNECTOR_LOCALE={value!r} is not a locale Babel knows (e.g. en_US, de_DE).") from exc
    return value


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def money(value: Any, currency: str | None = None) -> str:
    """``$4,800,000.00``; without a currency, the number with separators."""
    number = _decimal(value)
    if number is None:
        return "—" if value in (None, "") else str(value)
    if currency and re.fullmatch(r"[A-Za-z]{3}", currency):
        return str(format_currency(number, currency.upper()))
    return number_text(number)


def number_text(value: Any) -> str:
    """``12,352`` or ``0.25``: separators of the locale, no trailing zeros."""
    number = _decimal(value)
    if number is None:
        return "—" if value in (None, "") else str(value)
    return str(format_decimal(number, format="#,##0.##"))


def date_text(value: date | datetime | str | None) -> str:
    """A day in the locale's medium format (``Dec 3, 2026``)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            return str(format_date(date.fromisoformat(value[:10]), "medium"))
        except ValueError:
            return value
    return str(format_date(value, "medium"))


def label(value: Any) -> str:
    """An enum value as people read it: ``mid_market``/``Mid-Market`` → ``Mid market``; known names as spelled."""
    if value is None or value == "":
        return ""
    text = str(value)
    key = re.sub(r"[\s-]+", "_", text.strip()).lower()
    if key in LABELS:
        return LABELS[key]
    return key.replace("_", " ").capitalize() if key.replace("_", "").isalnum() else text


#: what a date field's errors say instead of a pattern: the browser's date picker shows the locale's format,
#: so "YYYY-MM-DD" under it points at nothing the person sees
DATE_PICKER_MESSAGE = "Pick a date from the calendar."


def field_error(message: str, field_type: str) -> str:
    """A field's error as shown under it: a date field's errors speak of the picker, not of ISO patterns."""
    if field_type != "DateField":
        return message
    if message.startswith("Not a valid date value"):
        return DATE_PICKER_MESSAGE
    return message.replace(" (YYYY-MM-DD)", "").replace("YYYY-MM-DD", "a date from the calendar")


def install(app: Flask) -> None:
    """Flask-Babel with the one locale, and the ``lec_`` filters every page formats through."""
    locale = locale_setting(app)
    if "babel" not in app.extensions:
        Babel(app, locale_selector=lambda: current_app.config.get("CONNECTOR_LOCALE") or locale,
              timezone_selector=lambda: "UTC")
    for name, fn in {"money": money, "number": number_text, "date": date_text, "label": label,
                     "field_error": field_error}.items():
        app.jinja_env.filters[f"lec_{name}"] = fn
