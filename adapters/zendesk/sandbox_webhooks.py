"""The sandbox's webhooks and triggers: signing secrets, trigger conditions, signed deliveries.

Triggers are evaluated after every ticket change (a small, documented subset of conditions:
``current_tags`` includes/not_includes, ``update_type``, ``status``/``priority``/``ticket_form_id``
is/is_not) and their ``notification_webhook`` actions are delivered from a background thread, signed the
way Zendesk signs them.
"""

from __future__ import annotations

import base64
import itertools
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Request

from .sandbox_http import JSON, invalid, json_body, record_invalid, webhook_api_error
from .sandbox_tickets import API_USER_ID, iso
from .webhook import format_timestamp, sign

ACCOUNT_ID = "12345678"


@dataclass
class WebhookDelivery:
    """One webhook request the sandbox sent (for assertions)."""

    url: str
    webhook_id: str | None
    body: bytes
    status: int | None
    error: str | None


def _ulid(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "01" + "".join(rng.choice(alphabet) for _ in range(24))


def normalize_tag(tag: Any) -> str:
    """Zendesk tags are lower case without spaces."""
    return str(tag).strip().lower().replace(" ", "_")


def condition_holds(condition: Mapping[str, Any], ticket: Mapping[str, Any], update_type: str) -> bool:
    field, operator, value = condition.get("field"), condition.get("operator"), condition.get("value")
    if field == "current_tags":
        present = bool({normalize_tag(t) for t in str(value or "").split()} & set(ticket["tags"]))
        return {"includes": present, "not_includes": not present}.get(str(operator), False)
    if field == "update_type":
        return (update_type == value) if operator == "is" else (update_type != value)
    if field in ("status", "ticket_form_id", "priority"):
        matches = str(ticket.get(field)) == str(value)
        return {"is": matches, "is_not": not matches}.get(str(operator), False)
    return False


class SandboxWebhooks:
    """Webhooks, triggers and the outbox that delivers what the triggers fire."""

    def __init__(
        self, clock: Callable[[], float], rng: random.Random, url: Callable[[str], str], secret: Callable[[], str]
    ) -> None:
        self.clock = clock
        self.rng = rng
        self.url = url
        self.new_secret = secret
        self.deliveries: list[WebhookDelivery] = []
        self._webhooks: dict[str, JSON] = {}
        self._triggers: dict[int, JSON] = {}
        self._ids = itertools.count(1)
        self._outbox: queue.Queue[tuple[str, str, bytes, str] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    # ------------------------------------------------------------------------------------ API

    def webhooks(self, request: Request) -> tuple[int, JSON]:
        if request.method == "GET":
            listed = [self._public(w) for w in self._webhooks.values()]
            return 200, {"webhooks": listed, "meta": {"has_more": False}, "links": {"next": None, "prev": None}}
        spec = json_body(request).get("webhook")
        if not isinstance(spec, dict):
            raise invalid("the body needs a 'webhook' object")
        missing = [k for k in ("name", "endpoint", "http_method", "request_format", "status") if not spec.get(k)]
        if missing:
            raise webhook_api_error(400, "InvalidInput", "Invalid input", f"missing {', '.join(missing)}")
        if urlsplit(str(spec["endpoint"])).scheme not in ("http", "https"):
            raise webhook_api_error(400, "InvalidInput", "Invalid endpoint", "endpoint must be an http(s) URL")
        webhook_id = _ulid(self.rng)
        webhook = {
            "id": webhook_id,
            "name": spec["name"],
            "status": spec["status"],
            "endpoint": spec["endpoint"],
            "http_method": spec["http_method"],
            "request_format": spec["request_format"],
            "subscriptions": list(spec.get("subscriptions") or []),
            "created_at": iso(self.clock()),
            "created_by": str(API_USER_ID),
            "_secret": base64.b64encode(self.new_secret().encode()).decode(),
        }
        self._webhooks[webhook_id] = webhook
        return 201, {"webhook": self._public(webhook)}

    def webhook(self, request: Request, webhook_id: str) -> tuple[int, JSON]:
        return 200, {"webhook": self._public(self._find(webhook_id))}

    def signing_secret(self, request: Request, webhook_id: str) -> tuple[int, JSON]:
        return 200, {"signing_secret": {"algorithm": "SHA256", "secret": self._find(webhook_id)["_secret"]}}

    def triggers(self, request: Request) -> tuple[int, JSON]:
        if request.method == "GET":
            listed = list(self._triggers.values())
            return 200, {"triggers": listed, "next_page": None, "previous_page": None, "count": len(listed)}
        spec = json_body(request).get("trigger")
        if not isinstance(spec, dict):
            raise invalid("the body needs a 'trigger' object")
        conditions, actions = spec.get("conditions"), spec.get("actions")
        if not spec.get("title") or not isinstance(conditions, dict) or not isinstance(actions, list) or not actions:
            raise record_invalid("A trigger needs a title, conditions and at least one action")
        for action in actions:
            if not isinstance(action, dict) or action.get("field") != "notification_webhook":
                continue
            value = action.get("value")
            if not isinstance(value, list) or len(value) != 2 or value[0] not in self._webhooks:
                raise record_invalid("notification_webhook needs [webhook id, body] with an existing webhook")
        trigger_id = 360000600000 + next(self._ids)
        now = iso(self.clock())
        trigger = {
            "id": trigger_id,
            "url": self.url(f"/api/v2/triggers/{trigger_id}.json"),
            "title": spec["title"],
            "raw_title": spec["title"],
            "active": spec.get("active", True),
            "position": len(self._triggers) + 1,
            "conditions": {"all": list(conditions.get("all") or []), "any": list(conditions.get("any") or [])},
            "actions": actions,
            "description": spec.get("description"),
            "default": False,
            "category_id": spec.get("category_id"),
            "created_at": now,
            "updated_at": now,
        }
        self._triggers[trigger_id] = trigger
        return 201, {"trigger": trigger}

    # ------------------------------------------------------------------------------ deliveries

    def secret_of(self, webhook_id: str) -> str:
        return str(self._find(webhook_id)["_secret"])

    def set_status(self, webhook_id: str, status: str) -> None:
        """``active`` or ``inactive`` (the Admin Center toggle): triggers notify only active webhooks."""
        if status not in ("active", "inactive"):
            raise ValueError(f"a webhook is active or inactive, not {status!r}")
        self._find(webhook_id)["status"] = status

    def fire_triggers(self, ticket: Mapping[str, Any], update_type: str) -> None:
        """Queue the webhook notifications of every active trigger the ticket change satisfies."""
        for trigger in self._triggers.values():
            conditions = trigger["conditions"]
            if not trigger.get("active", True):
                continue
            if not all(condition_holds(c, ticket, update_type) for c in conditions["all"]):
                continue
            if conditions["any"] and not any(condition_holds(c, ticket, update_type) for c in conditions["any"]):
                continue
            for action in trigger["actions"]:
                if action.get("field") != "notification_webhook":
                    continue
                webhook = self._webhooks.get(action["value"][0])
                if webhook is None or webhook.get("status") != "active":
                    continue
                body = str(action["value"][1]).replace("{{ticket.id}}", str(ticket["id"])).encode()
                self._enqueue(webhook["endpoint"], webhook["id"], body, webhook["_secret"])

    def post(
        self, url: str, webhook_id: str | None, body: bytes, secret: str, timestamp: str | None = None
    ) -> requests.Response:
        """Send one signed request now, with Zendesk's headers, and record it."""
        stamp = timestamp or format_timestamp(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Zendesk Webhook",
            "X-Zendesk-Account-Id": ACCOUNT_ID,
            "X-Zendesk-Webhook-Id": webhook_id or "",
            "X-Zendesk-Webhook-Invocation-Id": str(8350000000 + next(self._ids)),
            "X-Zendesk-Webhook-Signature": sign(secret, stamp, body),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        }
        try:
            response = requests.post(url, data=body, headers=headers, timeout=10)
        except requests.RequestException as exc:
            self.deliveries.append(WebhookDelivery(url, webhook_id, body, None, str(exc)))
            raise
        self.deliveries.append(WebhookDelivery(url, webhook_id, body, response.status_code, None))
        return response

    def flush(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Stop delivering: webhooks still queued are dropped (the account is going away; ``flush`` first to send
        them), the one in flight ends."""
        while True:
            try:
                self._outbox.get_nowait()
            except queue.Empty:
                break
            self._outbox.task_done()
        if self._worker is not None:
            self._outbox.put(None)
            self._worker.join(timeout=5)
            self._worker = None

    def _public(self, webhook: JSON) -> JSON:
        return {k: v for k, v in webhook.items() if not k.startswith("_")}

    def _find(self, webhook_id: str) -> JSON:
        webhook = self._webhooks.get(webhook_id)
        if webhook is None:
            raise webhook_api_error(404, "WebhookNotFound", "Not found", f"no webhook {webhook_id}")
        return webhook

    def _enqueue(self, url: str, webhook_id: str, body: bytes, secret: str) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._deliver, name="zendesk-webhooks", daemon=True)
            self._worker.start()
        self._outbox.put((url, webhook_id, body, secret))

    def _deliver(self) -> None:
        while True:
            item = self._outbox.get()
            try:
                if item is None:
                    return
                self.post(*item)
            except requests.RequestException:
                pass  # recorded in deliveries; Zendesk would retry, the sandbox does not
            finally:
                self._outbox.task_done()
