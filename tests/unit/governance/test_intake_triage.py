"""Intake, triage and risk as pure functions over the default policy."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
from support.bodies import LARGE, SMALL

from connector.governance.errors import InvalidInput
from connector.governance.intake import run_intake
from connector.governance.policy import default_policy, default_policy_text, parse_policy
from connector.governance.schema import load_fields, load_lenient
from connector.governance.triage import decide_track, score_risk

POLICY = default_policy()


def typed(body):
    return load_fields(copy.deepcopy(body))


def test_small_is_fast_and_low():
    fields = typed(SMALL)
    assert decide_track(fields, POLICY).track == "fast"
    risk = score_risk(fields, POLICY)
    assert risk.band == "low" and risk.score == 0
    assert run_intake(fields, POLICY).complete


def test_large_is_standard_and_critical_with_reasons():
    fields = typed(LARGE)
    track = decide_track(fields, POLICY)
    assert track.track == "standard"
    assert any("user base" in r for r in track.reasons)
    risk = score_risk(fields, POLICY)
    assert risk.band == "critical"
    assert risk.dimensions["legal"] == 5  # capped
    assert all({"dimension", "points", "because"} <= set(line) for line in risk.explanation)
    assert POLICY.required_roles(track.track, risk.band) == ["licensing", "legal", "product", "sales", "security"]


def test_unknown_currency_is_never_fast():
    body = copy.deepcopy(SMALL)
    body["revenue_impact"]["currency"] = "XTS"
    assert decide_track(typed(body), POLICY).track == "standard"


def test_other_currency_is_converted_for_thresholds():
    body = copy.deepcopy(SMALL)
    body["revenue_impact"] = {"amount": "20000", "currency": "GBP"}  # 25,400 USD: over the fast-track limit
    result = decide_track(typed(body), POLICY)
    assert result.track == "standard" and any("revenue" in r for r in result.reasons)


def test_mapping_errors_count_as_errors_not_missing():
    fields, errors = load_lenient({"title": "x", "requester": {"email": "nope"}, "user_base": "lots"})
    result = run_intake(fields, POLICY, errors)
    assert "requester.email" in result.errors and "requester.email" not in result.missing
    assert "user_base" in result.errors
    assert not result.complete


def test_overrides_replace_a_dimension():
    fields = typed(SMALL)
    risk = score_risk(fields, POLICY, {"legal": {"value": 5, "rationale": "export control", "by": "lee"}})
    assert risk.dimensions["legal"] == 5 and risk.score > 0
    assert risk.explanation[-1]["because"].startswith("Override to 5 by lee")


def test_policy_validation_lists_every_problem():
    text = (default_policy_text()
            .replace("chair: licensing", "chair: finance")
            .replace("reminder_fraction: 0.5", "reminder_fraction: 2")
            .replace("low: 0, medium: 1.25", "low: 0.5, medium: 1.25"))
    with pytest.raises(InvalidInput) as exc:
        parse_policy(text)
    assert {"committee.chair", "sla.reminder_fraction", "risk.bands"} <= set(exc.value.details["fields"])


def test_rule_fields_and_ops_are_checked():
    text = default_policy_text().replace("field: revenue_base, op: gte, value: 10000",
                                         "field: revenue_bass, op: about, value: 10000", 1)
    with pytest.raises(InvalidInput) as exc:
        parse_policy(text)
    fields = exc.value.details["fields"]
    assert "risk.rules.0.when.field" in fields and "risk.rules.0.when.op" in fields


def test_governance_package_imports_no_framework():
    root = Path(__file__).resolve().parents[3] / "connector" / "governance"
    banned = {"flask", "sqlalchemy", "flask_sqlalchemy", "requests", "werkzeug", "flask_smorest", "authlib"}
    offenders = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in banned or (name.startswith("connector") and not name.startswith("connector.governance")):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def _holds(op, actual, expected):
    """The rule semantics, as the policy's comments state them: the oracle the compiled closures must match."""
    from decimal import Decimal

    if op == "present":
        return actual not in (None, "", [], {})
    if actual is None:
        return False
    if op in ("eq", "ne"):
        return bool(actual == expected) is (op == "eq")
    if op in ("in", "not_in"):
        return (actual in expected) is (op == "in")
    if op == "contains_any":
        have = {str(v).lower() for v in (actual if isinstance(actual, (list, tuple, set)) else [actual])}
        return bool(have & {str(v).lower() for v in expected})
    number = actual if isinstance(actual, (Decimal, int)) else Decimal(str(actual))
    bound = expected if isinstance(expected, int) else Decimal(str(expected))
    return {"gt": number > bound, "gte": number >= bound, "lt": number < bound, "lte": number <= bound}[op]


def test_compiled_rule_predicates_agree_with_the_rule_semantics():
    """Risk rules are compiled to closures once per policy; each must decide exactly as the rule reads."""
    from decimal import Decimal

    from connector.governance.triage import _predicate

    actuals = [None, "", [], {}, 0, 5, 10, Decimal("9.5"), 2.5, True, "EMEA", "emea", ["EMEA", "APAC"], ["x"],
               ("APAC",), "regulated", 250000]
    cases = [("present", None), ("eq", "regulated"), ("ne", "regulated"), ("in", ["EMEA", "regulated", 5]),
             ("not_in", ["EMEA", "regulated"]), ("in", [["x"], "a"]), ("contains_any", ["emea", "LATAM"]),
             ("gt", 5), ("gte", Decimal("9.5")), ("lt", 10), ("lte", 5)]
    for op, expected in cases:
        holds = _predicate(op, expected)
        for actual in actuals:
            try:
                want = _holds(op, actual, expected)
            except Exception as exc:  # the rule cannot apply to this value: neither may the closure
                import pytest

                with pytest.raises(type(exc)):
                    holds(actual)
                continue
            assert holds(actual) is want, (op, expected, actual)
