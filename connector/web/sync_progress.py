"""A sync run as people follow it: a bar (records gone through of the source's total), an ETA from the rate so
far, and one line of words for each state. The connections page renders it and its script polls it as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector import sync_runs
from connector.models import SyncRun
from connector.web.formatting import number_text

SUMMARY_FIELDS = ("fetched", "created", "updated", "unchanged", "needs_info")


def duration_text(seconds: float) -> str:
    """``8 s``, ``3 min 20 s``, ``1 h 5 min``: an ETA or a run's length."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def summary(counts: dict[str, Any]) -> str:
    """``30,000 fetched, 12 created, 3 updated, 29,985 unchanged, 0 need information``."""
    parts = [f"{number_text(int(counts.get(key) or 0))} {key.replace('needs_info', 'need information')}"
             for key in SUMMARY_FIELDS]
    return ", ".join(parts)


def _running_words(examined: int, total: int | None, eta: float | None) -> str:
    done = f"{number_text(examined)} of {number_text(total)} records" if total else \
        f"{number_text(examined)} records so far"
    share = sync_runs.percent(examined, total, sync_runs.RUNNING)
    words = done + (f" ({share:.0f}%)" if share is not None else "")
    if eta is not None:
        return words + f", about {duration_text(eta)} left"
    return words + (", estimating the time left" if total else "")


def _ended_words(run: SyncRun) -> str:
    ended = run.finished_at or run.heartbeat_at
    took = (ended - run.started_at).total_seconds() if ended and run.started_at else None
    if run.state == sync_runs.COMPLETED:
        return f"Done: {summary(run.counts or {})}" + (f", in {duration_text(took)}." if took is not None else ".")
    if run.state == sync_runs.STOPPED:
        return f"Stopped: {run.message or 'the source refused'} ({summary(run.counts or {})})."
    return f"Interrupted: {run.message or 'the process running it stopped'}"


def words_for(run: SyncRun, now: datetime, eta: float | None) -> str:
    """One line for the run's state: queued (and by whom), running (of the total, time left), or how it ended."""
    if run.state == sync_runs.QUEUED:
        return f"Queued again: {run.message}." if run.message else \
            f"Queued by {run.requested_by}: waiting for a worker to pick it up."
    if sync_runs.stale(run, now):
        return (f"No page stored for over {duration_text(sync_runs.STALE_AFTER.total_seconds())}: the process "
                "running it may have stopped. A worker takes it up again from the last page stored.")
    if run.state == sync_runs.RUNNING:
        return _running_words(int(run.examined or 0), run.total, eta)
    return _ended_words(run)


def view(run: SyncRun, now: datetime) -> dict[str, Any]:
    """What the page and its script show of one run: the API's fields (``sync_runs.as_dict``) and one line of
    words; plain JSON."""
    shown = sync_runs.as_dict(run, "", now)
    shown.pop("connection")
    shown["words"] = words_for(run, now, shown["eta_seconds"])
    for key in ("requested_at", "started_at", "finished_at", "heartbeat_at"):
        shown[key] = shown[key].isoformat() if shown[key] else None
    return shown


__all__ = ["duration_text", "summary", "view", "words_for"]
