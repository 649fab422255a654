"""Backfill and write-back of two versions of the connector side by side, in one run.

    python tests/benchmarks/compare.py --before REV [--records N] [--decisions D] [--rounds K]

REV (a commit, tag or branch of this repository) is exported with ``git archive`` into a temporary folder; each
round runs every benchmark once on REV and once on the working tree, alternating which goes first, so both share
the machine's load alike. A figure is the best of its rounds (the least disturbed run). The last line printed is
one JSON object: per benchmark, the throughput before and after, their ratio (after ÷ before), each run's
figures, and the HTTP calls of each side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TREE = HERE.parents[1]
#: benchmark name → (script, arguments given the sizes, the throughput key in its JSON)
BENCHMARKS: dict[str, tuple[str, list[str], str]] = {
    "backfill_salesforce": ("backfill.py", ["--source", "salesforce", "--records", "{records}"], "records_per_s"),
    "backfill_zendesk": ("backfill.py", ["--source", "zendesk", "--records", "{records}"], "records_per_s"),
    "writeback_salesforce": ("writeback.py", ["--target", "salesforce", "--decisions", "{decisions}"],
                             "decisions_per_s"),
    "writeback_zendesk": ("writeback.py", ["--target", "zendesk", "--decisions", "{decisions}"],
                          "decisions_per_s"),
}


def export(revision: str, into: Path) -> Path:
    """The files of ``revision`` (as committed) in a folder of their own."""
    archive = into / "before.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(TREE), "archive", "--format=tar", revision], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "before", filter="data")
    return into / "before"


def run(tree: Path, script: str, args: list[str]) -> dict[str, Any]:
    """One benchmark process whose ``connector`` is the one in ``tree`` (first on the import path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run([sys.executable, str(tree / "tests" / "benchmarks" / script), *args], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{script} {' '.join(args)} failed in {tree}:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the commit to compare the working tree with")
    parser.add_argument("--records", type=int, default=40000)
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=sorted(BENCHMARKS))
    args = parser.parse_args(argv)
    sizes = {"records": args.records, "decisions": args.decisions}
    report: dict[str, Any] = {"before": args.before, "rounds": args.rounds, **sizes, "benchmarks": {}}
    with tempfile.TemporaryDirectory(prefix="lec-compare-") as tmp:
        trees = {"before": export(args.before, Path(tmp)), "after": TREE}
        for name in args.only:
            script, template, key = BENCHMARKS[name]
            arguments = [part.format(**sizes) for part in template]
            runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
            for round_ in range(args.rounds):
                order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
                for side in order:
                    runs[side].append(run(trees[side], script, arguments))
            best = {side: max(r[key] for r in results) for side, results in runs.items()}
            report["benchmarks"][name] = {
                "unit": key, "before": best["before"], "after": best["after"],
                "ratio": round(best["after"] / best["before"], 3) if best["before"] else None,
                "runs_before": [r[key] for r in runs["before"]], "runs_after": [r[key] for r in runs["after"]],
                "http_calls_before": runs["before"][-1].get("http_calls"),
                "http_calls_after": runs["after"][-1].get("http_calls"),
            }
            print(f"{name}: before {best['before']}, after {best['after']} {key}", file=sys.stderr, flush=True)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
