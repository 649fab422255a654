"""Connection settings and the in-memory token store."""

from __future__ import annotations

import pytest

from adapters.salesforce.settings import SalesforceSettings
from adapters.tokens import InMemoryTokenStore


def test_defaults_and_normalisation() -> None:
    settings = SalesforceSettings(client_id="3MVG9", login_url="https://test.salesforce.com/", api_version="v61.0")
    assert settings.login_url == "https://test.salesforce.com"
    assert settings.token_url == "https://test.salesforce.com/services/oauth2/token"
    assert settings.authorize_url == "https://test.salesforce.com/services/oauth2/authorize"
    assert settings.api_version == "61.0"
    assert settings.object == "License_Exception_Request__c"
    assert settings.daily_limit_share == 0.8
    assert settings.auth == "web_server"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_id": ""}, "client_id"),
        ({"auth": "password"}, "auth"),
        ({"daily_limit_share": 0}, "daily_limit_share"),
        ({"daily_limit_share": 1.5}, "daily_limit_share"),
        ({"api_version": "latest"}, "api_version"),
        ({"auth": "jwt", "username": "u@example.com"}, "private_key"),
        ({"auth": "client_credentials"}, "client_secret"),
    ],
)
def test_invalid_settings_say_what_is_wrong(overrides: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"client_id": "3MVG9"}
    values.update(overrides)
    with pytest.raises(ValueError, match=message):
        SalesforceSettings(**values)  # type: ignore[arg-type]


def test_in_memory_store_hands_out_copies() -> None:
    store = InMemoryTokenStore()
    assert store.load() is None
    nested = {"k": 1}
    token = {"access_token": "a", "nested": nested}
    store.save(token)
    nested["k"] = 2
    loaded = store.load()
    assert loaded == {"access_token": "a", "nested": {"k": 1}}
    assert loaded is not None
    loaded["access_token"] = "changed"
    assert store.load() == {"access_token": "a", "nested": {"k": 1}}


def test_from_mapping_takes_stored_settings_and_overrides() -> None:
    settings = SalesforceSettings.from_mapping(
        {"client_id": "3MVG9", "client_secret": "", "username": "", "daily_limit_share": "0.5", "auth": "web_server"},
        redirect_uri="https://connector.example.com/oauth/callback",
        allowed_instance_hosts="127.0.0.1, localhost:8080",
    )
    assert settings.client_secret is None and settings.username is None
    assert settings.daily_limit_share == 0.5
    assert settings.allowed_instance_hosts == ("127.0.0.1", "localhost:8080")
    assert settings.redirect_uri == "https://connector.example.com/oauth/callback"


def test_from_mapping_refuses_unknown_keys_by_name() -> None:
    with pytest.raises(ValueError, match="clientid, subdomain"):
        SalesforceSettings.from_mapping({"client_id": "3MVG9", "clientid": "x", "subdomain": "acme"})


def test_settings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        SalesforceSettings("3MVG9")  # type: ignore[misc]
