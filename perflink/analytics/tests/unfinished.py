"""A tenant whose newest months are unfinished: five sales teams hire three new agents a month from May to October
2026 (on the 6th, 17th and 28th), and every month is calculated with data as of 3 November 2026, days after the
last arrivals. New agents' 3-month attainment is final for May, June and July only (31 July + 90 days =
29 October); August to October are provisional and read low, because their agents have had weeks, not 90 days,
to sell.

Attainers per team (of 3 agents; an attainer's policy of 120,000 yuan is issued 20 days after arrival, the others'
of 30,000): finished months May/Jun/Jul as in ``ATTAINERS``; unfinished August 2, September 1, October none (its
agents' first policies fall after the data date, so they are not in the data yet).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from perflink.core.context import SYSTEM, tenant_context
from tests.factories import World, make_employee, make_unit, push

AS_OF = dt.date(2026, 11, 3)
MONTHS = ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
MATURE = MONTHS[:3]
IMMATURE = MONTHS[3:]
ARRIVAL_DAYS = (6, 17, 28)
ATTAINERS = {  # team -> attainers in May, Jun, Jul, Aug, Sep, Oct
    0: (1, 2, 2, 2, 1, 0),
    1: (2, 2, 2, 2, 1, 0),
    2: (3, 2, 2, 2, 1, 0),
    3: (1, 1, 2, 2, 1, 0),
    4: (2, 3, 3, 2, 1, 0),
}


def build(world: World) -> list[Any]:
    """Create the teams, agents, requisitions, hires and policies; calculate every month; return the runs."""
    from perflink.metrics.actions import do_calculate, do_install_library

    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)
        slug = world.tenant.slug
        requisitions: list[dict[str, Any]] = []
        hires: list[dict[str, Any]] = []
        policies: list[dict[str, Any]] = []
        for team_no, attainers in ATTAINERS.items():
            team = make_unit(f"{slug}-T{team_no}", f"营销{team_no + 1}组", world.sales, kind="team")
            for month_no, month in enumerate(MONTHS):
                year, mon = (int(p) for p in month.split("-"))
                req_no = f"RQ-{team_no}-{month}"
                requisitions.append(
                    {
                        "requisition_no": req_no,
                        "requesting_unit": team.code,
                        "recruiting_unit": world.hr.code,
                        "position_title": "代理人",
                        "positions": 3,
                        "opened_on": (dt.date(year, mon, 1) - dt.timedelta(days=15)).isoformat(),
                        "target_date": dt.date(year, mon, 28).isoformat(),
                    }
                )
                for k, day in enumerate(ARRIVAL_DAYS):
                    arrived = dt.date(year, mon, day)
                    agent = make_employee(
                        team, name=f"新人{team_no}{month_no}{k}", etype="agent", hire_date=arrived
                    )
                    hires.append(
                        {
                            "external_id": f"H-{team_no}-{month}-{k}",
                            "requisition": req_no,
                            "candidate_name": agent.name,
                            "channel": "校园招聘" if k else "内部推荐",
                            "arrived_on": arrived.isoformat(),
                            "employee": agent.employee_no,
                        }
                    )
                    issued = arrived + dt.timedelta(days=20)
                    if issued > AS_OF or month == "2026-10":
                        continue  # not sold yet by the data date
                    fyp = "120000" if k < attainers[month_no] else "30000"
                    policies.append(
                        {
                            "policy_no": f"P-{slug}-{agent.employee_no}",
                            "product_line": "life",
                            "agent": agent.employee_no,
                            "unit": team.code,
                            "applied_on": issued.isoformat(),
                            "issued_on": issued.isoformat(),
                            "first_year_premium": fyp,
                            "annualised_premium": fyp,
                            "status": "in_force",
                        }
                    )
        push("requisition", requisitions)
        push("hire", hires)
        push("policy", policies)
        return [do_calculate(month, actor=SYSTEM, as_of=AS_OF) for month in MONTHS]
