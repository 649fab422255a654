"""One walk finds every value a stored document cannot hold, keys included, at any depth."""

from __future__ import annotations

from mappings.storable import INT64_MAX, NUL_MESSAGE, unstorable


def test_every_unstorable_value_and_key_is_named_by_its_path():
    found = dict(unstorable({"a\x00": 1, "b": [1, {"c": INT64_MAX + 1}], "d": float("inf"), "e": True,
                             "f": INT64_MAX, "g": "fine"}))
    assert found == {"a\x00": NUL_MESSAGE, "b.1.c": f"Must be at most {INT64_MAX}.",
                     "d": "Must be a finite number: JSON has no NaN or Infinity, and a number this large overflows."}
    assert dict(unstorable("x\x00")) == {"(body)": NUL_MESSAGE}


def test_the_walk_has_no_recursion_limit():
    value: object = "x\x00"
    for _ in range(50_000):
        value = [value]
    assert len(list(unstorable(value))) == 1
