"""The frozen settings: every CONNECTOR_* key typed, defaults in one place, read once per app."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask

from connector import config
from connector.config import DEFAULTS, PREFIX, Settings, reconfigure, settings


def test_every_default_has_a_field_and_every_field_a_default():
    assert {PREFIX + f.name.upper() for f in dataclasses.fields(Settings)} == set(DEFAULTS)


def test_defaults_and_environment_strings_are_typed_once():
    built = Settings.from_config(config.resolve(environ={
        "CONNECTOR_HTTP_TIMEOUT": "12.5", "CONNECTOR_SQL_ECHO": "yes", "CONNECTOR_DELIVERY_BATCH_SIZE": "0",
        "CONNECTOR_ALLOWED_INSTANCE_HOSTS": " a.example, ,b.example:8443 ", "CONNECTOR_URL_PREFIX": "/gov"}))
    assert built.http_timeout == 12.5 and built.sql_echo is True
    assert built.delivery_batch_size == 1  # at least one row a claim
    assert built.allowed_instance_hosts == ("a.example", "b.example:8443")
    assert built.public_url == "http://127.0.0.1:5000/gov"
    plain = Settings.from_config(config.resolve(environ={}))
    assert plain.http_timeout == 30.0 and plain.key_prefix == "LEX" and plain.delivery_max_age.total_seconds() == 86400
    assert plain.billing_webhook_url is None and not plain.oidc_configured
    with pytest.raises(dataclasses.FrozenInstanceError):
        plain.http_timeout = 1  # type: ignore[misc]


def test_an_app_keeps_its_settings_until_reconfigured():
    app = Flask(__name__)
    app.config.update(config.resolve({"CONNECTOR_METRICS_TOKEN": "t"}, environ={}))
    first = config.install(app)
    with app.app_context():
        assert settings() is first and first.metrics_token == "t"
    app.config["CONNECTOR_METRICS_TOKEN"] = "ignored"  # a write to app.config alone changes nothing
    assert settings(app).metrics_token == "t"
    reconfigure(app, CONNECTOR_METRICS_TOKEN="u", CONNECTOR_HTTP_TIMEOUT="5")
    assert settings(app).metrics_token == "u" and settings(app).http_timeout == 5.0
    assert app.config["CONNECTOR_METRICS_TOKEN"] == "u"
