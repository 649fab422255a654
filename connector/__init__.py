"""License Exception Connector: ``create_app()`` and the ``LicenseExceptionConnector`` Flask extension."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, request
from flask_migrate import Migrate
from werkzeug.exceptions import HTTPException

from connector import audit, cli, policy_store, wake, web
from connector import config as config_module
from connector.api import API_PREFIX, handle_database_unavailable, handle_http_exception, handle_unexpected, init_api
from connector.config import EXTENSION_KEY
from connector.db import CONNECT_TIMEOUT_SECONDS, DATABASE_UNAVAILABLE, configure_sqlite, db
from connector.keys import KeyConverter
from connector.observability import configure_logging, metrics_blueprint

__all__ = ["EXTENSION_KEY", "LicenseExceptionConnector", "create_app"]
#: the Alembic environment, shipped inside the package (an installed wheel carries it as package data)
MIGRATIONS_DIR = str(resources.files("connector") / "migrations")


def _json_text(value: Any) -> str:
    """JSON columns through orjson (sync stores every raw source record: serialisation is on the hot path)."""
    return orjson.dumps(value, default=str).decode("utf-8")


def normalize_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class LicenseExceptionConnector:
    """The connector as a Flask extension: ``init_app(app)``, state in ``app.extensions``, ``CONNECTOR_*`` keys."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        for key, value in config_module.DEFAULTS.items():
            app.config.setdefault(key, value)
        _configure_database(app)
        settings = config_module.install(app)  # once: everything below and every request reads these
        app.config["SQLALCHEMY_ECHO"] = settings.sql_echo
        db.init_app(app)
        with app.app_context():
            configure_sqlite(db.engine)
        audit.install_session_hooks()
        wake.install_session_hooks()
        policy_store.install_session_hooks()
        Migrate(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
        app.url_map.converters["key"] = KeyConverter  # before any route: ids beyond a key column's range are 404
        api = init_api(app)
        configure_logging(app)
        app.register_blueprint(metrics_blueprint(app), url_prefix=settings.url_prefix or None)
        app.cli.add_command(cli.connector_group)
        web.init_web(app)
        _json_routing_errors(app)
        app.extensions[EXTENSION_KEY].update({"api": api, "migrations": MIGRATIONS_DIR, "factory": create_app})


def _configure_database(app: Flask) -> None:
    """The database URL (a SQLite file in the instance folder when none is given) and the engine's options."""
    url = app.config.get("CONNECTOR_DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'connector.db'}"
    url = normalize_database_url(str(url))
    app.config["CONNECTOR_DATABASE_URL"] = url
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", url)
    options: dict[str, Any] = {"pool_pre_ping": True, "json_serializer": _json_text,
                               "json_deserializer": orjson.loads}
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    # pre-ping: a connection the database dropped (a restart, an outage) is replaced when next checked out
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)


def _json_routing_errors(app: Flask) -> None:
    """JSON 404/405 for unknown paths and methods under the API's prefix, in a host app too.

    A path no route matches belongs to no blueprint, so the API blueprints' own handlers never see it; this one
    is app-wide but answers only under the prefix and hands everything else to the handler the host app had
    registered before (or to Flask's default)."""
    prefix = config_module.settings(app).url_prefix + API_PREFIX
    previous = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if request.path.startswith(prefix):
            return handle_http_exception(exc)
        return previous(exc) if previous is not None else exc


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The standalone connector. ``config`` takes the same ``CONNECTOR_*`` keys as the environment."""
    app = Flask(__name__, instance_relative_config=True)
    settings = config_module.resolve(config)
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings.get("CONNECTOR_SECRET_KEY") or secrets.token_hex(32)
    for key, value in (config or {}).items():
        if not key.startswith(config_module.PREFIX):
            app.config[key] = value
    LicenseExceptionConnector(app)
    app.register_error_handler(Exception, handle_unexpected)  # standalone: any bug answers as JSON
    for error in DATABASE_UNAVAILABLE:  # and a lost database as 503, on routes outside the blueprints too
        app.register_error_handler(error, handle_database_unavailable)
    return app
