"""The metrics page: governance figures as server-rendered SVG charts, with the numbers as tables."""

from __future__ import annotations

from flask import abort, render_template, request

from connector import operations
from connector.governance.metrics import OUTCOMES, PERIODS, governance_metrics
from connector.models import utcnow
from connector.reports import decision_facts, outcome_facts
from connector.web import charts, expiring
from connector.web.blueprint import bp
from connector.web.signin import requires_sign_in


@bp.route("/reports")
@requires_sign_in("admin", "reviewer", "auditor")
def metrics_page() -> str:
    period = request.args.get("period", "month")
    if period not in PERIODS:
        abort(400, f"Unknown period '{period}'. Use one of: {', '.join(PERIODS)}.")
    figures = governance_metrics(decision_facts(), utcnow(), period, outcome_facts())
    over_time = figures["over_time"]
    labels = [row["period"] for row in over_time]
    sla = figures["sla"]
    backlog = figures["backlog"]
    mean = [row["mean_hours"] for row in over_time]
    median = [row["median_hours"] for row in over_time]
    factor, unit = charts.fit_hours(mean + median)
    expiries = expiring.by_month(operations.today())
    svg = {
        "time": charts.line_chart("time-to-decide", f"Time to decide per {period} ({unit.strip()})", labels, {
            "mean": [None if v is None else v * factor for v in mean],
            "median": [None if v is None else v * factor for v in median]}, unit=unit),
        "expiries": charts.bars("expiries", "Exceptions in force ending per month",
                                [(month, count, "s-expiring") for month, count in expiries]),
        "sla": charts.share_bar("sla", "SLA compliance of decided requests", sla["on_time"], sla["decided"],
                                "decided on time", "decided late"),
        "outcomes": charts.stacked_bars("outcomes", "Outcomes by category", figures["by_category"], OUTCOMES),
        "backlog": charts.bars("backlog", "Open backlog", [
            ("needs info", backlog["needs_info"], "s-needs_info"), ("in review", backlog["in_review"], "s-in_review"),
            ("overdue", figures["overdue"], "s-overdue")]),
    }
    return render_template("web/metrics.html", figures=figures, svg=svg, period=period, periods=PERIODS,
                           outcomes=OUTCOMES, expiries=expiries)
