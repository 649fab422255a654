"""Billing webhooks: approved terms sent as Standard Webhooks (signed with the ``standardwebhooks`` library).

The receiver verifies ``webhook-signature`` over ``id.timestamp.body`` with the shared ``whsec_…`` secret and
de-duplicates on ``webhook-id``, which stays the same across retries of one message.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from standardwebhooks import Webhook

from adapters.retry_after import parse_retry_after


@dataclass(frozen=True)
class SendResult:
    """What the endpoint answered, classified for the retry policy."""

    ok: bool
    status_code: int | None = None
    retriable: bool = False
    gone: bool = False  # 410: the receiver says this endpoint no longer exists
    retry_after: float | None = None
    detail: str = ""


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


class BillingWebhook:
    def __init__(self, url: str, secret: str, session: requests.Session | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self._signer = Webhook(secret)
        self.session = session or requests.Session()
        self.timeout = timeout

    def headers(self, message_id: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        return {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": self._signer.sign(message_id, moment, body.decode("utf-8")),
            "User-Agent": "license-exception-connector",
        }

    def send(self, message_id: str, payload: dict[str, Any]) -> SendResult:
        body = body_bytes(payload)
        try:
            resp = self.session.post(self.url, data=body, headers=self.headers(message_id, body), timeout=self.timeout)
        except requests.RequestException as exc:
            return SendResult(False, None, retriable=True, detail=f"{type(exc).__name__}: could not reach billing")
        code = resp.status_code
        if 200 <= code < 300:
            return SendResult(True, code)
        detail = f"billing answered {code}: {resp.text[:300]}"
        if code == 410:
            return SendResult(False, code, gone=True, detail=detail)
        retriable = code in (408, 409, 425, 429) or code >= 500
        return SendResult(False, code, retriable=retriable,
                          retry_after=parse_retry_after(resp.headers.get("Retry-After")), detail=detail)


class BillingReceiver:
    """A small billing endpoint (WSGI) that verifies signatures and de-duplicates on ``webhook-id``.

    The demo and the tests run it on loopback; it is also a reference for what a billing system should do.
    ``delay`` makes it a slow receiver; ``fail_with`` makes the next answers fail (status, Retry-After).
    """

    def __init__(self, secret: str, delay: float = 0.0) -> None:
        self._verifier = Webhook(secret)
        self.delay = delay
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []  # every verified call, duplicates included
        self.by_id: dict[str, dict[str, Any]] = {}
        self.refused = 0
        self.arrivals = 0
        self.fail_with: list[tuple[int, str | None]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        with self.lock:
            self.arrivals += 1
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if self.fail_with:
                status, retry_after = self.fail_with.pop(0)
                extra = [("Retry-After", retry_after)] if retry_after else []
                start_response(f"{status} Failing", [("Content-Type", "text/plain"), *extra])
                return [b"failing on purpose"]
        try:
            payload = self._verifier.verify(body, headers)
        except Exception:
            with self.lock:
                self.refused += 1
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"bad signature"]
        with self.lock:
            entry = {"id": headers["webhook-id"], "payload": payload}
            self.received.append(entry)
            self.by_id.setdefault(headers["webhook-id"], entry)
        start_response("204 No Content", [])
        return []
