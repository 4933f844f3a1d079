"""Matured cohorts through the database: every calculation run also computes ``<metric>@cohort`` (the cohort whose
90 days closed by the period), equal to the plain metric of the arrival month computed after maturity; an
incremental recalculation and a reproduction give the same companions; a scorecard item may score the matured
cohort; a line that is still maturing says 暂估.

The world: sales department 个险销售部 asked HR for agents (requisition ZP-2026-008). 陈一鸣 arrived on 31 January;
赵晓, 孙立 and 钱多多 in February; 周新 in May. 100,000 yuan of first-year premium within 90 days is attainment.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.test import Client

from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import ValidationFailed
from perflink.ingest.models import PolicyRecord
from perflink.metrics import calc
from perflink.metrics.actions import (
    check_items,
    do_calculate,
    do_recalculate_changed,
    do_save_template_version,
)
from perflink.metrics.calc import cohort_period, definitions_from_snapshot, reproduce
from perflink.metrics.models import CalcRun, Template
from perflink.metrics.selectors import run_frame
from perflink.metrics.trends import subject_trend
from tests.factories import World, make_employee, make_scores, push

ATTAINMENT, RETENTION = "new_agent_attainment_3m", "new_agent_retention_3m"
# The HR department's own version of the metric (by recruiting unit).
ATTAINMENT_HR = "new_agent_attainment_3m_hr"
COHORT_METRICS = (ATTAINMENT, RETENTION, ATTAINMENT_HR)
MAY_AS_OF = dt.date(2026, 6, 5)  # every February arrival is past day 90 (27 Feb + 90 = 28 May)

# (employee no, name, arrived on)
ARRIVALS = [
    ("XR-0131", "陈一鸣", dt.date(2026, 1, 31)),
    ("XR-0201", "赵晓", dt.date(2026, 2, 1)),
    ("XR-0216", "孙立", dt.date(2026, 2, 16)),
    ("XR-0227", "钱多多", dt.date(2026, 2, 27)),
    ("XR-0506", "周新", dt.date(2026, 5, 6)),
]
# (policy no, agent, issued on, first-year premium)
POLICIES = [
    ("BD-7701", "XR-0131", "2026-04-30", "100000"),  # day 89 of 陈一鸣: reached
    ("BD-7702", "XR-0201", "2026-03-10", "70000"),  # 赵晓: 70,000 ...
    ("BD-7703", "XR-0201", "2026-04-28", "35000"),  # ... + 35,000 on day 86: reached
    ("BD-7704", "XR-0216", "2026-05-17", "120000"),  # 孙立: day 90, one day late: not reached
    ("BD-7705", "XR-0227", "2026-05-20", "120000"),  # 钱多多: day 82: reached
    ("BD-7706", "XR-0506", "2026-05-10", "150000"),  # 周新, May's own arrival
]


def _policy(world: World, no: str, agent: str, day: str, fyp: str) -> dict[str, Any]:
    return {
        "policy_no": no,
        "product_line": "life",
        "agent": agent,
        "unit": world.sales_team.code,
        "applied_on": day,
        "issued_on": day,
        "first_year_premium": fyp,
        "annualised_premium": fyp,
        "status": "in_force",
    }


@pytest.fixture
def arrivals(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    # As if a plan read every cohort metric as a matured cohort: only then does a run compute the companions.
    monkeypatch.setattr(calc, "_COHORT_READERS", [lambda: set(COHORT_METRICS)])
    make_scores(world)  # the library, and a March run
    with tenant_context(world.tenant, SYSTEM):
        for no, name, day in ARRIVALS:
            make_employee(world.sales_team, employee_no=no, name=name, etype="agent", hire_date=day)
        push(
            "requisition",
            [
                {
                    "requisition_no": "ZP-2026-008",
                    "requesting_unit": world.sales.code,
                    "recruiting_unit": world.hr.code,
                    "position_title": "银保客户经理",
                    "positions": "6",
                    "opened_on": "2026-01-05",
                    "target_date": "2026-02-28",
                }
            ],
        )
        push(
            "hire",
            [
                {
                    "external_id": f"RZ-{no}",
                    "requisition": "ZP-2026-008",
                    "candidate_name": name,
                    "channel": "社招",
                    "offer_on": (day - dt.timedelta(days=7)).isoformat(),
                    "arrived_on": day.isoformat(),
                    "employee": no,
                }
                for no, name, day in ARRIVALS
            ],
        )
        push("policy", [_policy(world, *row) for row in POLICIES])
        # 孙立 leaves on day 73: February's cohort keeps 2 of 3.
        push("exit", [{"external_id": "LZ-0216", "employee": "XR-0216", "exit_date": "2026-04-30"}])
    return world


def values_of(run: CalcRun, metric: str) -> dict[tuple[str, int], tuple[Any, ...]]:
    frame = run_frame(run, "values").filter(pl.col("metric") == metric)
    return {
        (row["level"], row["subject_id"]): (row["value"], row["n"], row["provisional"])
        for row in frame.iter_rows(named=True)
    }


def test_the_companion_equals_the_arrival_months_metric_computed_after_maturity(arrivals: World) -> None:
    world = arrivals
    with tenant_context(world.tenant, SYSTEM):
        may = do_calculate("2026-05", actor=SYSTEM, as_of=MAY_AS_OF)
        february = do_calculate("2026-02", actor=SYSTEM, as_of=dt.date(2026, 11, 1))

        for code in COHORT_METRICS:
            assert values_of(may, f"{code}@cohort") == values_of(february, code), code
        # Hand-checked: 赵晓 and 钱多多 reached 100,000 in 90 days, 孙立 did not, and 孙立 left.
        attainment = values_of(may, f"{ATTAINMENT}@cohort")
        assert attainment[("unit", world.sales.pk)] == (pytest.approx(200 / 3), 3, False)
        assert attainment[("unit", world.group.pk)] == (pytest.approx(200 / 3), 3, False)
        assert values_of(may, f"{RETENTION}@cohort")[("unit", world.sales.pk)][:2] == (
            pytest.approx(200 / 3),
            3,
        )
        assert values_of(may, f"{ATTAINMENT_HR}@cohort")[("unit", world.hr.pk)][:2] == (
            pytest.approx(200 / 3),
            3,
        )
        # May's own arrival (周新) is May's plain value, still maturing on 5 June.
        assert values_of(may, ATTAINMENT)[("unit", world.sales.pk)] == (100.0, 1, True)
        # The run says which arrivals its cohort values read; a plain metric reads its own month.
        assert cohort_period(may, f"{ATTAINMENT}@cohort").label == "2026-02"
        assert cohort_period(may, ATTAINMENT).label == "2026-05"
        assert cohort_period(may, "new_business_premium") is None
        assert cohort_period(may, "new_business_premium@cohort") is None
        # Companions are values of the run, not metric definitions.
        assert not any("@" in code for code in may.rules["metrics"])
        assert f"{ATTAINMENT}@cohort" in may.rules["companions"]


def test_a_cohort_still_inside_its_90_days_on_the_data_date_stays_provisional(arrivals: World) -> None:
    world = arrivals
    with tenant_context(world.tenant, SYSTEM):
        april = do_calculate("2026-04", actor=SYSTEM, as_of=dt.date(2026, 4, 30))
        may_first = do_calculate("2026-04", actor=SYSTEM, as_of=dt.date(2026, 5, 1))

        # April's cohort is January's: 陈一鸣 arrived on 31 January, and day 90 is 1 May.
        assert values_of(april, f"{ATTAINMENT}@cohort")[("unit", world.sales.pk)] == (100.0, 1, True)
        assert values_of(may_first, f"{ATTAINMENT}@cohort")[("unit", world.sales.pk)] == (100.0, 1, False)
        assert cohort_period(april, f"{ATTAINMENT}@cohort").label == "2026-01"


def test_incremental_recalculation_and_reproduction_give_the_same_companions(arrivals: World) -> None:
    world = arrivals
    with tenant_context(world.tenant, SYSTEM):
        first = do_calculate("2026-05", actor=SYSTEM, as_of=MAY_AS_OF)
        # The policy system corrects 赵晓's April policy (outside May, read only through the matured cohort).
        record = PolicyRecord.objects.get(policy_no="BD-7703")
        push("policy", [_policy(world, "BD-7703", "XR-0201", "2026-04-28", "25000")])

        runs = do_recalculate_changed({"policy": [record.pk]}, actor=SYSTEM, as_of=MAY_AS_OF)
        may_runs = [run for run in runs if run.period == "2026-05"]
        assert len(may_runs) == 1
        second = may_runs[0]
        assert second.summary["incremental"] == ["policy"]
        full = do_calculate("2026-05", actor=SYSTEM, as_of=MAY_AS_OF)

        assert values_of(second, f"{ATTAINMENT}@cohort")[("unit", world.sales.pk)] == (
            pytest.approx(100 / 3),
            3,
            False,
        )
        for name in ("values", "results", "totals"):
            assert run_frame(full, name).equals(run_frame(second, name)), name
        assert reproduce(first).identical
        assert reproduce(second).identical


def test_a_run_stored_before_companions_is_rebuilt_without_them(arrivals: World) -> None:
    with tenant_context(arrivals.tenant, SYSTEM):
        run = do_calculate("2026-05", actor=SYSTEM, as_of=MAY_AS_OF)
    old = {key: value for key, value in run.rules.items() if key != "companions"}

    with tenant_context(arrivals.tenant, SYSTEM):
        assert not any(code.endswith("@cohort") for code in definitions_from_snapshot(old).metrics)
        assert f"{ATTAINMENT}@cohort" in definitions_from_snapshot(run.rules).metrics


# --- scorecard items on the matured cohort -------------------------------------------------------------------

HR_ITEMS: list[dict[str, Any]] = [
    {
        "metric": ATTAINMENT_HR,
        "weight": "60",
        "rule": {"kind": "linear", "per_point": "1", "cap": "120"},
        "target": "50",
        "maturity": "cohort",
    },
    {
        "metric": "time_to_fill_days",
        "weight": "40",
        "rule": {"kind": "linear", "per_point": "1", "direction": "lower"},
        "target": "30",
    },
]


@pytest.fixture
def hr_on_cohort(arrivals: World) -> World:
    with tenant_context(arrivals.tenant, SYSTEM):
        template = Template.objects.get(code="hr_unit")
        do_save_template_version(template, items=HR_ITEMS, valid_from=dt.date(2026, 1, 1), actor=SYSTEM)
    return arrivals


def hr_line(run: CalcRun, world: World) -> dict[str, Any]:
    rows = run_frame(run, "results").filter(
        (pl.col("level") == "unit")
        & (pl.col("subject_id") == world.hr.pk)
        & (pl.col("template") == "hr_unit")
    )
    return rows.row(0, named=True)


def test_a_scorecard_item_with_cohort_maturity_scores_the_matured_cohort(hr_on_cohort: World) -> None:
    world = hr_on_cohort
    with tenant_context(world.tenant, SYSTEM):
        may = do_calculate("2026-05", actor=SYSTEM, as_of=MAY_AS_OF)
        line = hr_line(may, world)
        trend = subject_trend("unit", world.hr.pk, "2026-05")
    # The trend names the line after its metric, not its code.
    (item,) = [item for item in trend.items if item.metric == f"{ATTAINMENT_HR}@cohort"]
    assert item.name.startswith("新人三个月达成率（招聘部门）")

    # February's arrivals: 2 of 3 reached → 66.67% of a 50% target → 133% → capped at 120 points.
    assert line["metric"] == f"{ATTAINMENT_HR}@cohort"
    assert line["value"] == pytest.approx(200 / 3)
    assert line["target"] == 50.0
    assert line["provisional"] is False
    assert line["points"] == Decimal("120.00")
    assert may.rules["templates"]["hr_unit"]["items"][0]["maturity"] == "cohort"


def test_cohort_maturity_is_refused_for_a_metric_without_a_cohort_and_for_an_unknown_maturity(
    hr_on_cohort: World,
) -> None:
    with tenant_context(hr_on_cohort.tenant, SYSTEM):
        premium = {**HR_ITEMS[0], "metric": "time_to_fill_days", "rule": HR_ITEMS[1]["rule"]}
        with pytest.raises(ValidationFailed, match=r"items\[0\]\.maturity: time_to_fill_days has no cohort"):
            check_items(
                [premium, {**HR_ITEMS[1], "metric": ATTAINMENT_HR, "rule": HR_ITEMS[0]["rule"]}], "unit"
            )
        with pytest.raises(ValidationFailed, match=r"items\[0\]\.maturity: must be empty"):
            check_items([{**HR_ITEMS[0], "maturity": "matured"}, HR_ITEMS[1]], "unit")
        # Without the key, an item is stored as before (no maturity key at all).
        assert "maturity" not in check_items([{**HR_ITEMS[0], "maturity": ""}, HR_ITEMS[1]], "unit")[0]


def test_the_scorecard_marks_a_maturing_line_provisional_in_chinese_and_names_the_arrival_month(
    hr_on_cohort: World,
) -> None:
    world = hr_on_cohort
    with tenant_context(world.tenant, SYSTEM):
        april = do_calculate("2026-04", actor=SYSTEM, as_of=dt.date(2026, 4, 30))
    admin = Client()
    admin.force_login(world.users[Role.PERFORMANCE_ADMIN])

    page = admin.get(f"/metrics/runs/{april.pk}/units/{world.hr.pk}/").content.decode()

    line = page[page.index(f'data-metric="{ATTAINMENT_HR}@cohort"') :]
    line = line[: line.index("</tr>")]
    assert "暂估" in line
    # Named after the metric, with the arrival month its cohort reads ("· 2026-01 到岗" once translated).
    assert "新人三个月达成率" in line and "2026-01" in line
    # Its explanation lists January's arrival, the record still maturing.
    query = {
        "level": "unit",
        "subject_id": world.hr.pk,
        "metric": f"{ATTAINMENT_HR}@cohort",
        "slot": "hr_unit-0",
    }
    fragment = admin.get(f"/metrics/runs/{april.pk}/explain/", query, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "暂估" in fragment.content.decode()


def test_the_template_editor_saves_and_shows_an_item_on_the_matured_cohort(arrivals: World) -> None:
    world = arrivals
    admin = Client()
    admin.force_login(world.users[Role.PERFORMANCE_ADMIN])
    with tenant_context(world.tenant):
        hr = Template.objects.get(code="hr_unit")
    rule = json.dumps({"kind": "linear", "per_point": "1", "cap": "120"})
    lower = json.dumps({"kind": "linear", "per_point": "1", "direction": "lower"})
    post = {
        "item_metric": [ATTAINMENT_HR, "time_to_fill_days"],
        "item_weight": ["55", "45"],
        "item_rule": [rule, lower],
        "item_target": ["45", "25"],
        "item_scope": ["self", "self"],
        "item_maturity": ["cohort", ""],
        "season_code": "",
        "note": "按满期队列考核",
    }

    refused = admin.post(f"/metrics/templates/{hr.pk}/", {**post, "item_maturity": ["", "cohort"]})
    saved = admin.post(f"/metrics/templates/{hr.pk}/", post)

    assert refused.status_code == 400 and "has no cohort window" in refused.content.decode()
    assert saved.status_code == 302
    with tenant_context(world.tenant):
        newest = hr.versions.order_by("-number").first()
    assert [item.get("maturity") for item in newest.items] == ["cohort", None]
    page = admin.get(f"/metrics/templates/{hr.pk}/").content.decode()
    assert 'data-maturity="cohort"' in page


def test_the_api_adds_a_version_scoring_the_matured_cohort_and_refuses_it_for_a_plain_metric(
    arrivals: World,
) -> None:
    world = arrivals
    admin = Client()
    admin.force_login(world.users[Role.PERFORMANCE_ADMIN])
    with tenant_context(world.tenant):
        hr = Template.objects.get(code="hr_unit")
    url = f"/api/v1/templates/{hr.pk}/versions"
    wrong = [{**HR_ITEMS[0], "maturity": ""}, {**HR_ITEMS[1], "maturity": "cohort"}]

    refused = admin.post(url, {"items": wrong, "valid_from": "2026-07-01"}, content_type="application/json")
    added = admin.post(url, {"items": HR_ITEMS, "valid_from": "2026-07-01"}, content_type="application/json")

    assert refused.status_code == 422 and refused.json()["field"] == "items[1].maturity"
    assert added.status_code == 200
    with tenant_context(world.tenant):
        newest = hr.versions.order_by("-number").first()
    assert newest.items[0]["maturity"] == "cohort" and "maturity" not in newest.items[1]
