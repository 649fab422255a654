"""Senders of committee notifications to Slack and Microsoft Teams incoming webhooks (``slack:<preference id>``,
``teams:<preference id>``), registered in ``connector.senders``.

The webhook URL is read from its preference (encrypted at rest) when the batch is sent, and appears in no
outcome, log line or audit event: a failure is described by its status code and the receiver's words, or by the
kind of network error (a ``requests`` exception's text would carry the URL). 2xx: delivered; 429 and 5xx: retried,
honouring ``Retry-After`` through the delivery clamp; any other 4xx: dead, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import requests

from adapters.retry_after import parse_retry_after
from connector import lane_budget
from connector.config import settings
from connector.db import db, released
from connector.models import Delivery, NotificationPreference
from connector.sources import Outcome

USER_AGENT = "license-exception-connector"


def webhook_url(target: str) -> str | None:
    """The URL of ``slack:<id>`` / ``teams:<id>``, or None when the preference or its webhook is gone."""
    channel, _, pref_id = target.partition(":")
    if not pref_id.isdigit():
        return None
    pref = db.session.get(NotificationPreference, int(pref_id))
    url = (pref.webhooks or {}).get(channel) if pref is not None else None
    return str(url) if url else None


def classify(status: int, body: str, retry_after: str | None) -> Outcome:
    """One webhook answer as a delivery outcome."""
    if 200 <= status < 300:
        return Outcome("delivered", status_code=status)
    detail = f"HTTP {status}: {body.strip()[:300]}" if body.strip() else f"HTTP {status}"
    if status == 429 or status >= 500:
        return Outcome("retry", detail, status, parse_retry_after(retry_after))
    return Outcome("dead", detail, status)


def send_webhook(target: str, rows: Sequence[Delivery]) -> list[Outcome]:
    """POST each row's JSON body to the target's webhook, in order; once the lane's budget is spent the rest of
    the batch is released unsent, in order, for the next claim."""
    url = webhook_url(target)
    if url is None:
        return [Outcome("dead", f"{target}: no webhook configured (preference changed or removed)")] * len(rows)
    timeout = settings().http_timeout
    outcomes: list[Outcome] = []
    with released(), requests.Session() as session:
        for row in rows:
            if (outcomes and outcomes[-1].result == lane_budget.UNSENT) or lane_budget.spent():
                outcomes.append(Outcome(lane_budget.UNSENT, "lane time budget spent or worker stopping"))
                continue
            try:
                resp = session.post(url, json=row.payload, timeout=timeout,
                                    headers={"User-Agent": USER_AGENT, "X-Message-Id": row.message_id})
            except requests.RequestException as exc:
                outcomes.append(Outcome("retry", f"{type(exc).__name__} while posting to {target}"))
                continue
            outcomes.append(classify(resp.status_code, resp.text, resp.headers.get("Retry-After")))
    return outcomes

