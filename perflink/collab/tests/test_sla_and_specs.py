"""SLA clocks in Chinese working days, and the validation of each kind's quantified fields and rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflink.collab.actions import do_raise_demand
from perflink.collab.sla import add_working_days
from perflink.collab.specs import check_rule, check_spec, default_rule
from perflink.collab.tests.factories import RECRUITMENT_SPEC, at
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import ValidationFailed
from perflink.engine.calendar import WorkCalendar
from tests.factories import World

CALENDAR = WorkCalendar.from_chinese_calendar()


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2026-09-30", 1, "2026-10-08"),  # National Day: 1–7 October off
        ("2026-09-30", 2, "2026-10-09"),
        ("2026-09-30", 3, "2026-10-10"),  # Saturday 10 October is a make-up working day (调休)
        ("2026-09-30", 4, "2026-10-12"),
        ("2026-11-27", 2, "2026-12-01"),  # a Friday: the weekend is skipped
        ("2026-09-24", 1, "2026-09-28"),  # Mid-Autumn Festival on Friday 25 September
    ],
)
def test_working_days_skip_weekends_and_chinese_holidays(start: str, days: int, due: str) -> None:
    assert add_working_days(CALENDAR, dt.date.fromisoformat(start), days) == (
        dt.date.fromisoformat(due),
        False,
    )


def test_a_year_without_holiday_data_is_estimated_and_says_so() -> None:
    due, estimated = add_working_days(WorkCalendar(known_years=frozenset({2026})), dt.date(2026, 12, 30), 3)
    assert (due, estimated) == (dt.date(2027, 1, 4), True)  # Mon–Fri only beyond 2026


def test_a_demand_raised_before_the_national_day_holiday_is_due_after_it(world: World) -> None:
    with tenant_context(world.tenant, SYSTEM):
        training = do_raise_demand(
            kind="training",
            title="新人岗前培训",
            requesting_unit=world.sales,
            serving_unit=world.hr,
            spec={
                "audience": "3月新人",
                "content": "产品知识、合规",
                "courses": ["产品知识"],
                "pass_rate_target": 90,
                "due_working_days": 5,
            },
            user=None,
            actor=SYSTEM,
            at=at("2026-09-30", 17),
        )
    assert training.acceptance_due_on == dt.date(2026, 10, 9)
    assert training.delivery_due_on == dt.date(2026, 10, 13)  # 8, 9, 10 (Sat, 调休), 12, 13 October
    assert training.period == "2026-10"
    assert not training.due_dates_estimated


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        ("recruitment", {"arrival_days": 10}, "spec.positions"),
        ("recruitment", {"positions": 0, "arrival_days": 10}, "spec.positions"),
        ("recruitment", {"positions": 2.5, "arrival_days": 10}, "spec.positions"),
        ("recruitment", {"positions": True, "arrival_days": 10}, "spec.positions"),
        ("recruitment", {"positions": 20, "arrival_days": 10, "per_hire_target": "1e3000"}, "spec.per_hire_target"),
        ("recruitment", {"positions": 20, "arrival_days": 10, "per_hire_target": "0.001"}, "spec.per_hire_target"),
        ("recruitment", {"positions": 20, "arrival_days": 10, "salary": 1}, "spec.salary"),
        ("training", {"audience": "新人", "content": "x", "courses": [], "pass_rate_target": 90}, "spec.courses"),
        ("training", {"audience": "新人", "content": "x", "courses": ["a"], "pass_rate_target": 101}, "spec.pass_rate_target"),
        ("payment", {"catastrophe_tag": "台风", "target_payment_days": 0}, "spec.target_payment_days"),
        ("payment", {"catastrophe_tag": "台风", "target_payment_days": 1, "line": "boat"}, "spec.line"),
        ("payment", {"catastrophe_tag": "台风", "target_payment_days": 1, "reported_from": "7月"}, "spec.reported_from"),
        ("payment", {"catastrophe_tag": "台风", "target_payment_days": 1, "reported_from": "2026-08-01",
                     "reported_to": "2026-07-01"}, "spec.reported_to"),
        ("it_support", {"system": "核心系统"}, "spec.availability_target"),
        ("other", {}, "spec.target"),
    ],
)  # fmt: skip
def test_a_spec_is_checked_field_by_field(kind: str, spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_spec(kind, spec)
    assert refused.value.field == field


def test_a_spec_is_normalised_with_defaults() -> None:
    spec = check_spec("recruitment", {"positions": 20, "arrival_days": 10, "per_hire_target": 100000.0})
    assert spec == {"positions": 20, "arrival_days": 10, "per_hire_target": "100000", "attainment_days": 90}
    assert check_spec("payment", {"catastrophe_tag": " 台风摩羯 ", "target_payment_days": "1.5"}) == {
        "catastrophe_tag": "台风摩羯",
        "target_payment_days": "1.5",
    }


def test_the_default_recruitment_rule_is_domain_md_s() -> None:
    spec = check_spec("recruitment", RECRUITMENT_SPEC)
    assert default_rule("recruitment", spec) == {
        "components": [
            {"measure": "arrival_rate", "target": "90", "rule": {"kind": "threshold", "points_met": "20"}},
            {"measure": "attainment_rate", "target": "100", "rule": {"kind": "linear", "per_point": "1"}},
        ]
    }
    assert check_rule("recruitment", spec, default_rule("recruitment", spec)) == default_rule(
        "recruitment", spec
    )


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"components": []}, "rule.components"),
        ({"parts": []}, "rule"),
        ({"components": [{"measure": "salary", "rule": {"kind": "linear", "per_point": 1}}]}, "rule.components[0].measure"),
        ({"components": [{"measure": "arrival_rate", "rule": {"kind": "magic"}}]}, "rule.components[0].rule"),
        ({"components": [{"measure": "arrival_rate", "rule": {"kind": "survey"}}]}, "rule.components[0].rule"),
        ({"components": [{"measure": "arrival_rate", "target": -1, "rule": {"kind": "linear", "per_point": 1}}]},
         "rule.components[0].target"),
        ({"components": [{"measure": "attained", "rule": {"kind": "linear", "per_point": 1}}]}, "rule.components[0].target"),
    ],
)  # fmt: skip
def test_a_rule_is_the_engine_s_and_names_the_faulty_part(rule: dict[str, Any], field: str) -> None:
    spec = check_spec("recruitment", RECRUITMENT_SPEC)
    with pytest.raises(ValidationFailed) as refused:
        check_rule("recruitment", spec, rule)
    assert refused.value.field == field


def test_a_lower_is_better_measure_needs_a_lower_is_better_rule() -> None:
    spec = check_spec("payment", {"catastrophe_tag": "台风", "target_payment_days": 1})
    wrong = {
        "components": [{"measure": "payment_days_mean", "rule": {"kind": "threshold", "points_met": 10}}]
    }
    with pytest.raises(ValidationFailed) as refused:
        check_rule("payment", spec, wrong)
    assert refused.value.field == "rule.components[0].rule"
    assert (
        check_rule("payment", spec, default_rule("payment", spec))["components"][0]["measure"]
        == "payment_days_mean"
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(["positions", "arrival_days", "per_hire_target", "courses", "line", "reported_from",
                          "measure", "target", "rule", "components", "kind", "points_met", "per_point"])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["recruitment", "training", "payment", "it_support", "other"]),
    spec=st.dictionaries(FIELDS, JSON, max_size=4) | JSON,
    rule=st.fixed_dictionaries(
        {"components": st.lists(st.dictionaries(FIELDS, JSON, max_size=3), max_size=2)}
    )
    | JSON,
)
def test_any_json_is_either_accepted_or_refused_with_a_field(kind: str, spec: Any, rule: Any) -> None:
    """Whatever a client sends as spec and rule, the answer is a checked value or a ValidationFailed naming a
    field: never another exception (a 500)."""
    field = None
    try:
        checked = check_spec(kind, spec)
        check_rule(kind, checked, rule)
    except ValidationFailed as refused:
        field = refused.field or "?"
    assert field is None or field.startswith(("spec", "rule"))
