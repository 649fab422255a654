"""Fixtures for the Zendesk adapter against the sandbox over real loopback HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import ZendeskClient
from adapters.zendesk.oauth import normalize_token
from adapters.zendesk.sandbox import ZendeskSandbox
from adapters.zendesk.settings import ZendeskSettings

REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., ZendeskSandbox]]:
    started: list[ZendeskSandbox] = []

    def build(**kwargs: Any) -> ZendeskSandbox:
        sandbox = ZendeskSandbox(**kwargs)
        sandbox.serve()
        started.append(sandbox)
        return sandbox

    yield build
    for sandbox in started:
        sandbox.shutdown()


def settings_for(sandbox: ZendeskSandbox) -> ZendeskSettings:
    return ZendeskSettings(
        subdomain=sandbox.subdomain,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        redirect_uri=REDIRECT_URI,
        base_url=sandbox.base_url,
    )


@pytest.fixture
def sandbox_settings() -> Callable[[ZendeskSandbox], ZendeskSettings]:
    return settings_for


@pytest.fixture
def connect() -> Callable[..., ZendeskClient]:
    """A client holding a token freshly minted by the sandbox (the OAuth dance has its own tests)."""

    def build(sandbox: ZendeskSandbox, **kwargs: Any) -> ZendeskClient:
        clock = kwargs.get("clock", time.time)
        store = InMemoryTokenStore(normalize_token(sandbox.issue_token(), clock()))
        return ZendeskClient(settings_for(sandbox), store, **kwargs)

    return build


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class Receiver:
    """A loopback HTTP endpoint that records what it receives (a stand-in for the connector's webhook)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._arrived = threading.Condition()
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/zendesk/main"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._arrived:
            self.received.append((dict(request.headers), request.get_data()))
            self._arrived.notify_all()
        return Response("", status=200)(environ, start_response)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()
