"""Fixtures for the core API tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.bodies import LARGE, SMALL


@pytest.fixture
def small() -> dict[str, Any]:
    return copy.deepcopy(SMALL)


@pytest.fixture
def large() -> dict[str, Any]:
    return copy.deepcopy(LARGE)
