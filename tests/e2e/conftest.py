"""The browser every end-to-end page test shares: the system's Chromium driven by Playwright, one per session.

Never a downloaded browser: ``/usr/bin/chromium`` (``apt-get install -y chromium``); without it the tests skip and
say why. One session-wide instance, because Playwright's sync API cannot run two at once in one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install the system Chromium (apt-get install -y chromium) to run the "
                    "browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                                                "(pip install 'playwright>=1.40')")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
