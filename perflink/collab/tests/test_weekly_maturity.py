"""The weekly report never reads an unfinished month as a finding: new agents who arrived days before the data date
make August to October's 3-month attainment provisional; the report keeps those values out of "latest" and
"getting worse", hides them unless asked, names the months, and shows them marked 暂估 on request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from perflink.analytics.tests.unfinished import IMMATURE, build
from perflink.collab import weekly
from perflink.collab.weekly_export import sheets
from perflink.core.context import SYSTEM, tenant_context
from tests.factories import World

ATTAINMENT = "new_agent_attainment_3m"
WEEK = dt.date(2026, 11, 2)  # 2026-W45: its six months are 2026-06 … 2026-11 (November not yet calculated)


@pytest.fixture
def report(world: World) -> dict[str, Any]:
    build(world)
    with tenant_context(world.tenant, SYSTEM):
        return weekly.weekly_report(WEEK, None, today=dt.date(2026, 11, 9))


def _row(data: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in data["metrics"] if m["code"] == ATTAINMENT)


def test_given_unfinished_months_when_generating_then_they_are_stored_provisional_and_never_a_trend(report):
    series = {p["period"]: p for p in _row(report)["values"]}
    # The company (the group rolls up the five teams): June 10/15, July 11/15 final; Aug 10/15, Sep 5/15, Oct 0.
    assert series["2026-06"] == {"period": "2026-06", "value": "66.67", "provisional": False}
    assert series["2026-07"] == {"period": "2026-07", "value": "73.33", "provisional": False}
    assert [series[m]["provisional"] for m in IMMATURE] == [True, True, True]
    assert [series[m]["value"] for m in IMMATURE] == ["66.67", "33.33", "0"]
    # Read as a trend, October's 0 after September's 33.33 would be "getting worse"; it is not a finding.
    assert _row(report)["latest"] == "73.33"
    assert _row(report)["falling"] is None
    assert not [i for i in report["meeting"] if i["code"] == "metric_falling" and "达成率" in i["metric"]]


def test_given_unfinished_months_when_presenting_then_they_are_left_out_and_named(world, report):
    with tenant_context(world.tenant, SYSTEM):
        shown = weekly.present(report)
    series = {p["period"]: p for p in _row(shown)["values"]}
    assert all(series[m]["value"] is None and series[m]["held"] for m in IMMATURE)
    assert series["2026-07"]["value"] == "73.33"
    assert shown["unfinished_months"] == list(IMMATURE)
    assert "2026-08、2026-09、2026-10" in shown["maturity_note"]
    summary = {row[0]: row[1] for row in sheets(shown)[0][2]}
    assert any("2026-08" in str(value) for value in summary.values())  # the XLSX says so too


def test_given_the_switch_when_presenting_then_unfinished_values_show_marked_provisional(world, report):
    with tenant_context(world.tenant, SYSTEM):
        shown = weekly.present(report, provisional=True)
    series = {p["period"]: p for p in _row(shown)["values"]}
    assert [series[m]["value"] for m in IMMATURE] == ["66.67", "33.33", "0"]
    assert all(series[m]["provisional"] and not series[m].get("held") for m in IMMATURE)
    assert shown["show_provisional"] is True and "2026-10" in shown["maturity_note"]


def test_the_report_page_hides_unfinished_values_and_offers_the_switch(world, report):
    client = Client()
    client.force_login(world.users["performance_admin"])
    body = client.get("/collab/weekly/2026-W45/").content.decode()
    row = body.split(f'<tr data-metric="{ATTAINMENT}">', 1)[1].split("</tr>", 1)[0]
    assert row.count("data-held") == 3 and "73.33" in row and "33.33" not in row
    assert 'id="maturity-note"' in body and 'id="provisional-switch"' in body
    shown = client.get("/collab/weekly/2026-W45/?provisional=1").content.decode()
    row = shown.split(f'<tr data-metric="{ATTAINMENT}">', 1)[1].split("</tr>", 1)[0]
    assert row.count("data-provisional") == 3 and "33.33" in row and "data-held" not in row


def test_a_demand_page_marks_the_requesters_unfinished_months_provisional(world, report):
    from perflink.collab.actions import do_raise_demand
    from perflink.collab.page_data import requester_metrics
    from perflink.core.context import Actor
    from perflink.org.models import OrgUnit

    head = world.users["unit_head"]
    with tenant_context(world.tenant, SYSTEM):
        team = OrgUnit.objects.get(code=f"{world.tenant.slug}-T4")
        demand = do_raise_demand(
            kind="recruitment",
            title="营销5组补员",
            requesting_unit=team,
            serving_unit=world.hr,
            spec={"positions": 3, "arrival_days": 20, "per_hire_target": "100000"},
            user=head,
            actor=Actor("user", head.pk, head.username),
        )
        latest = requester_metrics(demand, dt.date(2026, 11, 20))[0]["months"]  # Oct, Sep, Aug
        earlier = requester_metrics(demand, dt.date(2026, 9, 20))[0]["months"]  # Aug, Jul, Jun

    def flags(rows: list[dict[str, Any]]) -> dict[str, bool]:
        return {
            r["period"]: next(v for v in r["values"] if v["code"] == ATTAINMENT)["provisional"] for r in rows
        }

    assert flags(latest) == {"2026-10": True, "2026-09": True, "2026-08": True}
    assert flags(earlier) == {"2026-08": True, "2026-07": False, "2026-06": False}
