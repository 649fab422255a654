"""Configuration: defaults overlaid with ``CONNECTOR_*`` environment variables or a mapping.

``create_app(config)`` and the environment take the same keys, so tests, users' scripts and deployments
configure the connector the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

PREFIX = "CONNECTOR_"

DEFAULTS: dict[str, Any] = {
    "CONNECTOR_DATABASE_URL": None,  # None: SQLite file in the instance folder
    "CONNECTOR_SECRET_KEY": None,
    "CONNECTOR_ENCRYPTION_KEYS": None,
    "CONNECTOR_BASE_URL": "http://127.0.0.1:5000",
    "CONNECTOR_POLICY_FILE": None,
    "CONNECTOR_BILLING_WEBHOOK_URL": None,
    "CONNECTOR_BILLING_WEBHOOK_SECRET": None,
    "CONNECTOR_ALLOWED_INSTANCE_HOSTS": "",
    "CONNECTOR_URL_PREFIX": "",
    "CONNECTOR_MAX_BODY_BYTES": 1024 * 1024,
    "CONNECTOR_KEY_PREFIX": "LEX",
    "CONNECTOR_LOG_FORMAT": "text",
    "CONNECTOR_DELIVERY_MAX_AGE_HOURS": 24,
    "CONNECTOR_DELIVERY_LEASE_SECONDS": 120,
    "CONNECTOR_DELIVERY_BATCH_SIZE": 1000,
    "CONNECTOR_HTTP_TIMEOUT": 30,
    "CONNECTOR_SYNC_INTERVAL_SECONDS": 300,
    "CONNECTOR_SQL_ECHO": False,
    "CONNECTOR_METRICS_TOKEN": None,
    "CONNECTOR_SMTP_URL": None,
    "CONNECTOR_MAIL_FROM": "license-connector@localhost",
}

#: Keys parsed from strings when they come from the environment.
_INT_KEYS = {"CONNECTOR_MAX_BODY_BYTES", "CONNECTOR_DELIVERY_BATCH_SIZE"}
_FLOAT_KEYS = {"CONNECTOR_DELIVERY_MAX_AGE_HOURS", "CONNECTOR_DELIVERY_LEASE_SECONDS", "CONNECTOR_HTTP_TIMEOUT",
               "CONNECTOR_SYNC_INTERVAL_SECONDS"}
_BOOL_KEYS = {"CONNECTOR_SQL_ECHO"}


def _coerce(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in _INT_KEYS:
            return int(value)
        if key in _FLOAT_KEYS:
            return float(value)
        if key in _BOOL_KEYS:
            return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every ``CONNECTOR_*`` variable, coerced to the type its default has."""
    environ = os.environ if environ is None else environ
    return {k: _coerce(k, v) for k, v in environ.items() if k.startswith(PREFIX)}


def resolve(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then explicit overrides (highest precedence)."""
    merged = dict(DEFAULTS)
    merged.update(from_environment(environ))
    for key, value in (overrides or {}).items():
        merged[key] = _coerce(key, value)
    return merged
