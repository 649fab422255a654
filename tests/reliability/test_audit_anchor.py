"""An audit log that cannot be cut unnoticed: deleting its last event, or rewriting its tail with recomputed
hashes, still verifies on its own but fails ``audit verify --anchor`` against heads saved earlier."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.database import is_postgres

from connector import audit, audit_anchors, worker
from connector.db import db
from connector.models import AuditEvent


def append_events(app, count: int, actor: str = "alice") -> None:
    with app.app_context():
        for n in range(count):
            audit.append(actor, "test.event", f"thing:{n}", {"n": n})
            db.session.commit()


def save_head(app, anchor_file: Path) -> dict:
    """What an operator does (or the worker, hourly): append ``audit head`` to the anchor file."""
    result = app.test_cli_runner().invoke(args=["connector", "audit", "head"])
    assert result.exit_code == 0
    with anchor_file.open("a") as out:
        out.write(result.output)
    return json.loads(result.output)


def verify(app, anchor_file: Path | None = None):
    args = ["connector", "audit", "verify"] + (["--anchor", str(anchor_file)] if anchor_file else [])
    return app.test_cli_runner().invoke(args=args)


def tamper(app, *statements: tuple[str, dict]) -> None:
    """Raw SQL past the table's refusal of UPDATE/DELETE, as someone with the database's owner role could."""
    engine = create_engine(app.config["CONNECTOR_DATABASE_URL"])
    with engine.begin() as conn:
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        for sql, params in statements:
            conn.execute(text(sql), params)
    engine.dispose()


@pytest.fixture
def anchored(app, tmp_path: Path) -> tuple[Path, dict, dict]:
    """A chain anchored twice: once part-way, once at its head."""
    anchor_file = tmp_path / "anchors.jsonl"
    append_events(app, 4)
    early = save_head(app, anchor_file)
    append_events(app, 10)
    late = save_head(app, anchor_file)
    assert late["seq"] == early["seq"] + 10
    return anchor_file, early, late


def test_an_intact_chain_holds_every_anchor(app, anchored):
    anchor_file, _, late = anchored
    result = verify(app, anchor_file)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok:") and "2 anchors held" in result.output
    assert f"head seq {late['seq']}" in result.output


def test_deleting_the_last_event_fails_the_anchor(app, anchored):
    anchor_file, _, late = anchored
    tamper(app, ("DELETE FROM audit_events WHERE seq = :s", {"s": late["seq"]}))
    assert verify(app).exit_code == 0  # the shorter chain is consistent on its own: the gap anchors close
    result = verify(app, anchor_file)
    assert result.exit_code == 1
    assert "ANCHOR NOT HELD" in result.output and "line 2" in result.output
    assert f"seq {late['seq']}, hash {late['hash']}" in result.output
    assert f"the chain ends at seq {late['seq'] - 1}, before the anchor" in result.output


def test_rewriting_the_tail_with_recomputed_hashes_fails_the_anchor(app, anchored):
    anchor_file, early, late = anchored
    with app.app_context():
        events = [audit.event_dict(e) for e in audit.iter_events()]
    tail = events[-6:]
    prev = tail[0]["prev_hash"]
    rewrites = []
    for ev in tail:  # the forger's chain: other actors, every link and hash recomputed
        body = audit.canonical(ev["seq"], _time(app, ev["seq"]), "mallory", ev["action"], ev["subject"], ev["data"])
        digest = audit.chain_hash(prev, body)
        rewrites.append(("UPDATE audit_events SET actor = 'mallory', prev_hash = :p, hash = :h WHERE seq = :s",
                         {"p": prev, "h": digest, "s": ev["seq"]}))
        prev = digest
    tamper(app, *rewrites)
    plain = verify(app)
    assert plain.exit_code == 0 and f"head seq {late['seq']}" in plain.output  # consistent, same length
    assert prev not in (late["hash"], early["hash"])
    result = verify(app, anchor_file)
    assert result.exit_code == 1
    assert "ANCHOR NOT HELD" in result.output and "line 2" in result.output
    assert f"the chain's event {late['seq']} now has hash {prev}" in result.output


def _time(app, seq: int):
    with app.app_context():
        return db.session.get(AuditEvent, seq).occurred_at


def test_a_broken_chain_is_reported_before_the_anchors(app, anchored):
    anchor_file, _, late = anchored
    tamper(app, ("UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", {"s": late["seq"] - 2}))
    result = verify(app, anchor_file)
    assert result.exit_code == 1 and f"BROKEN at seq {late['seq'] - 2}" in result.output


@pytest.mark.parametrize("line", [
    "not json",
    '{"seq": "3", "hash": "' + "a" * 64 + '"}',
    '{"seq": 3}',
    '{"seq": -1, "hash": "' + "a" * 64 + '"}',
    '{"seq": 3, "hash": "xyz"}',
    "[3]",
])
def test_a_malformed_anchor_line_is_one_clear_error(app, anchored, line):
    anchor_file, _, _ = anchored
    with anchor_file.open("a") as out:
        out.write(line + "\n")
    result = verify(app, anchor_file)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "line 3" in lines[0]
    assert "audit head" in lines[0]


def test_an_empty_anchor_file_is_an_error(app, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    result = verify(app, empty)
    assert result.exit_code == 2 and "holds no anchor" in result.output


def test_an_anchor_beyond_an_intact_head_fails(app, anchored):
    anchor_file, _, late = anchored
    with anchor_file.open("a") as out:
        out.write(json.dumps({"seq": late["seq"] + 5, "hash": "b" * 64}) + "\n")
    result = verify(app, anchor_file)
    assert result.exit_code == 1 and "line 3" in result.output and "before the anchor" in result.output


@pytest.fixture
def app_overrides(tmp_path: Path):
    return {"CONNECTOR_AUDIT_ANCHOR_PATH": str(tmp_path / "worker-anchors.jsonl")}


def test_the_worker_anchors_the_head_once_an_hour(app, client, tmp_path: Path):
    path = tmp_path / "worker-anchors.jsonl"
    append_events(app, 3)
    worker.run_worker(app, once=True)
    with app.app_context():
        head = audit.head()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [head]
    append_events(app, 2)
    with app.app_context():
        assert audit_anchors.anchor_head() is None  # anchored moments ago: not due
        later = audit_anchors.anchor_head(now=time.time() + audit_anchors.ANCHOR_INTERVAL_SECONDS + 1)
    assert later is not None and later["seq"] == head["seq"] + 2
    assert len(path.read_text().splitlines()) == 2
    assert verify(app, path).exit_code == 0
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f"connector_audit_head_seq {float(later['seq'])}" in metrics
