"""The contract run's figures: how many operations and generated cases schemathesis checked, printed at the end."""

from __future__ import annotations

from collections import Counter

import pytest

CONTRACT_CALLS = pytest.StashKey[Counter[str]]()


@pytest.fixture(scope="session")
def contract_calls(pytestconfig: pytest.Config) -> Counter[str]:
    """Generated cases by operation (``METHOD /path``), counted by the contract test."""
    return pytestconfig.stash.setdefault(CONTRACT_CALLS, Counter())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    calls = config.stash.get(CONTRACT_CALLS, None)
    if calls:
        terminalreporter.write_line(f"schemathesis: {len(calls)} operations, {sum(calls.values())} generated cases "
                                    "(each sent with an admitted role, and again with a refused one where a token "
                                    "is needed)")
