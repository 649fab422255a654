"""Chart axes: round ticks (never 6176/12352 or 0.01 h three times) and a unit that fits the range."""

from __future__ import annotations

from connector.web.charts import fit_hours, nice_ticks
from connector.web.filters import hours


def test_chart_axes_have_round_ticks_and_a_unit_that_fits():
    assert nice_ticks(12352) == [0, 5000, 10000, 15000]
    assert nice_ticks(0.03) == [0, 0.01, 0.02, 0.03]
    assert nice_ticks(3, whole=True) == [0, 1, 2, 3]
    assert nice_ticks(0) == [0, 1]
    assert fit_hours([0.02, 0.5]) == (60.0, " min")
    assert fit_hours([100.0, None]) == (1 / 24, " d")
    assert fit_hours([5.0]) == (1.0, " h")
    assert (hours(0.004), hours(0.5), hours(5.25), hours(100)) == ("0 min", "30 min", "5.2 h", "4.2 d")
