"""``connector requests list``: the Requests page's search, filters and sorting from a terminal.

What the demo leaves (``lec --demo requests list --state in_review``) and what a script needs (``--json``: the
requests as ``GET /api/v1/requests`` answers them) without a token or a browser. The filters are checked by the
same rules as the page's (``connector.request_search``); a value they refuse is an ``error:`` line naming the
option, exit status 1.
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import with_appcontext

from connector import request_search
from connector import terminal_text as out
from connector.governance.errors import InvalidInput
from connector.governance.states import STATES
from connector.models import utcnow
from connector.policy_store import current_policy
from connector.representation import is_overdue, request_view

MAX_LIMIT = 1000


def _option(name: str) -> str:
    return "--search" if name == "q" else f"--{name}"


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "-"


@click.group("requests", help="Governed requests, as the API and the Requests page show them.")
def requests_group() -> None:
    """Commands that read requests."""


@requests_group.command("list", help="List requests, newest first (or --sort due|risk|expiry): a search over "
                                     "key, customer, title and requester, and the API's filters.")
@click.option("--search", "-q", "q", default="", help="Text in the key, customer, title or requester.")
@click.option("--state", default="", help="The request's state: " + ", ".join(STATES) + ".")
@click.option("--band", default="", help="Risk band: " + ", ".join(request_search.BANDS) + ".")
@click.option("--track", default="", help="Review track: " + ", ".join(request_search.TRACKS) + ".")
@click.option("--category", default="", help="The request's category (exact).")
@click.option("--source", default="", help="Where it was filed: a source kind (salesforce, zendesk) or api.")
@click.option("--connection", default="", help="The connection it came through (its name).")
@click.option("--overdue/--not-overdue", default=None, help="Only requests past (or not past) their review SLA.")
@click.option("--sort", default="newest", help="newest (default), due, risk or expiry.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=50, show_default=True,
              help="At most this many requests.")
@click.option("--json", "as_json", is_flag=True, help="Print the requests as the API answers them (one JSON list).")
@with_appcontext
def requests_list(q: str, state: str, band: str, track: str, category: str, source: str, connection: str,
                  overdue: bool | None, sort: str, limit: int, as_json: bool) -> None:
    filters = request_search.read_filters({
        "q": q, "state": state, "band": band, "track": track, "category": category, "source": source,
        "connection": connection, "overdue": "" if overdue is None else ("yes" if overdue else "no"), "sort": sort})
    if filters.problems:
        raise InvalidInput("invalid_filter", "These filters cannot be used; nothing was listed.",
                           {"fields": {_option(name): [message] for name, message in filters.problems.items()}})
    now = utcnow()
    rows, more = request_search.find(filters, now, 1, limit)
    if as_json:
        policy = current_policy()
        click.echo(json.dumps([request_view(row.request, now=now, policy=policy) for row in rows], indent=2,
                              default=str))
        return
    if not rows:
        click.echo("no requests match")
        return
    table = [(r.request.key, out.label(r.request.state), r.request.track, r.request.risk_band,
              _day(r.request.due_at) + (" (overdue)" if is_overdue(r.request, now) else ""),
              f"{r.expires_at:%Y-%m-%d}" if r.expires_at else None, r.request.customer_name, r.request.title)
             for r in rows]
    for line in out.table(("key", "state", "track", "band", "due", "expires", "customer", "title"), table, indent=""):
        click.echo(line)
    shown = out.count(len(rows), "request", "requests")
    click.echo(f"{shown} shown; more match (raise --limit)" if more else shown)


__all__ = ["requests_group"]
