"""The deliveries page's summary: how many deliveries each tab holds and how each target is doing.

Both are one grouped query over the outbox (indexed on status and target), cheap however long the history is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from connector.db import db
from connector.models import Delivery, DeliveryStatus, DeliveryTarget
from connector.web.filters import span

#: the tab to open when none is asked for: the first that holds something, in order of urgency
TAB_URGENCY = (DeliveryStatus.DEAD, DeliveryStatus.PENDING)


def status_counts() -> dict[str, int]:
    counts = dict.fromkeys((s.value for s in DeliveryStatus), 0)
    for status, count in db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)):
        counts[status] = count
    counts["all"] = sum(counts.values())
    return counts


def useful_tab(counts: dict[str, int]) -> str:
    """Dead ones if any (they need a person), else those waiting, else everything."""
    return next((s.value for s in TAB_URGENCY if counts.get(s.value)), "all")


@dataclass(frozen=True)
class TargetHealth:
    target: str
    level: str  # ok | warn | bad
    words: str
    counts: dict[str, int]


def target_health(now: datetime) -> list[TargetHealth]:
    """Per target: dead and waiting counts, the oldest waiting delivery's age, the last success, disabled."""
    counts: dict[str, dict[str, int]] = {}
    for target, status, count in db.session.execute(
            select(Delivery.target, Delivery.status, func.count()).group_by(Delivery.target, Delivery.status)):
        counts.setdefault(target, {})[status] = count
    oldest = dict(db.session.execute(select(Delivery.target, func.min(Delivery.created_at))
                                     .where(Delivery.status == DeliveryStatus.PENDING).group_by(Delivery.target)).all())
    last_ok = dict(db.session.execute(select(Delivery.target, func.max(Delivery.delivered_at))
                                      .where(Delivery.status == DeliveryStatus.DELIVERED)
                                      .group_by(Delivery.target)).all())
    disabled = {t.target: t.reason for t in db.session.scalars(
        select(DeliveryTarget).where(DeliveryTarget.status == "disabled"))}
    out: list[TargetHealth] = []
    for target in sorted(counts):
        c = counts[target]
        dead, pending = c.get(DeliveryStatus.DEAD, 0), c.get(DeliveryStatus.PENDING, 0)
        parts: list[str] = []
        if target in disabled:
            parts.append(f"disabled ({disabled[target] or 'no reason recorded'})")
        if dead:
            parts.append(f"{dead} dead")
        if pending:
            age = f", oldest {span((now - oldest[target]).total_seconds())}" if oldest.get(target) else ""
            parts.append(f"{pending} waiting{age}")
        delivered_at = last_ok.get(target)
        if delivered_at is not None:
            parts.append(f"last delivered {span((now - delivered_at).total_seconds())} ago")
        level = "bad" if dead or target in disabled else "warn" if pending else "ok"
        out.append(TargetHealth(target, level, "; ".join(parts) or "nothing sent yet", c))
    return out
