"""Fixtures: the mocked org (``mock_org.MockOrg``), an admin token and an authorized ``sf`` connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import responses
from flask.testing import FlaskClient
from integration.salesforce_connector.mock_org import MockOrg, authorize_web, create_connection


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def org(rsps: responses.RequestsMock) -> MockOrg:
    return MockOrg(rsps)


@pytest.fixture
def admin(token_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return token_for("admin", name="sf-admin")


@pytest.fixture
def connected(client: FlaskClient, admin: dict[str, str], org: MockOrg) -> str:
    """Connection ``sf`` created through the API and authorized through the web server flow."""
    create_connection(client, admin)
    authorize_web(client, admin)
    return "sf"
