"""The cursor export against the sandbox: 1,000-ticket pages, sideloads, resume, lag and rate limits."""

from __future__ import annotations

from adapters.zendesk.selection import is_license_exception


class SharedClock:
    """One fake time for the sandbox and the client: sleeping advances both."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_5000_tickets_come_in_five_pages_with_people_attached(make_sandbox, connect):
    sandbox = make_sandbox(tickets=5000, seed=11, export_lag=0)
    client = connect(sandbox)

    pages = list(client.export_tickets(start_time=0))

    assert [len(page.tickets) for page in pages] == [1000] * 5
    assert [page.end_of_stream for page in pages] == [False] * 4 + [True]
    ids = [t["id"] for page in pages for t in page.tickets]
    assert len(set(ids)) == 5000
    assert client.http_calls == 5
    enriched = [client.attach_people(p.tickets, p.users, p.organizations) for p in pages]
    assert client.http_calls == 5, "sideloads must cover every requester and organization"
    first = enriched[0][0]
    assert first["requester"]["email"].endswith(".example.com")
    assert all(t["requester"] for page in enriched for t in page)
    selected = [t for page in pages for t in page.tickets if is_license_exception(t, client.settings)]
    assert 0.75 * 5000 < len(selected) < 0.95 * 5000


def test_the_stored_cursor_returns_only_what_changed_since(make_sandbox, connect):
    sandbox = make_sandbox(tickets=1200, seed=3, export_lag=0)
    client = connect(sandbox)
    cursor = [page.after_cursor for page in client.export_tickets(start_time=0)][-1]
    edited = sandbox.ticket_ids()[17]

    sandbox.agent_edit(edited, add_tags=["escalated"])
    pages = list(client.export_tickets(cursor=cursor))

    assert [t["id"] for page in pages for t in page.tickets] == [edited]
    assert "escalated" in pages[0].tickets[0]["tags"]
    assert pages[-1].end_of_stream
    again = list(client.export_tickets(cursor=pages[-1].after_cursor))
    assert [t for page in again for t in page.tickets] == []


def test_changes_of_the_last_minute_wait_for_the_next_poll(make_sandbox, connect):
    clock = SharedClock(1_800_000_000.0)
    sandbox = make_sandbox(tickets=50, clock=clock, export_lag=60)
    client = connect(sandbox, clock=clock, sleep=clock.sleep)
    cursor = [page.after_cursor for page in client.export_tickets(start_time=0)][-1]
    sandbox.agent_edit(sandbox.ticket_ids()[0], status="open")

    assert [t for page in client.export_tickets(cursor=cursor) for t in page.tickets] == []
    clock.now += 61
    assert [t["id"] for page in client.export_tickets(cursor=cursor) for t in page.tickets] == [sandbox.ticket_ids()[0]]


def test_pacing_keeps_a_long_backfill_under_the_export_rate_limit(make_sandbox, connect):
    clock = SharedClock(1_800_000_000.0)
    sandbox = make_sandbox(tickets=1_250, seed=5, clock=clock, export_lag=0, enforce_export_rate_limit=True)
    client = connect(sandbox, clock=clock, sleep=clock.sleep)

    pages = list(client.export_tickets(start_time=0, per_page=100))

    assert len(pages) == 13
    assert sum(len(p.tickets) for p in pages) == 1_250
    assert clock.sleeps, "the eleventh request had to wait"
    assert client.http_calls == 13, "no request was refused with 429"


def test_without_pacing_the_sandbox_enforces_the_export_rate_limit(make_sandbox, connect):
    clock = SharedClock(1_800_000_000.0)
    sandbox = make_sandbox(tickets=1_250, seed=5, clock=clock, export_lag=0, enforce_export_rate_limit=True)
    client = connect(sandbox, clock=clock, sleep=clock.sleep, export_requests_per_minute=None)

    pages = list(client.export_tickets(start_time=0, per_page=100))

    assert sum(len(p.tickets) for p in pages) == 1_250
    assert client.http_calls == 14, "the eleventh request was refused once, then retried after Retry-After"
    assert clock.sleeps == [60.0]
