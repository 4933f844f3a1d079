"""A whole run over a small, hand-checked insurer: metric values, points, totals, explanations, determinism.

The world: group 1 with sales team 2 and HR department 3. Agents 10 and 11 sit in team 2; 12 is a new agent
hired through requisition 7 (raised by team 2, recruited by HR 3). Claims handler 30 sits in team 2 for brevity.
Every expected number below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflink.engine.calendar import WorkCalendar
from perflink.engine.metrics import FieldInfo, Level, MetricError, parse_metric, prepare
from perflink.engine.periods import Period
from perflink.engine.run import Inputs, Item, Template, compute_values, fingerprint, rerun, run
from perflink.engine.scoring import parse_rule

D = dt.date
T = dt.datetime

CATALOGUE: dict[str, dict[str, FieldInfo]] = {
    "policy": {
        "agent": FieldInfo("employee", "agent_id"),
        "unit": FieldInfo("unit", "unit_id"),
        "issued_on": FieldInfo("date", "issued_on"),
        "first_year_premium": FieldInfo("money", "first_year_premium"),
        "status": FieldInfo("enum", "status"),
    },
    "claim": {
        "handler": FieldInfo("employee", "handler_id"),
        "unit": FieldInfo("unit", "unit_id"),
        "approved_at": FieldInfo("datetime", "approved_at"),
        "paid_at": FieldInfo("datetime", "paid_at"),
    },
    "requisition": {
        "requesting_unit": FieldInfo("unit", "requesting_unit_id"),
        "recruiting_unit": FieldInfo("unit", "recruiting_unit_id"),
        "opened_on": FieldInfo("date", "opened_on"),
        "positions": FieldInfo("int", "positions"),
    },
    "hire": {
        "requisition": FieldInfo("requisition", "requisition_id"),
        "employee": FieldInfo("employee", "employee_id"),
        "arrived_on": FieldInfo("date", "arrived_on"),
    },
    "exit": {"employee": FieldInfo("employee", "employee_id"), "exit_date": FieldInfo("date", "exit_date")},
    "employee": {
        "unit": FieldInfo("unit", "unit_id"),
        "employment_type": FieldInfo("enum", "employment_type"),
    },
    "unit": {"category": FieldInfo("enum", "category")},
}

MARCH = Period.parse("2026-03")
CAL = WorkCalendar.from_chinese_calendar()


def world(extra_policies: list[tuple[int, int, int, dt.date, float]] | None = None) -> Inputs:
    units = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "version": [1, 1, 1],
            "parent_id": [None, 1, 1],
            "category": ["general", "sales", "hr"],
            "ancestors": [[1], [1, 2], [1, 3]],
        }
    )
    employees = pl.DataFrame(
        {
            "id": [10, 11, 12, 20, 30],
            "version": [1] * 5,
            "unit_id": [2, 2, 2, 3, 2],
            "employment_type": ["agent", "agent", "agent", "staff", "staff"],
        }
    )
    policy_rows = [
        # id, agent, unit, issued_on, first-year premium
        (1, 10, 2, D(2026, 3, 2), 30_000.0),
        (2, 10, 2, D(2026, 3, 31), 50_000.0),
        (3, 11, 2, D(2026, 3, 15), 120_000.0),
        (4, 10, 2, D(2026, 2, 28), 999_999.0),  # February: not in March
        (5, 12, 2, D(2026, 4, 10), 60_000.0),  # the new agent, within 90 days of arrival
        (6, 12, 2, D(2026, 5, 20), 45_000.0),  # also within 90 days (arrived 2026-03-05; day 76)
        *(extra_policies or []),
    ]
    policies = pl.DataFrame(
        policy_rows,
        schema={
            "id": pl.Int64,
            "agent_id": pl.Int64,
            "unit_id": pl.Int64,
            "issued_on": pl.Date,
            "first_year_premium": pl.Float64,
        },
        orient="row",
    ).with_columns(pl.lit(1).alias("version"), pl.lit("in_force").alias("status"))
    claims = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "version": [1, 1, 1],
            "handler_id": [30, 30, 30],
            "unit_id": [2, 2, 2],
            # Spring Festival 2024: 10–17 Feb off, Sunday 4 Feb and Sunday 18 Feb are make-up working days.
            "approved_at": [T(2024, 2, 8, 9), T(2024, 2, 1, 9), T(2024, 2, 19, 10)],
            "paid_at": [T(2024, 2, 19, 9), T(2024, 2, 2, 21), T(2024, 2, 20, 16)],
        }
    )
    requisitions = pl.DataFrame(
        {
            "id": [7],
            "version": [1],
            "requesting_unit_id": [2],
            "recruiting_unit_id": [3],
            "opened_on": [D(2026, 2, 20)],
            "positions": [2],
        }
    )
    hires = pl.DataFrame(
        {
            "id": [1, 2],
            "version": [1, 1],
            "requisition_id": [7, 7],
            "employee_id": [12, 11],
            "arrived_on": [D(2026, 3, 5), D(2026, 3, 20)],
        }
    )
    exits = pl.DataFrame(
        {"id": [1], "version": [1], "employee_id": [11], "exit_date": [D(2026, 5, 1)]},
        schema={"id": pl.Int64, "version": pl.Int64, "employee_id": pl.Int64, "exit_date": pl.Date},
    )
    records = {
        "policy": policies,
        "claim": claims,
        "requisition": requisitions,
        "hire": hires,
        "exit": exits,
        "employee": employees,
        "unit": units,
    }
    return Inputs(records=records, units=units, employees=employees)


METRICS: dict[str, dict[str, Any]] = {
    "premium": {
        "kind": "policy",
        "date_field": "issued_on",
        "measure": {"agg": "sum", "field": "first_year_premium"},
        "subject": {"employee": "agent", "unit": "unit"},
        "unit": "元",
    },
    "policies": {
        "kind": "policy",
        "date_field": "issued_on",
        "measure": {"agg": "count"},
        "subject": {"employee": "agent", "unit": "unit"},
    },
    "payment_days": {
        "kind": "claim",
        "date_field": "paid_at",
        "measure": {
            "agg": "mean",
            "duration": {"start": "approved_at", "end": "paid_at", "unit": "working_days"},
        },
        "subject": {"employee": "handler"},
        "direction": "lower",
        "min_count": 3,
    },
    "new_agent_attainment": {
        "kind": "hire",
        "date_field": "arrived_on",
        "window": {"type": "cohort", "days": 90},
        "outcomes": {
            "fyp_90d": {
                "kind": "policy",
                "match": {"agent": "employee"},
                "date_field": "issued_on",
                "agg": "sum",
                "field": "first_year_premium",
            }
        },
        "measure": {"agg": "share", "where": [{"field": "fyp_90d", "op": "ge", "value": 100000}]},
        "subject": {"unit": "requisition.recruiting_unit"},
        "unit": "%",
    },
    "new_agent_retention": {
        "kind": "hire",
        "date_field": "arrived_on",
        "window": {"type": "cohort", "days": 90},
        "outcomes": {
            "exits_90d": {
                "kind": "exit",
                "match": {"employee": "employee"},
                "date_field": "exit_date",
                "agg": "count",
            }
        },
        "measure": {"agg": "share", "where": [{"field": "exits_90d", "op": "eq", "value": 0}]},
        "subject": {"unit": "requisition.recruiting_unit"},
        "unit": "%",
    },
    "premium_per_policy": {"formula": "div(premium, policies, 0)", "unit": "元"},
}


def specs(definitions=None):
    return {code: parse_metric(code, data, CATALOGUE) for code, data in (definitions or METRICS).items()}


def value_of(values: pl.DataFrame, metric: str, level: str, subject: int) -> tuple[float | None, int | None]:
    row = values.filter(
        (pl.col("metric") == metric) & (pl.col("level") == level) & (pl.col("subject_id") == subject)
    )
    assert row.height == 1, f"{metric} {level} {subject}: {row}"
    return row.item(0, "value"), row.item(0, "n")


@pytest.fixture(scope="module")
def values() -> pl.DataFrame:
    frame, _ = compute_values(
        specs(),
        world(),
        CATALOGUE,
        MARCH,
        calendar=WorkCalendar.from_chinese_calendar(),
        as_of=D(2026, 11, 1),
    )
    return frame


def test_sum_and_count_per_agent_and_rolled_up_units(values):
    assert value_of(values, "premium", "employee", 10) == (80_000.0, 2)  # 30,000 + 50,000; February excluded
    assert value_of(values, "premium", "employee", 11) == (120_000.0, 1)
    assert value_of(values, "premium", "unit", 2) == (200_000.0, 3)
    assert value_of(values, "premium", "unit", 1) == (200_000.0, 3)  # the group rolls up its team
    assert value_of(values, "policies", "employee", 10) == (2.0, 2)


def test_working_days_across_the_spring_festival_make_up_weekend():
    # 8 Feb (Thu) → 19 Feb (Mon) 2024: working days in [8 Feb, 19 Feb) are 8 and 9 Feb plus Sunday 18 Feb,
    # a make-up working day: 3. 1 Feb → 2 Feb: 1. 19 Feb → 20 Feb: 1. February's claims (paid in Feb 2024).
    frame, _ = prepare(
        specs()["payment_days"],
        world().records,
        CATALOGUE,
        Period.parse("2024-02"),
        calendar=WorkCalendar.from_chinese_calendar(),
    )
    assert sorted(frame.get_column("_x").to_list()) == [1.0, 1.0, 3.0]


def test_cohort_three_month_attainment_and_retention_of_the_periods_arrivals(values):
    # March arrivals: agent 12 (60,000 + 45,000 = 105,000 within 90 days → reached 100,000) and agent 11
    # (120,000 on 15 Mar, within 90 days of 20 Mar? no: 15 Mar is before arrival → 0). Attainment 1/2 = 50%.
    assert value_of(values, "new_agent_attainment", "unit", 3) == (50.0, 2)
    # Agent 11 left on 1 May, within 90 days of 20 Mar; agent 12 stayed: retention 1/2 = 50%.
    assert value_of(values, "new_agent_retention", "unit", 3) == (50.0, 2)
    # The HR unit's parent (the group) rolls it up too.
    assert value_of(values, "new_agent_attainment", "unit", 1) == (50.0, 2)


def test_cohort_is_provisional_until_the_window_has_passed():
    frame, _ = compute_values(specs(), world(), CATALOGUE, MARCH, calendar=CAL, as_of=D(2026, 5, 1))
    row = frame.filter((pl.col("metric") == "new_agent_attainment") & (pl.col("subject_id") == 3))
    assert row.item(0, "provisional") is True
    matured, _ = compute_values(specs(), world(), CATALOGUE, MARCH, calendar=CAL, as_of=D(2026, 7, 1))
    row = matured.filter((pl.col("metric") == "new_agent_attainment") & (pl.col("subject_id") == 3))
    assert row.item(0, "provisional") is False


def test_derived_metric_divides_per_subject(values):
    assert value_of(values, "premium_per_policy", "employee", 10)[0] == 40_000.0  # 80,000 / 2
    assert value_of(values, "premium_per_policy", "unit", 2)[0] == pytest.approx(200_000 / 3)


AGENT_TEMPLATE = Template(
    "agent",
    (
        # Linear: 1 point per percentage point of attainment, capped at 110.
        Item(
            "premium",
            Decimal(70),
            parse_rule({"kind": "linear", "per_point": "1", "cap": "110"}),
            Decimal(100_000),
        ),
        # Threshold: 2 policies or more → 100 points, else 0.
        Item("policies", Decimal(30), parse_rule({"kind": "threshold", "points_met": "100"}), Decimal(2)),
    ),
)
TEAM_TEMPLATE = Template(
    "team",
    (
        # Tiered: ≤150,000 → 60; ≤250,000 → 80; above → 100.
        Item(
            "premium",
            Decimal(100),
            parse_rule(
                {
                    "kind": "bands",
                    "bands": [
                        {"upto": "150000", "points": "60"},
                        {"upto": "250000", "points": "80"},
                        {"upto": None, "points": "100"},
                    ],
                }
            ),
        ),
    ),
)
HANDLER_TEMPLATE = Template(
    "handler",
    (
        Item(
            "payment_days",
            Decimal(60),
            parse_rule({"kind": "threshold", "points_met": "100", "direction": "lower"}),
            Decimal(1),
        ),
        Item("policies", Decimal(40), parse_rule({"kind": "threshold", "points_met": "100"}), Decimal(0)),
    ),
)


def full_run(inputs: Inputs | None = None, targets: pl.DataFrame | None = None, period: Period = MARCH):
    assignments = pl.DataFrame(
        {
            "level": ["employee", "employee", "employee", "unit", "employee"],
            "subject_id": [10, 11, 12, 2, 30],
            "template": ["agent", "agent", "agent", "team", "handler"],
        }
    )
    targets = (
        targets
        if targets is not None
        else pl.DataFrame(
            schema={"level": pl.String, "subject_id": pl.Int64, "metric": pl.String, "target": pl.Float64}
        )
    )
    return run(
        specs(),
        {"agent": AGENT_TEMPLATE, "team": TEAM_TEMPLATE, "handler": HANDLER_TEMPLATE},
        inputs or world(),
        assignments,
        targets,
        CATALOGUE,
        period,
        calendar=WorkCalendar.from_chinese_calendar(),
        as_of=D(2026, 11, 1),
    )


def result_of(result, subject: int, metric: str, level: str = "employee"):
    rows = result.results.filter(
        (pl.col("subject_id") == subject) & (pl.col("metric") == metric) & (pl.col("level") == level)
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def total_of(result, subject: int, level: str = "employee"):
    rows = result.totals.filter((pl.col("subject_id") == subject) & (pl.col("level") == level))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_linear_rule_with_cap_and_threshold_give_hand_checked_totals():
    result = full_run()
    # Agent 10: 80,000 / 100,000 = 80% → 80 points; 2 policies → 100. Total 80 × 0.7 + 100 × 0.3 = 86.00.
    assert result_of(result, 10, "premium")["points"] == Decimal("80.00")
    assert result_of(result, 10, "policies")["points"] == Decimal("100.00")
    assert total_of(result, 10)["score"] == Decimal("86.00")
    # Agent 11: 120% → 120, capped at 110; 1 policy → 0. Total 110 × 0.7 = 77.00.
    assert result_of(result, 11, "premium")["points"] == Decimal("110.00")
    assert total_of(result, 11)["score"] == Decimal("77.00")
    # Agent 12 sold nothing in March: a real 0 (not missing): 0 points, 0 policies → 0. Total 0.00, complete.
    assert result_of(result, 12, "premium")["value"] == 0.0
    assert total_of(result, 12)["score"] == Decimal("0.00")
    assert total_of(result, 12)["coverage"] == "complete"


def test_tiered_rule_on_the_team():
    # Team 2: 200,000 falls in the second band (≤ 250,000) → 80 points.
    result = full_run()
    assert result_of(result, 2, "premium", "unit")["points"] == Decimal("80.00")
    assert total_of(result, 2, "unit")["score"] == Decimal("80.00")


def test_subject_target_overrides_the_template_default():
    targets = pl.DataFrame(
        {"level": ["employee"], "subject_id": [10], "metric": ["premium"], "target": [64_000.0]}
    )
    result = full_run(targets=targets)
    # 80,000 / 64,000 = 125% → capped at 110.
    assert result_of(result, 10, "premium")["points"] == Decimal("110.00")


def test_too_few_records_is_insufficient_data_never_zero():
    # Handler 30 has no claims paid in March 2026 (they are in 2024): payment_days has no value at all, and
    # the item needs 3 records. The total uses only the scored 40% and says so.
    result = full_run()
    row = result_of(result, 30, "payment_days")
    assert row["status"] == "insufficient_data"
    assert row["points"] is None
    total = total_of(result, 30)
    assert total["coverage"] == "partial"
    assert total["weight_scored"] == Decimal("40.00")
    # The one scored item: 0 policies against a target of 0 is met → 100 points, over 40 of 100 weight.
    assert total["score"] == Decimal("100.00")


def test_runs_are_deterministic():
    first, second = full_run(), full_run()
    frames_a = {"values": first.values, "results": first.results, "totals": first.totals}
    frames_b = {"values": second.values, "results": second.results, "totals": second.totals}
    assert fingerprint(frames_a) == fingerprint(frames_b)
    assert fingerprint(world().records) == fingerprint(world().records)


def test_editing_one_record_changes_exactly_the_results_it_feeds():
    before = full_run()
    # Policy 1 (agent 10) is corrected from 30,000 to 70,000.
    inputs = world()
    records = dict(inputs.records)
    records["policy"] = records["policy"].with_columns(
        pl.when(pl.col("id") == 1)
        .then(70_000.0)
        .otherwise(pl.col("first_year_premium"))
        .alias("first_year_premium"),
        pl.when(pl.col("id") == 1).then(2).otherwise(pl.col("version")).alias("version"),
    )
    after = full_run(Inputs(records=records, units=inputs.units, employees=inputs.employees))
    keys = ["level", "subject_id", "template", "item"]
    joined = before.results.join(after.results, on=keys, suffix="_after")
    changed = joined.filter(pl.col("points") != pl.col("points_after")).select(
        "level", "subject_id", "metric"
    )
    # Agent 10's premium item (80 → 110 capped: 120,000 / 100,000) and the team's band (240,000 stays ≤ 250,000
    # → 80, unchanged). Nothing else moves.
    assert changed.rows() == [("employee", 10, "premium")]
    assert result_of(after, 10, "premium")["points"] == Decimal("110.00")
    assert fingerprint(records) != fingerprint(world().records)


def test_metric_definition_errors_point_at_the_faulty_part():
    bad = dict(METRICS["premium"], measure={"agg": "sum", "field": "premium"})
    with pytest.raises(MetricError, match=r"^measure.field: unknown field 'premium' of policy"):
        parse_metric("x", bad, CATALOGUE)
    bad = dict(METRICS["premium"], measure={"agg": "sum", "field": "status"})
    with pytest.raises(MetricError, match=r"^measure.field: 'status' is a enum field"):
        parse_metric("x", bad, CATALOGUE)
    bad = dict(METRICS["new_agent_attainment"], window={"type": "cohort", "days": 0})
    with pytest.raises(MetricError, match=r"^window.days"):
        parse_metric("x", bad, CATALOGUE)
    bad = dict(METRICS["premium"], filters=[{"field": "issued_on", "op": "ge", "value": "yesterday"}])
    with pytest.raises(MetricError, match=r"^filters\[0\].value: 'yesterday' is not a date"):
        parse_metric("x", bad, CATALOGUE)


@settings(max_examples=40, deadline=None)
@given(
    premiums=st.lists(st.integers(min_value=0, max_value=400_000), min_size=1, max_size=12),
    bump=st.integers(min_value=1, max_value=100_000),
)
def test_points_never_fall_when_an_agent_sells_more_and_runs_repeat_exactly(premiums, bump):
    rows = [(100 + i, 10, 2, D(2026, 3, 1 + i), float(p)) for i, p in enumerate(premiums)]
    base = world(rows)
    more = world([*rows, (999, 10, 2, D(2026, 3, 20), float(bump))])
    first = full_run(base)
    a = result_of(first, 10, "premium")["points"]
    b = result_of(full_run(more), 10, "premium")["points"]
    assert b >= a
    assert Decimal(0) <= b <= Decimal(110)
    # Deterministic: the same inputs give the same numbers, bit for bit.
    again = full_run(base)
    frames = ("values", "results", "totals")
    assert fingerprint({n: getattr(first, n) for n in frames}) == fingerprint(
        {n: getattr(again, n) for n in frames}
    )


def test_lag_and_rolling_windows_pick_the_right_months():
    definitions = {
        "rolling": dict(METRICS["premium"], window={"type": "rolling", "months": 2}),
        "lagged": dict(METRICS["premium"], window={"type": "lag", "months": 1}),
    }
    frame, _ = compute_values(specs(definitions), world(), CATALOGUE, MARCH, calendar=CAL)
    # Rolling 2 months: February + March for agent 10 = 999,999 + 80,000.
    assert value_of(frame, "rolling", "employee", 10)[0] == 1_079_999.0
    # Lag 1 month: February only.
    assert value_of(frame, "lagged", "employee", 10)[0] == 999_999.0


def test_level_names():
    assert [level.value for level in Level] == ["employee", "unit"]


def test_rerun_after_a_change_equals_a_full_run_and_recomputes_only_what_moved():
    before = full_run()
    inputs = world()
    records = dict(inputs.records)
    records["policy"] = records["policy"].with_columns(
        pl.when(pl.col("id") == 3)
        .then(20_000.0)
        .otherwise(pl.col("first_year_premium"))
        .alias("first_year_premium")
    )
    changed = Inputs(records=records, units=inputs.units, employees=inputs.employees)
    full = full_run(changed)
    assignments = pl.DataFrame(
        {
            "level": ["employee", "employee", "employee", "unit", "employee"],
            "subject_id": [10, 11, 12, 2, 30],
            "template": ["agent", "agent", "agent", "team", "handler"],
        }
    )
    targets = pl.DataFrame(
        schema={"level": pl.String, "subject_id": pl.Int64, "metric": pl.String, "target": pl.Float64}
    )
    partial = rerun(
        before,
        specs(),
        {"agent": AGENT_TEMPLATE, "team": TEAM_TEMPLATE, "handler": HANDLER_TEMPLATE},
        changed,
        assignments,
        targets,
        CATALOGUE,
        MARCH,
        changed_kinds={"policy"},
        calendar=CAL,
        as_of=D(2026, 11, 1),
    )
    assert partial.values.equals(full.values)
    assert partial.results.equals(full.results)
    assert partial.totals.equals(full.totals)
    # Agent 11: 20,000 / 100,000 = 20% → 20 points × 0.7 = 14.00; the team falls to the first band (100,000).
    assert total_of(partial, 11)["score"] == Decimal("14.00")
    assert result_of(partial, 2, "premium", "unit")["points"] == Decimal("60.00")


# --- linked items: a functional unit scored on the business outcome of the units linked to it ------------------

HR_TEMPLATE = Template(
    "hr",
    (
        # The sales team's premium, read through the link: 1 point per percentage point of 250,000.
        Item(
            "premium",
            Decimal(60),
            parse_rule({"kind": "linear", "per_point": "1", "cap": "120"}),
            Decimal(250_000),
            scope="linked",
        ),
        Item(
            "new_agent_retention",
            Decimal(40),
            parse_rule({"kind": "threshold", "points_met": "100"}),
            Decimal(50),
        ),
    ),
)
HR_LINKS = pl.DataFrame(
    {"functional_unit_id": [3], "business_unit_id": [2], "metric": ["premium"]},
    schema={"functional_unit_id": pl.Int64, "business_unit_id": pl.Int64, "metric": pl.String},
)
NO_TARGETS = pl.DataFrame(
    schema={"level": pl.String, "subject_id": pl.Int64, "metric": pl.String, "target": pl.Float64}
)
HR_ASSIGNMENTS = pl.DataFrame(
    {"level": ["unit", "employee", "unit"], "subject_id": [3, 20, 2], "template": ["hr", "hr", "team"]}
)


def hr_run(inputs: Inputs | None = None, links: pl.DataFrame | None = HR_LINKS):
    return run(
        specs(),
        {"hr": HR_TEMPLATE, "team": TEAM_TEMPLATE},
        inputs or world(),
        HR_ASSIGNMENTS,
        NO_TARGETS,
        CATALOGUE,
        MARCH,
        calendar=CAL,
        as_of=D(2026, 11, 1),
        links=links,
    )


def test_a_linked_item_scores_the_functional_unit_on_its_linked_business_units_outcome():
    result = hr_run()
    line = result_of(result, 3, "premium", "unit")
    # HR 3 is linked to team 2, whose March premium is 200,000: 200,000 / 250,000 = 80% → 80 points.
    assert (line["value_level"], line["value_subject_id"], line["value"]) == ("linked", 3, 200_000.0)
    assert line["points"] == Decimal("80.00")
    # Retention of March's arrivals recruited by HR 3: agent 12 stays, agent 11 leaves on 1 May → 50% → met.
    # Total: 80 × 0.6 + 100 × 0.4 = 88.00.
    assert total_of(result, 3, "unit")["score"] == Decimal("88.00")
    # An HR employee reads their unit's links.
    assert result_of(result, 20, "premium")["value"] == 200_000.0
    # Nothing else moves: the team is scored on its own premium as before.
    assert result_of(result, 2, "premium", "unit")["points"] == Decimal("80.00")


def test_without_a_confirmed_link_the_linked_item_has_no_value_never_zero():
    result = hr_run(links=None)
    line = result_of(result, 3, "premium", "unit")
    # premium is a sum (a real 0 without records), but without a link there is nothing to read: not 0.
    assert line["value"] is None
    assert (line["status"], line["points"]) == ("missing_value", None)
    assert total_of(result, 3, "unit")["coverage"] == "partial"


def test_linked_values_average_the_linked_units_that_have_a_value():
    values = pl.DataFrame(
        {
            "metric": ["cycle", "cycle", "cycle", "other"],
            "level": ["unit", "unit", "unit", "unit"],
            "subject_id": [5, 6, 7, 5],
            "value": [1.6, 2.0, None, 9.0],
            "n": [10, 30, 0, 1],
            "provisional": [False, True, False, False],
        }
    )
    links = pl.DataFrame(
        {"functional_unit_id": [3, 3, 3, 4], "business_unit_id": [5, 6, 7, 5], "metric": ["cycle"] * 4},
        schema={"functional_unit_id": pl.Int64, "business_unit_id": pl.Int64, "metric": pl.String},
    )
    from perflink.engine.run import linked_values

    got = {row["subject_id"]: row for row in linked_values(values, links).iter_rows(named=True)}
    assert got[3]["value"] == pytest.approx(1.8)  # (1.6 + 2.0) / 2; unit 7 has no value and is left out
    assert (got[3]["n"], got[3]["provisional"], got[3]["level"]) == (40, True, "linked")
    assert got[4]["value"] == 1.6


def test_rerun_moves_a_linked_line_when_the_business_outcome_moves():
    before = hr_run()
    inputs = world()
    records = dict(inputs.records)
    records["policy"] = records["policy"].with_columns(
        pl.when(pl.col("id") == 3)
        .then(20_000.0)
        .otherwise(pl.col("first_year_premium"))
        .alias("first_year_premium")
    )
    changed = Inputs(records=records, units=inputs.units, employees=inputs.employees)
    partial = rerun(
        before,
        specs(),
        {"hr": HR_TEMPLATE, "team": TEAM_TEMPLATE},
        changed,
        HR_ASSIGNMENTS,
        NO_TARGETS,
        CATALOGUE,
        MARCH,
        changed_kinds={"policy"},
        calendar=CAL,
        as_of=D(2026, 11, 1),
        links=HR_LINKS,
    )
    full = hr_run(changed)
    assert partial.results.equals(full.results)
    assert partial.totals.equals(full.totals)
    # Team 2 now sold 100,000: HR's linked line falls to 40% → 40 points; total 40 × 0.6 + 40 = 64.00.
    assert result_of(partial, 3, "premium", "unit")["points"] == Decimal("40.00")
    assert total_of(partial, 3, "unit")["score"] == Decimal("64.00")
