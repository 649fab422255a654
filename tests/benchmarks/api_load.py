"""The API under a steady mix of reads and writes: gunicorn (the shipped ``gunicorn.conf.py``) on PostgreSQL.

    python tests/benchmarks/api_load.py --rps N --seconds T --clients C [--database-url URL]

Offers ``N`` requests a second for ``T`` seconds (open loop: each request has its start time, whatever the
previous ones took) from ``C`` client threads: 40% list/read (a page of 20 requests, or one request by id,
alternately), 30% create, 20% vote (a committee member on a standard-track request), 10% decide (the chair
approves a fast-track request). A latency runs from a request's scheduled start to its answer, so time spent
waiting for a free client counts. The last line printed is one JSON object: ``rps`` (answered per second),
``p50_ms``, ``p99_ms``, ``by_kind`` (the same per kind), ``errors`` (anything but the expected 2xx),
``audit_verified`` (the chain verifies afterwards), and ``cpu_ms_per_request``: CPU per answered request of the
gunicorn processes, of this database's PostgreSQL backends and of this client process, with the ceiling in
requests a second that the machine's cores would allow (``cores / total CPU per request``).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import queue
import sys
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import (
    database_backends_cpu_s,
    drop_postgres,
    emit,
    free_port,
    fresh_app,
    fresh_postgres,
    gunicorn,
    percentile,
    pid_cpu_s,
    process_tree_cpu_s,
)
from support.bodies import LARGE, SMALL

#: the mix, as (kind, share): list/read 40%, create 30%, vote 20%, decide 10%
MIX = (("list", 4), ("create", 3), ("vote", 2), ("decide", 1))
MEMBERS = ("legal", "product", "sales", "security")


def entitlement() -> dict[str, Any]:
    start = date.today()
    return {"grants": {"seats": 105}, "effective_from": start.isoformat(),
            "expires_at": (start + timedelta(days=60)).isoformat(), "conditions": [],
            "renewal": {"mode": "manual", "notice_days": 14}, "success_metrics": ["pilot converts"]}


def schedule(total: int) -> list[str]:
    """The kinds of ``total`` requests, interleaved evenly (every 10 requests: the mix)."""
    cycle = [kind for kind, share in MIX for _ in range(share)]
    order = [cycle[i] for i in (0, 4, 7, 1, 9, 5, 2, 8, 6, 3)]  # list, create, vote, list, decide, ...
    return [order[n % len(order)] for n in range(total)]


class Client:
    """What the requests need: tokens, and the requests waiting for a vote or a decision."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base = base
        self.headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
        self.lock = threading.Lock()
        self.undecided: list[str] = []
        self.votable: list[str] = []
        self.known: list[str] = []
        self.serial = itertools.count()
        self.votes = itertools.count()

    def create(self, session: requests.Session, body: dict[str, Any]) -> requests.Response:
        data = copy.deepcopy(body)
        data["title"] = f"{body['title']} #{next(self.serial)}"
        response = session.post(f"{self.base}/api/v1/requests", json=data, headers=self.headers["intake"],
                                timeout=30)
        if response.status_code == 201:
            created = response.json()
            with self.lock:
                self.known.append(created["id"])
                (self.undecided if body is SMALL else self.votable).append(created["id"])
        return response

    def run(self, session: requests.Session, kind: str, n: int) -> requests.Response | None:
        if kind == "list":
            if n % 2:
                with self.lock:
                    ref = self.known[n % len(self.known)] if self.known else None
                if ref is not None:
                    return session.get(f"{self.base}/api/v1/requests/{ref}", headers=self.headers["intake"],
                                       timeout=30)
            return session.get(f"{self.base}/api/v1/requests?limit=20", headers=self.headers["intake"], timeout=30)
        if kind == "create":  # two in three fast-track (decided later), one in three standard-track (voted on)
            return self.create(session, LARGE if n % 3 == 2 else SMALL)
        if kind == "vote":
            with self.lock:
                ref = self.votable[n % len(self.votable)] if self.votable else None
            member = MEMBERS[next(self.votes) % len(MEMBERS)]
            if ref is None:
                return None
            return session.post(f"{self.base}/api/v1/requests/{ref}/votes", headers=self.headers[member],
                                json={"role": member, "vote": "approve", "rationale": "within policy"}, timeout=30)
        with self.lock:
            ref = self.undecided.pop() if self.undecided else None
        if ref is None:
            return None
        return session.post(f"{self.base}/api/v1/requests/{ref}/decision", headers=self.headers["chair"],
                            json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()}, timeout=30)


#: seconds of the same load offered before the measurement (every gunicorn worker imports, connects, caches)
WARM_UP_SECONDS = 3.0


def drive(client: Client, kinds: list[str], rps: float,
          clients: int) -> tuple[dict[str, list[float]], dict[str, int], list[str], float]:
    """Offer ``kinds`` at ``rps`` from ``clients`` threads: latencies and errors by kind, a few error examples,
    and the wall time."""
    work: queue.Queue[tuple[float, str, int] | None] = queue.Queue()
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    examples: list[str] = []
    lock = threading.Lock()

    def sender() -> None:
        session = requests.Session()
        while (item := work.get()) is not None:
            due, kind, n = item
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                response = client.run(session, kind, n)
                ok = response is None or response.status_code in (200, 201)
                detail = "" if ok or response is None else f"{kind} {response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                ok, detail = False, f"{kind} {type(exc).__name__}"
            elapsed = time.perf_counter() - due
            with lock:
                latencies[kind].append(elapsed)
                if not ok:
                    errors[kind] += 1
                    if len(examples) < 5:
                        examples.append(detail)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.2
    for n, kind in enumerate(kinds):
        work.put((start + n / rps, kind, n))
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return latencies, errors, examples, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rps", type=float, default=100.0, help="requests per second to offer (open loop)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=32, help="client threads")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: a new one)")
    args = parser.parse_args(argv)

    url = fresh_postgres(args.database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        app = fresh_app(url)
        from connector.auth import create_token
        from connector.db import db

        with app.app_context():
            tokens = {"chair": create_token("bench-chair", "reviewer", ["licensing"], actor="bench"),
                      "intake": create_token("bench-intake", "intake", actor="bench")}
            for member in MEMBERS:
                tokens[member] = create_token(f"bench-{member}", "reviewer", [member], actor="bench")
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        env = {"CONNECTOR_DATABASE_URL": url, "CONNECTOR_SECRET_KEY": "bench", "CONNECTOR_BASE_URL": base}
        with gunicorn(env, port) as server:
            client = Client(base, tokens)
            seed = requests.Session()
            total = int(args.rps * args.seconds)
            kinds = schedule(total)
            for n in range(max(20, kinds.count("decide") + 10)):  # enough to decide, to vote on and to read
                client.create(seed, SMALL if n % 3 else LARGE)
            drive(client, schedule(max(10, int(args.rps * WARM_UP_SECONDS))), args.rps, args.clients)  # warm up
            cpu_before = (process_tree_cpu_s(server.pid), database_backends_cpu_s(url), pid_cpu_s(os.getpid()))
            latencies, errors, examples, wall = drive(client, kinds, args.rps, args.clients)
            cpu_after = (process_tree_cpu_s(server.pid), database_backends_cpu_s(url), pid_cpu_s(os.getpid()))
        answered = sum(len(values) for values in latencies.values())
        every = [value for values in latencies.values() for value in values]
        cpu = {name: round((after - before) * 1000 / max(1, answered), 2)
               for name, before, after in zip(("gunicorn", "postgres", "client"), cpu_before, cpu_after, strict=True)}
        server_cpu = cpu["gunicorn"] + cpu["postgres"]
        with app.app_context():
            from connector import audit

            verified = audit.verify()
            db.session.remove()
            db.engine.dispose()
        emit({
            "offered_rps": args.rps, "seconds": args.seconds, "clients": args.clients, "requests": answered,
            "rps": round(answered / wall, 1), "p50_ms": percentile(every, 0.5), "p99_ms": percentile(every, 0.99),
            "by_kind": {kind: {"requests": len(values), "p50_ms": percentile(values, 0.5),
                               "p99_ms": percentile(values, 0.99)} for kind, values in sorted(latencies.items())},
            "errors": sum(errors.values()), "errors_by_kind": dict(errors), "error_examples": examples,
            "audit_verified": verified.ok, "audit_events": verified.checked,
            "cpu_ms_per_request": {**cpu, "server_total": round(server_cpu, 2)},
            "cores": os.cpu_count(),
            "server_ceiling_rps": round((os.cpu_count() or 1) * 1000 / server_cpu) if server_cpu else None,
        })
    finally:
        if not args.database_url:
            drop_postgres(url)


if __name__ == "__main__":
    main()
