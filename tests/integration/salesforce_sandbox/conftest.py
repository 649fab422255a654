from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.salesforce import oauth
from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.tokens import InMemoryTokenStore

REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"  # never contacted: tests read the Location header


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    org = SalesforceSandbox(records=300, seed=11)
    org.serve()
    yield org
    org.shutdown()


@pytest.fixture
def authorize() -> Callable[[SalesforceSandbox], InMemoryTokenStore]:
    """Run the web server flow with PKCE against a sandbox; returns a store holding the token."""

    def run(org: SalesforceSandbox) -> InMemoryTokenStore:
        settings = org.settings(redirect_uri=REDIRECT_URI)
        url, verifier = oauth.authorization_url(settings, "state-1")
        redirect = requests.get(url, allow_redirects=False, timeout=5)
        code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
        return InMemoryTokenStore(oauth.exchange_code(settings, code, verifier))

    return run


@pytest.fixture
def connected(
    sandbox: SalesforceSandbox, authorize: Callable[[SalesforceSandbox], InMemoryTokenStore]
) -> tuple[SalesforceSandbox, SalesforceClient, InMemoryTokenStore]:
    store = authorize(sandbox)
    return sandbox, SalesforceClient(sandbox.settings(redirect_uri=REDIRECT_URI), store), store


@pytest.fixture(scope="session")
def rsa_pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
