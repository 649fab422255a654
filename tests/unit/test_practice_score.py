"""The practice consistency score's parts, computed by hand (``connector.practice`` defines them)."""

from __future__ import annotations

import pytest

from connector.practice import attempt_score, closeness


def test_closeness_compares_numbers_lists_other_values_and_duration():
    assert closeness({"seats": 105}, 90, {"seats": 105}, 90) == 1.0
    # seats 1 - 5/110, regions only on one side 0, duration 1 - 30/90
    assert closeness({"seats": 110, "regions": ["EMEA"]}, 60, {"seats": 105}, 90) == round(
        ((1 - 5 / 110) + 0 + (1 - 30 / 90)) / 3, 4)
    # lists: overlap over union, case-insensitive
    assert closeness({"regions": ["emea", "APAC"]}, None, {"regions": ["EMEA", "LATAM"]}, None) == round(1 / 3, 4)
    assert closeness({"usage_rights": ["oem"]}, None, {"usage_rights": ["oem"]}, 30) == 1.0  # one duration: skipped
    assert closeness({}, None, {}, None) == 1.0


@pytest.mark.parametrize(("match", "both", "near", "expected"), [
    (False, True, 0.9, 0.0), (True, False, None, 1.0), (True, True, 0.5, 0.75), (True, True, 1.0, 1.0)])
def test_an_attempts_score(match, both, near, expected):
    assert attempt_score(match, both, near) == expected
