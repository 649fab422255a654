"""The benchmark scripts still run from a fresh clone and still measure what they claim, at small sizes.

Not timings (speed is only ever reported, by the scripts themselves): each script runs as a user would run it, in
its own process, and its last line must be the JSON object its docstring promises, with figures that hold
whatever the machine's speed (every record created, no HTTP call beyond the minimum the APIs need, every
decision delivered, every webhook processed exactly once). The SQLite-backed scripts run in the SQLite pass;
the webhook, freshness, API load and write-path benchmarks, which run on PostgreSQL only, in the PostgreSQL pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ON_POSTGRES = bool(os.environ.get("CONNECTOR_TEST_DATABASE_URL"))
sqlite_pass = pytest.mark.skipif(ON_POSTGRES, reason="runs on its own SQLite file: once, in the SQLite pass")
postgres_pass = pytest.mark.skipif(not ON_POSTGRES, reason="the benchmark needs PostgreSQL")


def run(script: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=BENCHMARKS.parents[1], env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing; stderr: {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@sqlite_pass
@pytest.mark.parametrize(("source", "records", "calls"), [("salesforce", 4100, 3), ("zendesk", 2100, 3 + 1)])
def test_backfill_benchmark(source: str, records: int, calls: int) -> None:
    result = run("backfill.py", "--source", source, "--records", str(records))
    assert {"source", "records", "wall_s", "cpu_s", "records_per_s", "http_calls", "min_http_calls",
            "peak_rss_mb"} <= result.keys()
    assert (result["source"], result["records"], result["created"]) == (source, records, records)
    assert result["min_http_calls"] == calls  # a partial last page still costs a call; Zendesk: + the ticket count
    assert result["http_calls"] == calls  # tokens were fetched by the authorisation, before the clock
    assert result["records_per_s"] > 0 and result["peak_rss_mb"] > 0
    if sys.platform == "linux":
        assert result["sandbox_cpu_s"] >= 0 and result["cores"] == os.cpu_count()
        assert result["all_cores_ceiling_records_per_s"] > 0


@sqlite_pass
def test_backfill_stages_benchmark() -> None:
    result = run("backfill_stages.py", "--source", "zendesk", "--records", "1500")
    assert result["created"] == 1500
    stages = result["us_per_record"]
    assert {"fetch_and_parse", "mapping", "normalize", "assess", "content_hash", "store"} <= stages.keys()
    assert all(value > 0 for name, value in stages.items() if name != "content_hash")
    sql = result["store_detail_us_per_record"]["sql"]
    assert {"exception_requests", "audit_events", "deliveries"} <= sql.keys()  # the page's three inserts
    assert result["total_us_per_record"] == pytest.approx(sum(stages.values()), abs=0.1 * len(stages))


@sqlite_pass
@pytest.mark.parametrize(("target", "decisions"), [("salesforce", 250), ("zendesk", 150)])
def test_writeback_benchmark(target: str, decisions: int) -> None:
    result = run("writeback.py", "--target", target, "--decisions", str(decisions))
    assert {"decisions", "wall_s", "decisions_per_s", "http_calls", "min_http_calls"} <= result.keys()
    assert result["decisions"] > 0 and result["delivered"] >= result["decisions"]
    assert result["min_http_calls"] <= result["http_calls"] <= result["min_http_calls"] + 2


@sqlite_pass
def test_mapping_benchmark() -> None:
    result = run("mapping.py", "--records", "3000")
    assert result["records"] == 3000 and result["records_per_s"] > 0


@postgres_pass
def test_webhooks_benchmark() -> None:
    result = run("webhooks.py", "--requests", "300", "--concurrency", "4", "--rate", "100")
    assert {"requests", "rps", "p50_ms", "p99_ms", "errors", "processed_exactly_once"} <= result.keys()
    assert result["requests"] == 300 and result["errors"] == 0
    assert result["processed_exactly_once"] is True


@postgres_pass
def test_freshness_benchmark() -> None:
    result = run("freshness.py", "--pushes-per-s", "4", "--decisions-per-s", "1", "--seconds", "8", timeout=600)
    assert {"push_to_queue_p50_ms", "push_to_queue_p99_ms", "decision_to_source_p50_ms", "decision_to_source_p99_ms",
            "decision_to_billing_p99_ms", "lost", "doubled"} <= result.keys()
    assert result["pushes"] == 32 and result["push_errors"] == 0 and result["decision_errors"] == 0
    assert result["lost"] == 0 and result["doubled"] == 0  # every push queued once, every decision delivered
    assert result["push_to_queue_p50_ms"] is not None and result["push_to_queue_p50_ms"] > 0
    if result["decisions"]:
        assert result["decision_to_source_p99_ms"] is not None and result["decision_to_source_p99_ms"] > 0
    assert result["connector_cpu_ms_per_change"] > 0


@postgres_pass
def test_api_load_benchmark() -> None:
    result = run("api_load.py", "--rps", "10", "--seconds", "4", "--clients", "4", timeout=600)
    assert {"rps", "p50_ms", "p99_ms", "errors", "audit_verified", "by_kind"} <= result.keys()
    assert set(result["by_kind"]) == {"list", "create", "vote", "decide"}
    assert result["requests"] == 40 and result["errors"] == 0 and result["audit_verified"] is True
    assert all(kind["p99_ms"] > 0 for kind in result["by_kind"].values())
    assert result["cpu_ms_per_request"]["gunicorn"] > 0


@postgres_pass
def test_write_path_benchmark() -> None:
    result = run("write_path.py", "--count", "3", timeout=600)
    for kind in ("create", "vote", "decide"):
        assert result[kind]["ms"] > 0 and result[kind]["sql"] > 0
        assert {"auth", "operation", "audit_write", "commit"} <= result[kind]["stages_ms"].keys()
    assert result["audit_verified"] is True


@sqlite_pass
def test_compare_runs_two_versions_side_by_side() -> None:
    root = BENCHMARKS.parents[1]
    if subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("compare.py exports the earlier version with git archive: this tree is not a git checkout")
    result = run("compare.py", "--before", "HEAD", "--records", "600", "--decisions", "40", "--rounds", "1",
                 "--only", "backfill_salesforce", "writeback_zendesk")
    assert set(result["benchmarks"]) == {"backfill_salesforce", "writeback_zendesk"}
    for figures in result["benchmarks"].values():
        assert figures["before"] > 0 and figures["after"] > 0
        assert figures["ratio"] == round(figures["after"] / figures["before"], 3)
        assert figures["http_calls_before"] == figures["http_calls_after"]  # same code: the same calls
