"""Configuration: defaults overlaid with ``CONNECTOR_*`` environment variables or a mapping.

``create_app(config)`` and the environment take the same keys, so tests, users' scripts and deployments
configure the connector the same way. ``init_app`` resolves them once into a frozen, typed ``Settings`` (the
defaults live only in ``DEFAULTS``); code reads ``settings()``, never ``current_app.config`` with a default of
its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from connector.networks import IPNetwork, parse_networks

PREFIX = "CONNECTOR_"
#: where ``init_app`` keeps the connector's state (``settings``, ``api``, ``migrations``) in ``app.extensions``
EXTENSION_KEY = "license_exception_connector"

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
    "CONNECTOR_DELIVERY_LANE_SECONDS": 60,  # a target's lane starts no send after this long on one batch
    "CONNECTOR_HTTP_TIMEOUT": 30,
    "CONNECTOR_SYNC_INTERVAL_SECONDS": 300,
    "CONNECTOR_SQL_ECHO": False,
    "CONNECTOR_METRICS_TOKEN": None,
    "CONNECTOR_SMTP_URL": None,
    "CONNECTOR_MAIL_FROM": "license-connector@localhost",
    "CONNECTOR_OIDC_ISSUER": None,
    "CONNECTOR_OIDC_CLIENT_ID": None,
    "CONNECTOR_OIDC_CLIENT_SECRET": None,
    "CONNECTOR_AUDIT_ANCHOR_PATH": None,  # None: the worker anchors nothing
    "CONNECTOR_TRUSTED_PROXIES": "",  # CIDRs whose X-Forwarded-For is believed; empty: REMOTE_ADDR only
    "CONNECTOR_PUSH_RATE_LIMIT": 600,  # pushes a minute per connection; 0: no limit
    "CONNECTOR_PUSH_REFETCH_SECONDS": None,  # a record fetched for a push waits this long; None: the sync interval
    "CONNECTOR_DEMO_DIR": None,  # None: ./lec-demo in the current folder (see demo_directory)
    "CONNECTOR_FEEDBACK_DAYS": 90,  # a decision's feedback link works this long; 0: summaries carry no link
    "CONNECTOR_PUBLIC_SUMMARY": False,  # serve /transparency and /api/v1/public/summary without sign-in
    "CONNECTOR_PUBLIC_MIN_COUNT": 5,  # the public summary shows a figure only when it counts at least this many
    "CONNECTOR_DIGEST_HOUR": 8,  # the UTC hour from which each person's daily notification digest goes out
    "CONNECTOR_EVENT_RETENTION_DAYS": 7,  # processed or failed pushed events are deleted after this; 0: kept
}

#: Keys parsed from strings when they come from the environment.
_INT_KEYS = {"CONNECTOR_MAX_BODY_BYTES", "CONNECTOR_DELIVERY_BATCH_SIZE", "CONNECTOR_PUSH_RATE_LIMIT",
             "CONNECTOR_FEEDBACK_DAYS", "CONNECTOR_PUBLIC_MIN_COUNT", "CONNECTOR_DIGEST_HOUR",
             "CONNECTOR_EVENT_RETENTION_DAYS"}
_FLOAT_KEYS = {"CONNECTOR_DELIVERY_MAX_AGE_HOURS", "CONNECTOR_DELIVERY_LEASE_SECONDS", "CONNECTOR_HTTP_TIMEOUT",
               "CONNECTOR_SYNC_INTERVAL_SECONDS", "CONNECTOR_DELIVERY_LANE_SECONDS",
               "CONNECTOR_PUSH_REFETCH_SECONDS"}
_BOOL_KEYS = {"CONNECTOR_SQL_ECHO", "CONNECTOR_PUBLIC_SUMMARY"}


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


@dataclass(frozen=True)
class Settings:
    """Every ``CONNECTOR_*`` setting, typed, read once from the app's resolved config (see ``DEFAULTS``)."""

    database_url: str
    secret_key: str | None
    encryption_keys: str
    base_url: str
    policy_file: str | None
    billing_webhook_url: str | None
    billing_webhook_secret: str | None
    allowed_instance_hosts: tuple[str, ...]
    url_prefix: str
    max_body_bytes: int
    key_prefix: str
    log_format: str
    delivery_max_age_hours: float
    delivery_lease_seconds: float
    delivery_batch_size: int
    delivery_lane_seconds: float
    http_timeout: float
    sync_interval_seconds: float
    sql_echo: bool
    metrics_token: str | None
    smtp_url: str | None
    mail_from: str
    oidc_issuer: str | None
    oidc_client_id: str | None
    oidc_client_secret: str | None
    audit_anchor_path: str | None
    trusted_proxies: tuple[IPNetwork, ...]
    push_rate_limit: int
    push_refetch_seconds: float
    demo_dir: str | None
    feedback_days: int
    public_summary: bool
    public_min_count: int
    digest_hour: int
    event_retention_days: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings in ``config`` (an app's config: host apps may set strings, as the environment does);
        a key left out or set to ``None`` takes its default."""
        values = {field.name: _value(config, PREFIX + field.name.upper()) for field in dataclasses.fields(cls)}
        hosts = values["allowed_instance_hosts"]
        if isinstance(hosts, str):
            hosts = hosts.split(",")
        return cls(
            **{name: values[name] for name in _OPTIONAL_TEXT},
            database_url=str(values["database_url"] or ""),
            encryption_keys=str(values["encryption_keys"] or "").strip(),
            base_url=str(values["base_url"] or ""),
            allowed_instance_hosts=tuple(h.strip() for h in hosts or () if h and h.strip()),
            url_prefix=str(values["url_prefix"] or ""),
            max_body_bytes=int(values["max_body_bytes"]),
            key_prefix=str(values["key_prefix"]),
            log_format=str(values["log_format"]).lower(),
            delivery_max_age_hours=float(values["delivery_max_age_hours"]),
            delivery_lease_seconds=float(values["delivery_lease_seconds"]),
            delivery_batch_size=max(1, int(values["delivery_batch_size"])),
            delivery_lane_seconds=max(0.1, float(values["delivery_lane_seconds"])),
            http_timeout=float(values["http_timeout"]),
            sync_interval_seconds=float(values["sync_interval_seconds"]),
            sql_echo=bool(values["sql_echo"]),
            mail_from=str(values["mail_from"]),
            trusted_proxies=parse_networks(values["trusted_proxies"], "CONNECTOR_TRUSTED_PROXIES"),
            push_rate_limit=max(0, int(values["push_rate_limit"])),
            push_refetch_seconds=max(0.0, float(values["sync_interval_seconds"] if values["push_refetch_seconds"]
                                                is None else values["push_refetch_seconds"])),
            feedback_days=max(0, int(values["feedback_days"])),
            public_summary=bool(values["public_summary"]),
            public_min_count=max(1, int(values["public_min_count"])),
            digest_hour=min(23, max(0, int(values["digest_hour"]))),
            event_retention_days=max(0, int(values["event_retention_days"])),
        )

    @property
    def public_url(self) -> str:
        """The connector's public URL with its mount point (links written to sources, webhook endpoints)."""
        return self.base_url.rstrip("/") + self.url_prefix

    @property
    def delivery_max_age(self) -> timedelta:
        return timedelta(hours=self.delivery_max_age_hours)

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)


#: settings kept as given, ``None`` when unset
_OPTIONAL_TEXT = ("secret_key", "policy_file", "billing_webhook_url", "billing_webhook_secret", "metrics_token",
                  "smtp_url", "oidc_issuer", "oidc_client_id", "oidc_client_secret", "audit_anchor_path",
                  "demo_dir")


def _value(config: Mapping[str, Any], key: str) -> Any:
    value = config.get(key)
    return DEFAULTS[key] if value is None else _coerce(key, value)


def install(app: Flask) -> Settings:
    """Build the app's settings from its config (``init_app`` calls this once, after applying defaults)."""
    built = Settings.from_config(app.config)
    app.extensions.setdefault(EXTENSION_KEY, {})["settings"] = built
    return built


def settings(app: Flask | None = None) -> Settings:
    """The settings of ``app``, by default the current app's."""
    target = current_app if app is None else app
    return target.extensions[EXTENSION_KEY]["settings"]  # type: ignore[no-any-return]


def reconfigure(app: Flask, **values: Any) -> Settings:
    """Change settings of an app already made (a test, or the demo once its server's port is known): the app's
    config and its ``Settings`` change together. Nothing else changes a running app's settings."""
    app.config.update({key: _coerce(key, value) for key, value in values.items()})
    return install(app)


#: the demo's folder when ``CONNECTOR_DEMO_DIR`` is not set, relative to the current folder
DEFAULT_DEMO_DIR = "lec-demo"
#: the file in the demo's folder holding the settings it ran with (database, keys): what ``lec --demo`` reads
DEMO_SETTINGS_FILE = "settings.json"


def demo_directory(value: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The demo's folder: ``value`` (a setting), else ``CONNECTOR_DEMO_DIR``, else ``./lec-demo``; absolute, so
    what the demo prints and what ``lec --demo`` opens are the same place wherever they are run from."""
    environ = os.environ if environ is None else environ
    return Path(value or environ.get("CONNECTOR_DEMO_DIR") or DEFAULT_DEMO_DIR).expanduser().resolve()


def write_demo_settings(directory: Path, values: Mapping[str, str]) -> Path:
    """Keep the settings the demo runs with (its database and keys) in its folder, readable by its owner only."""
    path = directory / DEMO_SETTINGS_FILE
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(dict(values), indent=2, sort_keys=True) + "\n", "utf-8")
    return path


def demo_settings(directory: Path) -> dict[str, str]:
    """The settings the last demo in ``directory`` ran with; a missing demo is a ``FileNotFoundError`` that says
    how to make one."""
    path = directory / DEMO_SETTINGS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no demo has run in {directory} (no {DEMO_SETTINGS_FILE}): run `lec demo` there "
                                "first, or set CONNECTOR_DEMO_DIR to the folder the demo printed")
    values = json.loads(path.read_text("utf-8"))
    return {str(key): str(value) for key, value in values.items() if str(key).startswith(PREFIX)}
