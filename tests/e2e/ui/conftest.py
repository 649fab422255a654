"""Browser fixtures: the system's Chromium driven by Playwright, the app served on loopback per test.

Never a downloaded browser: ``/usr/bin/chromium`` (``apt-get install -y chromium``); without it the tests skip
and say why. Every page may talk only to the app's own origin, which each test checks after it ran.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.ui.test_ui_browser import assert_fits_a_phone
from flask import Flask
from support.bodies import LARGE, SMALL
from support.servers import serve

PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}



@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser context; after the test, every request it made must have gone to the app's origin."""
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    yield tab
    context.close()
    assert requested, "the test made no request at all"
    foreign = [url for url in requested if not url.startswith(base_url + "/")]
    assert not foreign, f"pages requested other hosts: {foreign}"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Save a full-page screenshot under test-results/screenshots/ (the test output folder)."""
    folder = Path(request.config.rootpath) / "test-results" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(tab: Any, name: str) -> Path:
        path = folder / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def account(app: Flask) -> Callable[..., str]:
    from connector.db import db
    from connector.web.accounts import create_account

    def make(email: str, role: str, *committee_roles: str) -> str:
        with app.app_context():
            create_account(email, role, committee_roles, password=PASSWORD, actor="test")
            db.session.commit()
        return email

    return make


@pytest.fixture
def sign_in(base_url: str) -> Callable[[Any, str], None]:
    """Sign in with the keyboard only: type, Tab to the next field, Enter submits."""

    def run(tab: Any, email: str) -> None:
        tab.goto(f"{base_url}/sign-in")
        tab.get_by_label("Email").click()
        tab.keyboard.type(email)
        tab.keyboard.press("Tab")
        tab.keyboard.type(PASSWORD)
        with tab.expect_navigation():
            tab.keyboard.press("Enter")

    return run


@pytest.fixture
def small() -> dict[str, Any]:
    return copy.deepcopy(SMALL)


@pytest.fixture
def large() -> dict[str, Any]:
    return copy.deepcopy(LARGE)


AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    folder = os.environ.get("LEC_FIELD_TOOLS")
    if not folder:
        pytest.skip("LEC_FIELD_TOOLS is unset: run .ci/field-tools (it installs axe-core) and point "
                    "LEC_FIELD_TOOLS at its folder to run the accessibility checks")
    path = Path(folder) / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file():
        pytest.skip(f"{path} is missing: re-run .ci/field-tools {folder} (it installs axe-core)")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def check(page: Any, axe_source: str, screenshot: Any) -> Any:
    """Screenshot the page at 1280 and at 390 px; at both, axe-core finds nothing serious or critical and, at
    390 px, the page never scrolls sideways."""

    def run(name: str) -> None:
        for size, label in ((DESKTOP, "1280"), (PHONE, "390")):
            page.set_viewport_size(size)
            screenshot(page, f"{name}-{label}")
            if size is PHONE:
                assert_fits_a_phone(page, name)
            if not page.evaluate("typeof window.axe !== 'undefined'"):
                page.evaluate(axe_source + "\n;0")
            bad = [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("serious", "critical")]
            assert not bad, f"{name} at {label} px: {bad}"
        page.set_viewport_size(DESKTOP)

    return run
