"""The banner every page shows when the background work is not getting done: no worker has reported in for a
minute, or deliveries are piling up (due for a while and not sent).

Without a worker nothing reaches the sources or billing, no reminder or expiry happens, and a page that looks
fine says nothing of it; two small indexed queries per page say so instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from connector.db import db
from connector.models import Delivery, DeliveryStatus, WorkerHeartbeat, utcnow
from connector.web.blueprint import bp
from connector.web.filters import span
from connector.web.signin import current_user

#: a worker reports in every few seconds; silent for this long, it is not running
SILENT_AFTER = timedelta(seconds=60)
#: deliveries due for this long and still unsent mean the worker does not keep up
BEHIND_AFTER = timedelta(minutes=5)
COUNT_CAP = 100_000


@dataclass(frozen=True)
class Warning:
    kind: str  # no_worker | piling_up
    message: str


def warnings(now: datetime) -> list[Warning]:
    out: list[Warning] = []
    seen = db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    if seen is None:
        out.append(Warning("no_worker", "No worker has ever reported in: nothing is sent to the sources or billing, "
                                        "and no reminder or expiry runs, until one does. Start it with "
                                        "“lec worker” (or “flask --app wsgi connector worker”)."))
    elif now - seen > SILENT_AFTER:
        out.append(Warning("no_worker", f"No worker has reported in for {span((now - seen).total_seconds())}: "
                                        "deliveries, reminders and expiries wait until one runs again."))
    oldest_due = db.session.scalar(select(func.min(Delivery.next_attempt_at))
                                   .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now))
    if oldest_due is not None and now - oldest_due > BEHIND_AFTER:
        due = db.session.scalar(select(func.count()).select_from(
            select(Delivery.id).where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .limit(COUNT_CAP).subquery())) or 0
        more = "+" if due >= COUNT_CAP else ""
        out.append(Warning("piling_up", f"Deliveries are piling up: {due:,}{more} due and unsent, the oldest for "
                                        f"{span((now - oldest_due).total_seconds())}."))
    return out


@bp.context_processor
def _worker_health() -> dict[str, Any]:
    """Signed-in pages only: the sign-in page and error pages rendered without a database ask nothing."""
    if current_user() is None:
        return {"worker_warnings": []}
    return {"worker_warnings": warnings(utcnow())}
