"""Lagged cohort windows and matured-cohort companions (``<code>@cohort``): which anchors a lagged cohort reads
(February, a leap year, an agent arriving on the 31st), when it is still provisional, and that a run's companion
equals the plain metric of the period its cohort arrived in, computed once that cohort has matured.

The world: a 渠道 branch 100 with two teams (101 银保, 102 个险) recruiting for it; HR unit 103 fills requisitions
41 (for 101) and 42 (for 102). New agents arrive across several months; 100,000 of first-year premium within
their first 90 days is attainment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from perflink.engine.metrics import FieldInfo, MetricError, parse_metric, prepare, window_bounds
from perflink.engine.metrics.companions import (
    base_code,
    cohort_companion,
    cohort_period,
    companion_code,
    is_companion,
    maturity_lag,
    with_cohort_companions,
)
from perflink.engine.periods import Period
from perflink.engine.run import Inputs, compute_values

D = dt.date

CATALOGUE: dict[str, dict[str, FieldInfo]] = {
    "policy": {
        "agent": FieldInfo("employee", "agent_id"),
        "unit": FieldInfo("unit", "unit_id"),
        "issued_on": FieldInfo("date", "issued_on"),
        "first_year_premium": FieldInfo("money", "first_year_premium"),
    },
    "requisition": {
        "requesting_unit": FieldInfo("unit", "requesting_unit_id"),
        "recruiting_unit": FieldInfo("unit", "recruiting_unit_id"),
        "opened_on": FieldInfo("date", "opened_on"),
    },
    "hire": {
        "requisition": FieldInfo("requisition", "requisition_id"),
        "employee": FieldInfo("employee", "employee_id"),
        "arrived_on": FieldInfo("date", "arrived_on"),
    },
    "employee": {"unit": FieldInfo("unit", "unit_id")},
    "unit": {"category": FieldInfo("enum", "category")},
}

ATTAINMENT: dict[str, Any] = {
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
    "subject": {"employee": "employee", "unit": "requisition.requesting_unit"},
    "unit": "%",
}
PREMIUM: dict[str, Any] = {
    "kind": "policy",
    "date_field": "issued_on",
    "measure": {"agg": "sum", "field": "first_year_premium"},
    "subject": {"employee": "agent", "unit": "unit"},
}
TRAINING_30D: dict[str, Any] = {**ATTAINMENT, "window": {"type": "cohort", "days": 30}}


def spec(data: dict[str, Any], code: str = "attainment_3m") -> Any:
    return parse_metric(code, data, CATALOGUE)


def _hire(hire_id: int, employee: int, requisition: int, arrived: dt.date) -> dict[str, Any]:
    return {"id": hire_id, "employee_id": employee, "requisition_id": requisition, "arrived_on": arrived}


# (hire id, employee, requisition, arrived on): agents of three months, the 31st of January among them.
HIRES = [
    _hire(1, 501, 41, D(2026, 1, 5)),
    _hire(2, 502, 42, D(2026, 1, 31)),
    _hire(3, 503, 41, D(2026, 2, 2)),
    _hire(4, 504, 41, D(2026, 2, 28)),
    _hire(5, 505, 42, D(2026, 2, 14)),
    _hire(6, 506, 42, D(2026, 4, 30)),
]
# (id, agent, unit, issued on, first-year premium)
POLICIES = [
    (1, 501, 101, D(2026, 2, 10), 120_000.0),  # 501: reached on day 36
    (2, 502, 102, D(2026, 4, 30), 60_000.0),  # 502: day 89 ...
    (3, 502, 102, D(2026, 5, 1), 80_000.0),  # ... and day 90: too late, not reached
    (4, 503, 101, D(2026, 3, 1), 50_000.0),  # 503: 50,000 + 55,000 by day 81: reached
    (5, 503, 101, D(2026, 4, 23), 55_000.0),
    (6, 504, 101, D(2026, 5, 20), 30_000.0),  # 504: not reached
    (7, 505, 102, D(2026, 5, 14), 100_000.0),  # 505: day 89: reached
    (8, 506, 102, D(2026, 5, 6), 150_000.0),  # 506 arrived in April: reached
]


def inputs(hires: list[dict[str, Any]] = HIRES, policies: list[tuple[Any, ...]] = POLICIES) -> Inputs:
    units = pl.DataFrame(
        {
            "id": [100, 101, 102, 103],
            "parent_id": [None, 100, 100, 100],
            "category": ["general", "sales", "sales", "hr"],
            "ancestors": [[100], [100, 101], [100, 102], [100, 103]],
        }
    )
    employees = pl.DataFrame(
        {"id": [501, 502, 503, 504, 505, 506], "unit_id": [101, 102, 101, 101, 102, 102]}
    )
    records = {
        "hire": pl.DataFrame(
            hires,
            schema={
                "id": pl.Int64,
                "employee_id": pl.Int64,
                "requisition_id": pl.Int64,
                "arrived_on": pl.Date,
            },
        ).with_columns(pl.lit(1).alias("version")),
        "policy": pl.DataFrame(
            policies,
            schema={
                "id": pl.Int64,
                "agent_id": pl.Int64,
                "unit_id": pl.Int64,
                "issued_on": pl.Date,
                "first_year_premium": pl.Float64,
            },
            orient="row",
        ).with_columns(pl.lit(1).alias("version")),
        "requisition": pl.DataFrame(
            {
                "id": [41, 42],
                "version": [1, 1],
                "requesting_unit_id": [101, 102],
                "recruiting_unit_id": [103, 103],
                "opened_on": [D(2025, 12, 1), D(2025, 12, 15)],
            }
        ),
        "employee": employees,
        "unit": units,
    }
    return Inputs(records=records, units=units, employees=employees)


def values(metrics: dict[str, Any], period: str, as_of: dt.date) -> dict[tuple[str, str, int], tuple]:
    frame, _ = compute_values(metrics, inputs(), CATALOGUE, Period.parse(period), as_of=as_of)
    return {
        (row["metric"], row["level"], row["subject_id"]): (row["value"], row["n"], row["provisional"])
        for row in frame.iter_rows(named=True)
    }


# --- lag_months in the definition ----------------------------------------------------------------------------


def test_a_cohort_window_takes_lag_months_and_reads_the_anchors_that_many_months_back():
    lagged = spec({**ATTAINMENT, "window": {"type": "cohort", "days": 90, "lag_months": 3}})

    assert lagged.window.lag_months == 3
    # May's lagged cohort is February's arrivals (a 28-day month) ...
    assert window_bounds(lagged, Period.parse("2026-05")) == (D(2026, 2, 1), D(2026, 3, 1))
    # ... in a leap year too, and across the year boundary.
    assert window_bounds(lagged, Period.parse("2024-05")) == (D(2024, 2, 1), D(2024, 3, 1))
    assert window_bounds(lagged, Period.parse("2026-02")) == (D(2025, 11, 1), D(2025, 12, 1))
    # A quarter's lagged cohort is the quarter before.
    assert window_bounds(lagged, Period.parse("2026-Q2")) == (D(2026, 1, 1), D(2026, 4, 1))


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"type": "period", "lag_months": 3}, "window.lag_months: only a cohort window"),
        ({"type": "rolling", "months": 3, "lag_months": 1}, "window.lag_months: only a cohort window"),
        ({"type": "cohort", "days": 90, "lag_months": -1}, "window.lag_months: must be a whole number"),
        ({"type": "cohort", "days": 90, "lag_months": True}, "window.lag_months: must be a whole number"),
        ({"type": "cohort", "days": 90, "lag_months": "3"}, "window.lag_months: must be a whole number"),
        ({"type": "cohort", "days": 90, "lag_months": 37}, "window.lag_months: must be a whole number"),
    ],
)
def test_lag_months_outside_a_cohort_or_not_a_whole_number_of_months_is_refused_at_its_path(window, message):
    with pytest.raises(MetricError, match=message):
        spec({**ATTAINMENT, "window": window})


def test_a_zero_lag_is_the_plain_cohort():
    plain = spec(ATTAINMENT)
    zero = spec({**ATTAINMENT, "window": {"type": "cohort", "days": 90, "lag_months": 0}})

    assert zero == plain
    assert window_bounds(zero, Period.parse("2026-03")) == (D(2026, 3, 1), D(2026, 4, 1))


def test_an_agent_arriving_on_the_31st_is_still_provisional_on_the_89th_day_of_a_lagged_cohort():
    lagged = spec({**ATTAINMENT, "window": {"type": "cohort", "days": 90, "lag_months": 3}})
    april = Period.parse("2026-04")
    records = inputs().records

    on_30_april, _ = prepare(lagged, records, CATALOGUE, april, as_of=D(2026, 4, 30))
    on_1_may, _ = prepare(lagged, records, CATALOGUE, april, as_of=D(2026, 5, 1))

    # April's lagged cohort is January's arrivals: 501 (5 Jan, mature) and 502 (31 Jan, day 90 is 1 May).
    assert dict(on_30_april.select("_rid", "_provisional").iter_rows()) == {1: False, 2: True}
    assert not on_1_may.get_column("_provisional").any()


def test_in_a_leap_year_the_31_january_arrival_matures_one_day_earlier():
    lagged = spec({**ATTAINMENT, "window": {"type": "cohort", "days": 90, "lag_months": 3}})
    hires = [_hire(1, 502, 42, D(2024, 1, 31))]
    records = inputs(hires=hires, policies=[]).records

    prepared, _ = prepare(lagged, records, CATALOGUE, Period.parse("2024-04"), as_of=D(2024, 4, 30))

    # 2024 has a 29 February: 31 January + 90 days is 30 April, so the window has closed on 30 April.
    assert prepared.select("_rid", "_provisional").rows() == [(1, False)]


# --- companions ----------------------------------------------------------------------------------------------


def test_every_cohort_metric_gets_a_companion_lagged_ceil_days_over_30_months_and_nothing_else_does():
    metrics = {
        "attainment_3m": spec(ATTAINMENT),
        "training_30d": spec(TRAINING_30D, "training_30d"),
        "premium": spec(PREMIUM, "premium"),
        "premium_share": parse_metric("premium_share", {"formula": "premium / 100"}, CATALOGUE),
    }

    result = with_cohort_companions(metrics)

    assert set(result) == {*metrics, "attainment_3m@cohort", "training_30d@cohort"}
    assert result["attainment_3m@cohort"].window.lag_months == 3  # 90 days: three months back
    assert result["training_30d@cohort"].window.lag_months == 1  # 30 days: one month back
    assert result["attainment_3m@cohort"].code == "attainment_3m@cohort"
    # The rest of the definition is the metric's own.
    assert result["attainment_3m@cohort"].outcomes == metrics["attainment_3m"].outcomes
    assert result["attainment_3m@cohort"].subject == metrics["attainment_3m"].subject
    # The mapping passed in is not changed, and adding twice adds nothing more.
    assert "attainment_3m@cohort" not in metrics
    assert with_cohort_companions(result) == result


def test_a_91_day_cohort_waits_four_months_and_an_already_lagged_one_keeps_its_lag():
    long = spec({**ATTAINMENT, "window": {"type": "cohort", "days": 91}})
    lagged = spec({**ATTAINMENT, "window": {"type": "cohort", "days": 30, "lag_months": 2}})

    assert maturity_lag(long) == 4
    assert cohort_companion(lagged).window.lag_months == 2


def test_companion_codes_name_their_metric():
    assert companion_code("new_agent_attainment_3m") == "new_agent_attainment_3m@cohort"
    assert is_companion("new_agent_attainment_3m@cohort") and not is_companion("new_agent_attainment_3m")
    assert base_code("new_agent_attainment_3m@cohort") == "new_agent_attainment_3m"
    with pytest.raises(ValueError, match="cohort window"):
        cohort_companion(spec(PREMIUM, "premium"))


@pytest.mark.parametrize(
    ("period", "cohort"),
    [
        ("2026-10", "2026-07"),
        ("2026-05", "2026-02"),
        ("2026-02", "2025-11"),
        ("2024-05", "2024-02"),
        ("2026-Q3", "2026-Q2"),
        ("2026", "2025-10–2026-09"),
    ],
)
def test_the_cohort_period_of_a_companion_is_the_period_its_agents_arrived_in(period, cohort):
    companion = cohort_companion(spec(ATTAINMENT))

    result = cohort_period(companion, Period.parse(period))

    assert result.label == cohort
    assert (result.start, result.end) == window_bounds(companion, Period.parse(period))


def test_a_plain_cohort_metric_reads_its_own_period():
    assert cohort_period(spec(ATTAINMENT), Period.parse("2026-10")).label == "2026-10"


def test_the_companion_in_a_run_equals_the_plain_metric_of_its_cohort_month_once_mature():
    metrics = with_cohort_companions({"attainment_3m": spec(ATTAINMENT), "premium": spec(PREMIUM, "premium")})

    # May's run, on its data date of 1 June: the companion reads February's arrivals (503, 504, 505).
    may = values(metrics, "2026-05", as_of=D(2026, 6, 1))
    # February's plain metric computed in the autumn, long after the cohort matured.
    february = values({"attainment_3m": metrics["attainment_3m"]}, "2026-02", as_of=D(2026, 11, 1))

    companion = {
        (level, subject): value
        for (code, level, subject), value in may.items()
        if code == "attainment_3m@cohort"
    }
    plain = {(level, subject): value for (_, level, subject), value in february.items()}
    assert companion == plain
    # Hand-checked: 503 and 505 reached, 504 did not; 101 recruited 503 and 504, 102 recruited 505.
    assert companion[("unit", 101)] == (50.0, 2, False)
    assert companion[("unit", 102)] == (100.0, 1, False)
    assert companion[("unit", 100)] == (pytest.approx(200 / 3), 3, False)
    # The plain metric of May is still there: the month's own arrivals (none), and the premium.
    assert not any(code == "attainment_3m" for code, _, _ in may)
    assert may[("premium", "employee", 506)] == (150_000.0, 1, False)


def test_a_companion_whose_cohort_has_not_matured_at_the_data_date_is_provisional():
    metrics = with_cohort_companions({"attainment_3m": spec(ATTAINMENT)})

    # April's run on 30 April: January's cohort, and 502 (arrived 31 January) has one day to go.
    april = values(metrics, "2026-04", as_of=D(2026, 4, 30))

    assert april[("attainment_3m@cohort", "unit", 102)] == (0.0, 1, True)
    assert april[("attainment_3m@cohort", "unit", 101)] == (100.0, 1, False)
    assert april[("attainment_3m@cohort", "unit", 100)][2] is True
