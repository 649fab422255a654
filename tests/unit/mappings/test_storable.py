"""One walk finds every value a stored document cannot hold, keys included, at any depth."""

from __future__ import annotations

import json

from mappings.storable import INT64_MAX, NUL_MESSAGE, SURROGATE_MESSAGE, text_problem, unstorable


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


def test_unpaired_surrogates_are_named_in_values_and_keys_at_any_depth_but_pairs_are_text():
    found = dict(unstorable({"title": "x\ud800", "k\udfff": 1, "a": [{"b": "\udc00y"}], "emoji": "\U0001f600",
                             "pair": json.loads('"\\ud83d\\ude00"')}))
    assert found == {"title": SURROGATE_MESSAGE, "k\udfff": SURROGATE_MESSAGE, "a.0.b": SURROGATE_MESSAGE}
    assert text_problem("x\ud800") == SURROGATE_MESSAGE and text_problem("x\x00\ud800") == NUL_MESSAGE
    assert text_problem("ordinary ü text") is None
