"""Where a write spends its time: creates, votes and decisions through the API on PostgreSQL, measured and profiled.

    python tests/benchmarks/write_path.py [--count N] [--database-url URL] [--profile-dir DIR]

Each kind of write runs ``N`` times through the app in this process (Flask's test client: no HTTP server, no
other load), first measured, then again under pyinstrument. The last line printed is one JSON object with, per
kind: ``ms`` (wall time per request), ``cpu_ms`` (this process's CPU per request), ``sql`` (statements per
request), ``sql_ms`` (time waiting for PostgreSQL per request) and ``stages_ms`` (per request, from the profile:
authorization, the operation itself, the audit chain's write at commit, the response's view, the commit). With
``--profile-dir`` each kind's pyinstrument report is written there as text.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import drop_postgres, emit, fresh_app, fresh_postgres
from support.bodies import LARGE, SMALL

#: the functions whose time is reported as a stage (the outermost call of each), by file and name
STAGES = {("auth.py", "authorize_endpoint"): "auth", ("operations.py", "submit"): "operation",
          ("operations.py", "cast_vote"): "operation", ("operations.py", "decide"): "operation",
          ("requests.py", "find_request"): "find", ("audit.py", "write_pending"): "audit_write",
          ("representation.py", "request_view"): "view", ("blueprint.py", "finish_transaction"): "commit"}


def entitlement() -> dict[str, Any]:
    start = date.today()
    return {"grants": {"seats": 105}, "effective_from": start.isoformat(),
            "expires_at": (start + timedelta(days=60)).isoformat(), "conditions": [],
            "renewal": {"mode": "manual", "notice_days": 14}, "success_metrics": ["pilot converts"]}


class SqlMeter:
    """Statements and the time spent in them, on the app's engine."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self.count += 1
        self._started.append(time.perf_counter())

    def _after(self, *_: Any) -> None:
        if self._started:
            self.seconds += time.perf_counter() - self._started.pop()


def stage_seconds(frame: Any, found: dict[str, float], inside: frozenset[str] = frozenset()) -> None:
    """Add the time of the outermost frame of each stage function under ``frame``."""
    name = STAGES.get((Path(frame.file_path or "").name, frame.function))
    if name is not None and name not in inside:
        found[name] = found.get(name, 0.0) + frame.time
        inside = inside | {name}
    for child in frame.children:
        stage_seconds(child, found, inside)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="requests of each kind, measured and profiled")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: a new one)")
    parser.add_argument("--profile-dir", default=None, help="write each kind's pyinstrument report here")
    args = parser.parse_args(argv)

    url = fresh_postgres(args.database_url)
    try:
        app = fresh_app(url)
        from connector.auth import create_token
        from connector.db import db

        with app.app_context():
            tokens = {name: create_token(name, "reviewer", roles, actor="bench")
                      for name, roles in (("chair", ["licensing"]), ("legal", ["legal"]))}
            tokens["intake"] = create_token("intake", "intake", actor="bench")
            db.session.commit()
            meter = SqlMeter(db.engine)
        headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
        client = app.test_client()
        serial = iter(range(10**9))

        def create(body: dict[str, Any]) -> dict[str, Any]:
            data = copy.deepcopy(body)
            data["title"] = f"{body['title']} #{next(serial)}"
            response = client.post("/api/v1/requests", json=data, headers=headers["intake"])
            assert response.status_code == 201, response.get_data(as_text=True)
            return dict(response.get_json())

        def vote(req: dict[str, Any]) -> None:
            response = client.post(f"/api/v1/requests/{req['id']}/votes", headers=headers["legal"],
                                   json={"role": "legal", "vote": "approve", "rationale": "fine"})
            assert response.status_code == 201, response.get_data(as_text=True)

        def decide(req: dict[str, Any]) -> None:
            response = client.post(f"/api/v1/requests/{req['id']}/decision", headers=headers["chair"],
                                   json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()})
            assert response.status_code == 201, response.get_data(as_text=True)

        kinds: dict[str, Any] = {"create": lambda _: create(SMALL), "vote": vote, "decide": decide}
        subjects = {"create": lambda: None, "vote": lambda: create(LARGE), "decide": lambda: create(SMALL)}
        for kind in kinds:  # warm up: every code path imported and compiled, every cache filled
            for _ in range(3):
                kinds[kind](subjects[kind]())
        result: dict[str, Any] = {"count": args.count}
        for kind, run in kinds.items():
            figures: dict[str, Any] = {}
            for profiled in (False, True):
                targets = [subjects[kind]() for _ in range(args.count)]
                profiler = Profiler(interval=0.0005) if profiled else None
                sql_before, sql_s_before = meter.count, meter.seconds
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler is not None:
                    profiler.start()
                for target in targets:
                    run(target)
                if profiler is not None:
                    profiler.stop()
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if profiler is None:
                    figures.update({"ms": round(wall * 1000 / args.count, 2),
                                    "cpu_ms": round(cpu * 1000 / args.count, 2),
                                    "sql": round((meter.count - sql_before) / args.count, 1),
                                    "sql_ms": round((meter.seconds - sql_s_before) * 1000 / args.count, 2)})
                    continue
                found: dict[str, float] = {}
                session = profiler.last_session
                root = session.root_frame() if session is not None else None
                if root is not None:
                    stage_seconds(root, found)
                figures["stages_ms"] = {name: round(seconds * 1000 / args.count, 2)
                                        for name, seconds in sorted(found.items())}
                if args.profile_dir:
                    Path(args.profile_dir).mkdir(parents=True, exist_ok=True)
                    Path(args.profile_dir, f"{kind}.txt").write_text(
                        profiler.output_text(unicode=False, color=False, show_all=False))
            result[kind] = figures
        with app.app_context():
            from connector import audit

            result["audit_verified"] = audit.verify().ok
            db.session.remove()
            db.engine.dispose()
        emit(result)
    finally:
        if not args.database_url:
            drop_postgres(url)


if __name__ == "__main__":
    main()
