"""The API's body checks: nesting depth, numbers storage cannot hold, and YAML problems in the API's shape."""

from __future__ import annotations

import math

from connector.api.bodies import MAX_BODY_DEPTH, value_refusal, yaml_refusal
from connector.nesting import deep_path


def nest(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


def test_deep_path_allows_the_limit_and_names_the_first_level_beyond():
    assert deep_path({"a": nest(MAX_BODY_DEPTH - 1)}) is None
    assert deep_path({"a": nest(MAX_BODY_DEPTH)}) == "a" + ".0" * (MAX_BODY_DEPTH - 1)
    assert deep_path(nest(100_000)) is not None  # iterative: no RecursionError


def test_yaml_bodies_get_the_api_error_shape():
    loop = yaml_refusal("x: 1\nb: &b {c: [1, {d: *b}]}\n", "document")
    assert loop is not None and loop.code == "yaml_alias_loop" and "document" in loop.details["fields"]
    too_deep = yaml_refusal("a: " + "[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1))
    assert too_deep is not None and too_deep.code == "body_too_deep"  # a 400, like deep JSON
    assert yaml_refusal("kind: [zendesk") is None  # syntax errors: the route's own words


def test_value_refusal_names_each_number_storage_cannot_hold():
    refusal = value_refusal({"a": [1, 2**63], "b": {"c": -(2**63) - 1}, "d": math.nan, "e": 2**63 - 1, "f": True})
    assert refusal is not None
    assert refusal.details["fields"] == {
        "a.1": ["Must be at most 9223372036854775807."], "b.c": ["Must be at least -9223372036854775808."],
        "d": ["Must be a finite number: JSON has no NaN or Infinity, and a number this large overflows."]}
    assert value_refusal({"x": "Acme\u0000"}).details["fields"] == {  # type: ignore[union-attr]
        "x": ["Text may not contain the NUL character (U+0000)."]}
    assert value_refusal({"ok": [1, 2.5, "x", None]}) is None
