"""Event data canonical JSON cannot hold (integers beyond 2**53, NaN, the infinities) is recorded as text, so an
append never fails and the fast path still equals RFC 8785 for what is stored."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.audit import _plain, _prepare, canonical

MOMENT = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)

any_numbers = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def test_unsafe_integers_and_non_finite_floats_become_text():
    clean, plain = _prepare({"big": 2**60, "neg": -(10**30), "nan": math.nan, "inf": -math.inf, "ok": 2**53 - 1,
                             "float_big": 1e20, "whole": 5.0})
    assert clean == {"big": "1152921504606846976", "neg": "-" + "1" + "0" * 30, "nan": "nan", "inf": "-inf",
                     "ok": 2**53 - 1, "float_big": 1e20, "whole": 5}
    assert not plain  # 1e20 stays a float: RFC 8785 writes it, stdlib JSON would not write it the same way


@settings(max_examples=300, deadline=None)
@given(any_numbers)
def test_any_prepared_data_canonicalises_and_the_fast_path_agrees(data):
    clean, plain = _prepare({"d": data})
    expected = rfc8785.dumps({"seq": 1, "time": MOMENT.isoformat(), "actor": "a", "action": "x.y",
                              "subject": None, "data": clean})
    assert canonical(1, MOMENT, "a", "x.y", None, clean) == expected
    if plain:
        assert _plain(clean)


def test_an_event_with_huge_numbers_appends_and_verifies(app):
    from connector import audit
    from connector.db import db

    with app.app_context():
        audit.append("test", "x.big", "s", {"ticket_form_id": 10**30, "default": 2**60, "rate": math.inf})
        db.session.commit()
        result = audit.verify()
        assert result.ok, result
        stored = [e.data for e in audit.iter_events() if e.action == "x.big"]
        assert stored == [{"ticket_form_id": "1" + "0" * 30, "default": "1152921504606846976", "rate": "inf"}]
