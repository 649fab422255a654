"""Fixtures for the UI tests: signed-in test clients (password accounts), requests in review, CSRF tokens."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.bodies import LARGE, SMALL

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


@pytest.fixture
def csrf() -> Callable[[str], str]:
    """The CSRF token of the first form of a page."""
    return csrf_from


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_account(app: Flask) -> Callable[..., str]:
    """``make_account("reviewer", "legal")`` → the new account's email (password ``PASSWORD``)."""
    from connector.db import db
    from connector.web.accounts import create_account

    counter = {"n": 0}

    def make(role: str, *committee_roles: str, email: str | None = None, password: str | None = PASSWORD) -> str:
        counter["n"] += 1
        address = email or f"{role}{counter['n']}@vendor.example"
        with app.app_context():
            create_account(address, role, committee_roles, password=password, actor="test")
            db.session.commit()
        return address

    return make


@pytest.fixture
def signed_in(app: Flask, make_account: Callable[..., str]) -> Callable[..., FlaskClient]:
    """A test client signed in through the sign-in form as a new account with that role."""

    def make(role: str, *committee_roles: str, email: str | None = None) -> FlaskClient:
        address = make_account(role, *committee_roles, email=email)
        client = app.test_client()
        token = csrf_from(client.get("/sign-in").get_data(as_text=True))
        r = client.post("/sign-in", data={"csrf_token": token, "email": address, "password": PASSWORD})
        assert r.status_code == 303, r.get_data(as_text=True)
        return client

    return make


@pytest.fixture
def small() -> dict[str, Any]:
    return copy.deepcopy(SMALL)


@pytest.fixture
def large() -> dict[str, Any]:
    return copy.deepcopy(LARGE)
