"""gunicorn's access log without OAuth secrets: the values of ``code=`` and ``state=`` are redacted.

A provider returns to ``/oauth/callback?code=…&state=…``; the code can be exchanged for tokens until it is used
or expires, so it must not be written to an access log that operators ship and keep. ``gunicorn.conf.py`` sets
``logger_class`` to ``RedactingAccessLogger``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
#: a ``code`` or ``state`` query parameter (also URL-encoded inside another URL, as in a Referer's ``next=``)
_SECRET_PARAMETER = re.compile(r"(?i)((?:^|[?&;]|%26|%3F)(?:code|state)(?:=|%3D))[^&;#\s\"]*")


def redact_query(text: str) -> str:
    """``text`` (a request line, query string or URL) with the values of ``code=`` and ``state=`` redacted."""
    return _SECRET_PARAMETER.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingAccessLogger(Logger):
    """gunicorn's logger whose access-log atoms never carry a ``code=`` or ``state=`` value, whatever the
    format uses (``%(r)s``, ``%(q)s``, ``%(f)s``, ``%({raw_uri}e)s`` …)."""

    def atoms(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: timedelta) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: redact_query(value) if isinstance(value, str) else value for key, value in atoms.items()}


__all__ = ["REDACTED", "RedactingAccessLogger", "redact_query"]
