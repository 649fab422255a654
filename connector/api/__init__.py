"""The REST API (flask-smorest): the route modules' blueprints mounted under ``<prefix>/api/v1`` (the OAuth
callback and the webhooks at the prefix itself), with their OpenAPI document and Swagger UI."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Flask
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

import connector.api.openapi as openapi_doc
from connector.api import (
    audit,
    connections,
    deliveries,
    feedback,
    meta,
    notifications,
    policy,
    policy_reviews,
    practice,
    public,
    reports,
    requests,
    scenarios,
    source_apps,
    tokens,
    webhooks,
)
from connector.api.errors import error_response, handle_database_unavailable, handle_http_exception, handle_unexpected
from connector.config import settings

#: what the package's app factory and error handling take from here
__all__ = ["API_PREFIX", "error_response", "handle_database_unavailable", "handle_http_exception", "handle_unexpected",
           "init_api"]

API_PREFIX = "/api/v1"


class ConnectorApi(Api):
    """flask-smorest's Api, but with error handlers on our blueprints only (never the host app's), and a document
    whose errors are the ones we send (``openapi``): no catch-all ``default`` response, each status listed."""

    ERROR_SCHEMA = openapi_doc.ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        return None


def init_api(app: Flask) -> ConnectorApi:
    prefix = settings(app).url_prefix + API_PREFIX
    app.config.setdefault("CONNECTOR_API_TITLE", "License Exception Connector")
    app.config.setdefault("CONNECTOR_API_VERSION", "v1")
    app.config.setdefault("CONNECTOR_OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("CONNECTOR_OPENAPI_URL_PREFIX", prefix)
    app.config.setdefault("CONNECTOR_OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("CONNECTOR_OPENAPI_SWAGGER_UI_PATH", "docs")
    # Swagger UI's files ship with the package (swagger-ui-bundle): the docs page asks no other host for anything
    app.config.setdefault("CONNECTOR_OPENAPI_SWAGGER_UI_URL", f"{prefix}/docs/assets/")
    plugin = openapi_doc.ConnectorResponsesPlugin(app)
    api = ConnectorApi(config_prefix="CONNECTOR_", spec_kwargs={
        "extra_plugins": [plugin],
        "components": {"securitySchemes": openapi_doc.SECURITY_SCHEMES},
        "security": [{openapi_doc.BEARER: []}],
    })
    api.init_app(app)
    for attribute_function in (openapi_doc.numeric_bounds, openapi_doc.nullable_nested):
        api.ma_plugin.converter.add_attribute_function(attribute_function)
    plugin.register_components()
    app.register_blueprint(swagger_assets_blueprint(), url_prefix=f"{prefix}/docs/assets")
    for blp in (meta.blp, requests.blp, policy.blp, reports.blp, audit.blp, deliveries.blp, connections.blp,
                tokens.blp, source_apps.blp, scenarios.blp, policy_reviews.blp, feedback.blp, public.blp,
                practice.blp, notifications.blp):
        api.register_blueprint(blp, url_prefix=prefix + (blp.url_prefix or ""))
    root = settings(app).url_prefix
    for blp in (connections.oauth_blp, webhooks.blp):
        api.register_blueprint(blp, url_prefix=root or None)
    document_other_routes(app, api)
    return api


def document_other_routes(app: Flask, api: ConnectorApi) -> None:
    """/metrics (registered after the API) and the document itself: served outside the API's blueprints,
    documented here."""
    openapi_endpoint = f"{api._make_doc_blueprint_name()}.openapi_json"
    metrics = openapi_doc.METRICS_ENDPOINT
    rules = {metrics: openapi_doc.compiled_rule(settings(app).url_prefix + openapi_doc.METRICS_PATH, metrics)}
    for endpoint, operations in openapi_doc.extra_operations(openapi_endpoint).items():
        rule = rules.get(endpoint) or next(iter(app.url_map.iter_rules(endpoint)), None)
        if rule is not None:
            api.spec.path(rule=rule, operations=operations)


def swagger_assets_blueprint() -> FlaskBlueprint:
    """Swagger UI's JavaScript and CSS from the installed ``swagger-ui-bundle`` distribution."""
    return FlaskBlueprint("connector_swagger_ui", __name__, static_folder=swagger_ui_path, static_url_path="")
