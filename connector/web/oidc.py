"""Optional OpenID Connect sign-in (e.g. Salesforce as the identity provider) through authlib.

Configured by ``CONNECTOR_OIDC_ISSUER``, ``CONNECTOR_OIDC_CLIENT_ID`` and ``CONNECTOR_OIDC_CLIENT_SECRET``.
The provider proves an email address; it only signs in to an existing local account with that email (the
account holds the role), so configuring a provider never lets strangers in.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from connector.config import settings

CLIENT_NAME = "connector_oidc"
EXTENSION_KEY = "connector_web_oidc"


def configured(app: Flask) -> bool:
    return settings(app).oidc_configured


def init_oidc(app: Flask) -> None:
    if not configured(app):
        return
    config = settings(app)
    issuer = str(config.oidc_issuer).rstrip("/")
    oauth = OAuth()
    oauth.init_app(app)
    oauth.register(
        CLIENT_NAME,
        client_id=config.oidc_client_id,
        client_secret=config.oidc_client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                       "timeout": config.http_timeout},
    )
    app.extensions[EXTENSION_KEY] = oauth


def client() -> Any | None:
    oauth = current_app.extensions.get(EXTENSION_KEY)
    return oauth.create_client(CLIENT_NAME) if oauth is not None else None


def verified_email(claims: dict[str, Any]) -> str | None:
    """The email the provider vouches for; None when it is absent or marked unverified."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    if claims.get("email_verified") in (False, "false"):
        return None
    return email
