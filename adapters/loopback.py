"""A WSGI app served on a free loopback port in a background thread: the sandboxes, the demo and the tests."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access-log line per request (sandboxes and test servers)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LoopbackServer:
    def __init__(self, app: Any, name: str = "loopback", quiet: bool = True) -> None:
        self.app, self.name, self.quiet = app, name, quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve and return the base URL (``http://127.0.0.1:<port>``)."""
        if self._server is not None:
            assert self.base_url is not None
            return self.base_url
        server = make_server(host, port, self.app, threaded=True,
                             request_handler=QuietHandler if self.quiet else None)
        self._server, self.base_url = server, f"http://{host}:{server.server_port}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
