"""Where a backfill's CPU goes: each stage of the sync path measured on its own, in µs per record.

    python tests/benchmarks/backfill_stages.py --source salesforce|zendesk --records N

``backfill.py`` gives the rate; this says what bounds it. Every page is fetched from the sandbox first (its own
process, rate limits off) and kept, then each stage runs over the same records, one stage at a time, with the
cyclic collector off (so no stage pays for another's garbage). Stages measured alone cost somewhat more than
inside the sync (where one leaves the next its data in the processor's caches), so the total is an upper bound
of the sync's own CPU, which ``backfill.py`` reports as ``cpu_s``:

- ``fetch_and_parse``: the adapter's pages (HTTP, JSON parsing, Salesforce ``attributes`` stripping, Zendesk
  side-loads), and ``sandbox``: the sandbox process's CPU while it served them (Linux: ``/proc``);
- then page by page, as the sync goes: ``mapping``, ``normalize``, ``assess`` (intake, triage, risk) and
  ``content_hash``, each alone;
- ``store``: the real ingest of every page and its commit, minus the four stages above (which ingest runs
  again): rows, JSON columns, audit chain, outbox, SQL. Of it, ``sql`` is the time inside the database driver
  per table (SQLAlchemy's cursor events) and ``commit`` the commits.

The last line printed is one JSON object: those figures, their ``total_us_per_record``, and
``all_cores_ceiling_records_per_s``: cores / total, the rate no arrangement of these stages over this machine's
cores could beat, however perfectly they ran in parallel.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import emit, sandbox_connection

_TABLE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT\b.*?\bFROM)\s+\"?(\w+)", re.I | re.S)


class SqlClock:
    """CPU seconds spent inside the driver, per table, from SQLAlchemy's before/after cursor events."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine, self.by_table, self._started = engine, Counter[str](), 0.0
        self._event = event
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.process_time()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        match = _TABLE.match(statement)
        self.by_table[match.group(1) if match else "other"] += time.process_time() - self._started

    def close(self) -> None:
        self._event.remove(self.engine, "before_cursor_execute", self._before)
        self._event.remove(self.engine, "after_cursor_execute", self._after)


class Stopwatch:
    """CPU seconds per named stage, summed over the ``with watch("stage"):`` blocks that ran it."""

    def __init__(self) -> None:
        self.seconds = Counter[str]()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.process_time()
        try:
            yield
        finally:
            self.seconds[stage] += time.process_time() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("salesforce", "zendesk"), required=True)
    parser.add_argument("--records", type=int, default=40000)
    args = parser.parse_args(argv)

    with sandbox_connection(args.source, args.records) as (app, sandbox):
        from connector import connections, operations, sync
        from connector.db import db
        from connector.governance.normalize import normalize
        from connector.models import Connection, utcnow
        from connector.policy_store import current_policy
        from connector.sources import get_kind

        watch = Stopwatch()
        gc.disable()
        with app.app_context():
            conn = connections.find("bench")
            assert conn is not None
            kind, ctx, conn_id = get_kind(conn.kind), connections.context(conn), conn.id
            db.session.commit()
            served = sandbox.cpu_s()
            with watch("fetch_and_parse"):
                pages = list(kind.pages(ctx, None))
            after = sandbox.cpu_s()
            _version, program, _doc = connections.inbound_program(conn)
            policy, now = current_policy(), utcnow()
            db.session.commit()
            sql, counts = SqlClock(db.engine), sync.SyncCounts()
            for page in pages:  # page by page, as the sync goes: what a stage leaves is still in the cache
                with watch("mapping"):
                    mapped = [program(record.raw) for record in page.records]
                with watch("normalize"):
                    normalized = [normalize(m.fields) for m in mapped]
                with watch("assess"):
                    for typed, _stored, errors in normalized:
                        operations.assess(typed, errors, policy, now)
                with watch("content_hash"):
                    for _typed, stored, errors in normalized:
                        operations.fast_hash(stored, errors)
                with watch("ingest"):
                    current = db.session.get(Connection, conn_id)
                    assert current is not None
                    sync.ingest(current, page.records, counts, "bench")
                    sync.store_watermark(conn_id, page.watermark)
                with watch("commit"):
                    db.session.commit()
            sql.close()
        gc.enable()
    n = args.records
    per_record = {name: watch.seconds[name] / n * 1e6
                  for name in ("fetch_and_parse", "mapping", "normalize", "assess", "content_hash")}
    per_record["store"] = (watch.seconds["ingest"] + watch.seconds["commit"]) / n * 1e6 - sum(
        per_record[name] for name in ("mapping", "normalize", "assess", "content_hash"))
    if served is not None and after is not None:
        per_record["sandbox"] = (after - served) / n * 1e6
    total = sum(per_record.values())
    emit({
        "source": args.source, "records": n, "created": counts.created,
        "us_per_record": {name: round(value, 1) for name, value in per_record.items()},
        "store_detail_us_per_record": {
            "sql": {table: round(value / n * 1e6, 1) for table, value in sql.by_table.most_common()},
            "commit": round(watch.seconds["commit"] / n * 1e6, 1)},
        "total_us_per_record": round(total, 1),
        "cores": os.cpu_count() or 1,
        "all_cores_ceiling_records_per_s": round((os.cpu_count() or 1) / (total / 1e6)),
    })


if __name__ == "__main__":
    main()
