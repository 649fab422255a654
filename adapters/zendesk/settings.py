"""Connection settings for one Zendesk account.

The connector builds this from a connection's stored settings; the adapter never reads configuration
anywhere else, so tests and the sandbox can point it at any base URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AuthKind = Literal["oauth", "api_token"]

#: Scope asked for at authorization: read tickets and fields; write tickets, webhooks and triggers.
OAUTH_SCOPE = "read write"


@dataclass(frozen=True)
class ZendeskSettings:
    """Where a Zendesk account lives and how the connector authenticates to it.

    ``auth="oauth"`` (the default) uses the authorization code flow with PKCE and rotating refresh tokens.
    ``auth="api_token"`` is the legacy option: HTTP basic auth ``{email}/token:{api_token}``. Zendesk retires
    API tokens in 2027, so it exists only for older installations and is not for new connections.

    ``base_url`` overrides ``https://{subdomain}.zendesk.com`` (the sandbox on loopback uses it).
    ``tag`` / ``ticket_form_id`` select which tickets are license exception requests.
    """

    subdomain: str
    client_id: str | None = None
    client_secret: str | None = None
    auth: AuthKind = "oauth"
    email: str | None = None
    api_token: str | None = None
    webhook_secret: str | None = None
    tag: str = "license_exception"
    ticket_form_id: int | None = None
    redirect_uri: str | None = None
    base_url: str | None = None

    def __post_init__(self) -> None:
        if self.auth not in ("oauth", "api_token"):
            raise ValueError(f"auth must be 'oauth' or 'api_token', not {self.auth!r}")
        if not self.base_url and not self.subdomain:
            raise ValueError("a subdomain (or base_url) is required")

    @property
    def base(self) -> str:
        """The account's root URL without a trailing slash."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"https://{self.subdomain}.zendesk.com"

    @property
    def authorize_url(self) -> str:
        return f"{self.base}/oauth/authorizations/new"

    @property
    def token_url(self) -> str:
        return f"{self.base}/oauth/tokens"

    def ticket_url(self, ticket_id: int | str) -> str:
        """The agent-facing address of a ticket (what the connector stores as ``external_url``)."""
        return f"{self.base}/agent/tickets/{ticket_id}"
