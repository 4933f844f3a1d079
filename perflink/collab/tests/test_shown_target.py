"""A progress figure is shown against the target its evaluation rule uses: a recruitment demand whose rule scores
the arrival rate at 85% says "目标值 85%", not the spec's 100% of the positions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from perflink.collab.actions import do_accept_demand, do_raise_demand
from perflink.collab.page_data import figure_rows, shown_target
from perflink.collab.progress import demand_progress
from perflink.collab.tests.factories import at, make_head
from perflink.core.context import SYSTEM, Actor, tenant_context
from tests.factories import World, make_employee, push

SPEC = {"positions": 8, "arrival_days": 15, "per_hire_target": "80000", "requisition": "RQ-SZ-0907"}
RULE = {
    "components": [
        {"measure": "arrival_rate", "target": "85", "rule": {"kind": "threshold", "points_met": "30"}},
        {"measure": "attainment_rate", "rule": {"kind": "linear", "per_point": "0.7"}},
    ]
}


@pytest.fixture
def demand(world: World) -> Any:
    sales_head = world.users["unit_head"]
    hr_head = make_head(world, world.hr, "hr-head@alpha")
    with tenant_context(world.tenant, SYSTEM):
        raised = do_raise_demand(
            kind="recruitment",
            title="深圳分公司招聘8名代理人",
            requesting_unit=world.sales,
            serving_unit=world.hr,
            spec=SPEC,
            rule=RULE,
            user=sales_head,
            actor=Actor("user", sales_head.pk, sales_head.username),
            at=at("2026-09-07"),
        )
        accepted = do_accept_demand(
            raised, plan="校招", user=hr_head, actor=Actor("user", hr_head.pk, hr_head.username)
        )
        push(
            "requisition",
            [
                {
                    "requisition_no": "RQ-SZ-0907",
                    "requesting_unit": world.sales_team.code,
                    "recruiting_unit": world.hr.code,
                    "position_title": "代理人",
                    "positions": 8,
                    "opened_on": "2026-09-07",
                    "target_date": "2026-09-22",
                }
            ],
        )
        arrived = [dt.date(2026, 9, 8 + i) for i in range(7)]  # 7 of 8 by the 22 September deadline
        agents = [make_employee(world.sales_team, etype="agent", hire_date=day) for day in arrived]
        push(
            "hire",
            [
                {
                    "external_id": f"SZ-{i}",
                    "requisition": "RQ-SZ-0907",
                    "candidate_name": agent.name,
                    "channel": "校招",
                    "arrived_on": day.isoformat(),
                    "employee": agent.employee_no,
                }
                for i, (agent, day) in enumerate(zip(agents, arrived, strict=True))
            ],
        )
        return accepted


def test_given_a_rule_at_85_percent_then_the_arrival_rate_is_shown_against_85(world, demand):
    with tenant_context(world.tenant, SYSTEM):
        rows = {r["key"]: r for r in figure_rows(demand, demand_progress(demand, dt.date(2026, 9, 30)))}
        assert shown_target(demand, "arrival_rate") == 85
        # A measure the rule scores without a target of its own keeps the measure's (100%); one the rule does
        # not score keeps the spec's (the 8 positions).
        assert shown_target(demand, "attainment_rate") == 100
        assert shown_target(demand, "arrived_in_time") == 8
    assert rows["arrival_rate"]["value"] == "87.5"  # 7 of 8
    assert rows["arrival_rate"]["target"] == "85"


def test_the_demand_page_says_target_85_percent(world, demand):
    client = Client()
    client.force_login(world.users["performance_admin"])
    body = client.get(f"/collab/demands/{demand.pk}/").content.decode()
    card = body.split('data-figure="arrival_rate"', 1)[1].split("</div>\n        </div>", 1)[0]
    assert "目标值 85%" in card and "100%" not in card
