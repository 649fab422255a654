"""Configuration of one Salesforce connection, as the connector stores it (secrets included)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

AuthFlow = Literal["web_server", "jwt", "client_credentials"]
AUTH_FLOWS: tuple[str, ...] = ("web_server", "jwt", "client_credentials")


@dataclass(frozen=True, kw_only=True)
class SalesforceSettings:
    """Everything the adapter needs to reach one org.

    ``login_url`` is the login host (``https://login.salesforce.com``, ``https://test.salesforce.com`` or a My
    Domain); it is also the JWT audience. ``allowed_instance_hosts`` lists extra hosts (``host`` on any port, or
    ``host:port``) accepted for ``login_url`` and the token's ``instance_url``: used for the loopback sandbox.
    """

    client_id: str
    login_url: str = "https://login.salesforce.com"
    client_secret: str | None = None
    api_version: str = "62.0"
    auth: AuthFlow = "web_server"
    username: str | None = None
    private_key: str | None = None
    object: str = "License_Exception_Request__c"
    daily_limit_share: float = 0.8
    redirect_uri: str | None = None
    allowed_instance_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("client_id is required")
        if self.auth not in AUTH_FLOWS:
            raise ValueError(f"auth must be one of {', '.join(AUTH_FLOWS)}, not {self.auth!r}")
        if not 0 < self.daily_limit_share <= 1:
            raise ValueError("daily_limit_share must be in (0, 1]")
        version = self.api_version.removeprefix("v")
        major, _, minor = version.partition(".")
        if not (major.isdigit() and minor.isdigit()):
            raise ValueError(f"api_version must look like '62.0', not {self.api_version!r}")
        object.__setattr__(self, "api_version", version)
        object.__setattr__(self, "login_url", self.login_url.rstrip("/"))
        object.__setattr__(self, "allowed_instance_hosts", tuple(self.allowed_instance_hosts))
        if self.auth == "jwt" and not (self.username and self.private_key):
            raise ValueError("the jwt flow needs username and private_key")
        if self.auth == "client_credentials" and not self.client_secret:
            raise ValueError("the client_credentials flow needs client_secret")

    @property
    def token_url(self) -> str:
        return f"{self.login_url}/services/oauth2/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.login_url}/services/oauth2/authorize"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], **overrides: Any) -> SalesforceSettings:
        """Build from a connection's stored settings (the §7.4 keys) plus ``overrides`` such as
        ``redirect_uri`` or ``allowed_instance_hosts``. Unknown keys are refused by name; empty strings count
        as unset; ``allowed_instance_hosts`` may be a comma-separated string."""
        known = {f.name for f in fields(cls)}
        merged = {**values, **overrides}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise ValueError(f"unknown Salesforce settings: {', '.join(unknown)}")
        cleaned = {key: value for key, value in merged.items() if value is not None and value != ""}
        hosts = cleaned.get("allowed_instance_hosts")
        if isinstance(hosts, str):
            cleaned["allowed_instance_hosts"] = tuple(h.strip() for h in hosts.split(",") if h.strip())
        if "daily_limit_share" in cleaned:
            cleaned["daily_limit_share"] = float(cleaned["daily_limit_share"])
        return cls(**cleaned)
