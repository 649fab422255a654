"""Mounted in a host app, the API still answers unknown paths and methods with JSON, and the host's own error
pages stay the host's."""

from __future__ import annotations

from flask import Flask
from support.database import app_config
from werkzeug.exceptions import HTTPException

from connector import LicenseExceptionConnector


def test_api_routing_errors_are_json_and_the_host_keeps_its_own(database_url):
    host = Flask("host")

    @host.errorhandler(HTTPException)
    def host_page(exc: HTTPException) -> tuple[str, int]:
        return f"host page {exc.code}", exc.code or 500

    @host.route("/")
    def home() -> str:
        return "host home"

    host.config.update(app_config(database_url))
    LicenseExceptionConnector(host)
    client = host.test_client()
    missing = client.get("/api/v1/nonexistent")
    assert missing.status_code == 404 and missing.is_json and missing.get_json()["code"] == "not_found"
    wrong_method = client.delete("/api/v1/requests")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert client.get("/elsewhere").get_data(as_text=True) == "host page 404"  # outside the API: the host's
    assert client.get("/").get_data(as_text=True) == "host home"


def test_without_a_host_handler_other_paths_get_flasks_default(database_url):
    host = Flask("host")
    host.config.update(app_config(database_url))
    LicenseExceptionConnector(host)
    r = host.test_client().get("/elsewhere")
    assert r.status_code == 404 and not r.is_json
