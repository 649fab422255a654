"""``next=`` after sign-in: only a plain local path is followed; anything a browser or a header could read as
another place (a host, a scheme, a header line) goes home."""

from __future__ import annotations

import pytest

from connector.web.signin import safe_next


@pytest.mark.parametrize("target", [
    "/requests", "/requests/LEX-1042?tab=history#decision", "/queue?state=in_review&limit=5", "/a%2Fb", "/",
])
def test_a_plain_local_path_is_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "requests", "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
    "http:/evil.example", "javascript:alert(1)", "/\r\nLocation: https://evil.example", "/\nx", "/\t/evil.example",
    "/ /evil.example", "/\x00", "/\x7f", "/caf\u00e9", "/\u2215\u2215evil.example", "/x\ud800",
])
def test_anything_else_goes_home(target):
    assert safe_next(target) is None
