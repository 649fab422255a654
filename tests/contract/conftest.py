"""The contract run's figures: how many operations and generated cases schemathesis checked, printed at the end.

Under pytest-xdist each worker counts its own cases and hands them to the controller, which prints the total
(``tests/conftest.py`` holds the controller's side: this file is only loaded where the tests are collected)."""

from __future__ import annotations

from collections import Counter

import pytest
from support.contract import CONTRACT_CALLS


@pytest.fixture(scope="session")
def contract_calls(pytestconfig: pytest.Config) -> Counter[str]:
    """Generated cases by operation (``METHOD /path``), counted by the contract test."""
    return pytestconfig.stash.setdefault(CONTRACT_CALLS, Counter())


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)  # set on a pytest-xdist worker only
    if workeroutput is not None:
        workeroutput["contract_calls"] = dict(session.config.stash.get(CONTRACT_CALLS, Counter()))
