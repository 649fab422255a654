"""Shared fixtures for the Zendesk adapter's unit tests: a fake clock whose sleep moves time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.settings import ZendeskSettings

BASE = "https://acme.zendesk.com"


class FakeClock:
    """``time.time`` and ``time.sleep`` stand-ins: sleeping advances the clock and is recorded."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingStore(InMemoryTokenStore):
    """A token store that also writes each save into a shared event log."""

    def __init__(self, token: dict[str, Any] | None, events: list[str]) -> None:
        super().__init__(token)
        self.events = events
        self.saved: list[dict[str, Any]] = []

    def save(self, token: dict[str, Any]) -> None:
        self.events.append(f"save:{token['refresh_token']}")
        self.saved.append(token)
        super().save(token)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> ZendeskSettings:
    return ZendeskSettings(
        subdomain="acme",
        client_id="lec-client",
        client_secret="s3cret",
        redirect_uri="https://connector.example.com/oauth/callback",
    )


@pytest.fixture
def make_token(clock: FakeClock) -> Callable[..., dict[str, Any]]:
    """Builds a stored token as ``oauth.normalize_token`` would, expiring ``ttl`` seconds from now."""

    def build(access: str = "A1", refresh: str = "R1", ttl: float = 1800) -> dict[str, Any]:
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "scope": "read write",
            "expires_in": ttl,
            "expires_at": clock.now + ttl,
        }

    return build


@pytest.fixture
def recording_store() -> Callable[[dict[str, Any] | None, list[str]], RecordingStore]:
    return RecordingStore
