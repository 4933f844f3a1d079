"""When a period's value is final: cohort windows close after the last anchor's window, others at the period end;
the rule agrees with the engine's own per-row provisional flag."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from perflink.engine.metrics import FieldInfo, parse_metric, prepare
from perflink.engine.metrics.maturity import is_mature, matures_on, matures_on_all
from perflink.engine.periods import Period

D = dt.date

CATALOGUE = {
    "hire": {
        "employee": FieldInfo("employee", "employee_id"),
        "unit": FieldInfo("unit", "unit_id"),
        "arrived_on": FieldInfo("date", "arrived_on"),
    },
    "exit": {"employee": FieldInfo("employee", "employee_id"), "exit_date": FieldInfo("date", "exit_date")},
    "policy": {"agent": FieldInfo("employee", "agent_id"), "issued_on": FieldInfo("date", "issued_on")},
}


def cohort(days: int):
    return parse_metric(
        f"retention_{days}d",
        {
            "kind": "hire",
            "date_field": "arrived_on",
            "window": {"type": "cohort", "days": days},
            "outcomes": {
                "exits": {
                    "kind": "exit",
                    "match": {"employee": "employee"},
                    "date_field": "exit_date",
                    "agg": "count",
                }
            },
            "measure": {"agg": "share", "where": [{"field": "exits", "op": "eq", "value": 0}]},
            "subject": {"unit": "unit"},
        },
        CATALOGUE,
    )


def monthly_policies(window: dict | None = None):
    data = {
        "kind": "policy",
        "date_field": "issued_on",
        "measure": {"agg": "count"},
        "subject": {"employee": "agent"},
    }
    if window:
        data["window"] = window
    return parse_metric("policies", data, CATALOGUE)


def test_given_a_90_day_cohort_of_january_when_asked_then_it_matures_90_days_after_31_january():
    # The last arrival (31 Jan) is followed over [31 Jan, 1 May): 31 Jan + 90 days = 1 May 2026.
    assert matures_on(cohort(90), Period.parse("2026-01")) == D(2026, 5, 1)


def test_given_a_february_cohort_in_a_leap_year_then_its_last_anchor_is_29_february():
    # 2028 is a leap year: last anchor 29 Feb, + 90 days = 29 May 2028. In 2027 the last anchor is 28 Feb, and
    # 28 Feb + 90 days is 29 May as well (March to May hold the same days either way).
    assert matures_on(cohort(90), Period.parse("2028-02")) == D(2028, 5, 29)
    assert matures_on(cohort(90), Period.parse("2027-02")) == D(2027, 5, 29)
    assert matures_on(cohort(1), Period.parse("2028-02")) == D(2028, 3, 1)
    assert matures_on(cohort(30), Period.parse("2027-02")) == D(2027, 3, 30)


def test_given_a_december_cohort_then_maturity_crosses_the_year():
    assert matures_on(cohort(90), Period.parse("2026-12")) == D(2027, 3, 31)
    assert matures_on(cohort(90), Period.parse("2026-Q4")) == D(2027, 3, 31)


def test_given_a_period_window_then_the_value_matures_at_the_period_end():
    assert matures_on(monthly_policies(), Period.parse("2028-02")) == D(2028, 3, 1)
    assert matures_on(monthly_policies({"type": "rolling", "months": 3}), Period.parse("2026-12")) == D(
        2027, 1, 1
    )
    assert matures_on(monthly_policies({"type": "lag", "months": 13}), Period.parse("2026-Q1")) == D(
        2026, 4, 1
    )


def test_given_the_data_date_then_is_mature_flips_exactly_on_the_maturity_day():
    spec, january = cohort(90), Period.parse("2026-01")
    assert not is_mature(spec, january, D(2026, 4, 30))
    assert is_mature(spec, january, D(2026, 5, 1))
    assert is_mature(spec, january, D(2026, 12, 8))
    march = Period.parse("2026-03")
    assert not is_mature(monthly_policies(), march, D(2026, 3, 31))
    assert is_mature(monthly_policies(), march, D(2026, 4, 1))


def _provisional(days: int, period: Period, as_of: dt.date) -> bool:
    """The engine's own flag for the period's last possible arrival, computed from records."""
    last = period.end - dt.timedelta(days=1)
    records = {
        "hire": pl.DataFrame(
            {"id": [1, 2], "employee_id": [7, 8], "unit_id": [3, 3], "arrived_on": [period.start, last]}
        ),
        "exit": pl.DataFrame(
            {"id": [1], "employee_id": [7], "exit_date": [period.start]}, schema_overrides={"id": pl.Int64}
        ),
        "policy": pl.DataFrame({"id": [], "agent_id": [], "issued_on": []}),
    }
    frame, _ = prepare(cohort(days), records, CATALOGUE, period, as_of=as_of)
    return bool(frame.get_column("_provisional").any())


@settings(max_examples=60, deadline=None)
@given(
    year=st.integers(2020, 2032),
    month=st.integers(1, 12),
    days=st.integers(1, 400),
    offset=st.integers(-3, 3),
)
def test_property_is_mature_agrees_with_the_engines_provisional_rows(year, month, days, offset):
    period = Period.parse(f"{year}-{month:02d}")
    as_of = matures_on(cohort(days), period) + dt.timedelta(days=offset)
    assert is_mature(cohort(days), period, as_of) is not _provisional(days, period, as_of)


def test_given_a_derived_metric_over_a_cohort_then_it_matures_with_the_cohort():
    specs = {
        "retention_90d": cohort(90),
        "policies": monthly_policies(),
        "retained_per_policy": parse_metric(
            "retained_per_policy", {"formula": "div(retention_90d, policies, 0)"}, {}
        ),
        "policies_x2": parse_metric("policies_x2", {"formula": "policies * 2"}, {}),
        "nested": parse_metric("nested", {"formula": "retained_per_policy + policies_x2"}, {}),
    }
    dates = matures_on_all(specs, Period.parse("2026-10"))
    assert dates["policies"] == dates["policies_x2"] == D(2026, 11, 1)
    assert dates["retention_90d"] == dates["retained_per_policy"] == dates["nested"] == D(2027, 1, 29)
